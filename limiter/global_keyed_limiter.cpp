#include "limiter/global_keyed_limiter.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <utility>

namespace sluice::limiter {
namespace {

uint32_t saturated(int64_t v) {
  return static_cast<uint32_t>(std::clamp<int64_t>(v, 0, std::numeric_limits<uint32_t>::max()));
}

uint32_t less(uint32_t from, uint32_t taken) {
  return from - std::min(from, taken);
}

// Moves the view to window `id`: the current window becomes the previous one, or both start
// empty when more than one window passed. A clock stepping back keeps the newer window.
void roll(GlobalKeyState& s, uint64_t id) {
  if (id <= s.window) return;
  if (id == s.window + 1) {
    s.seen_prev = s.seen_cur;
    s.local_prev = s.local_cur;
  } else {
    s.seen_prev = s.local_prev = 0;
  }
  s.seen_cur = s.local_cur = 0;
  s.window = id;
}

Nanos refill_time(uint64_t burst, const GlobalLimitOptions& o) {
  const double per_token =
      static_cast<double>(o.per.count()) / static_cast<double>(std::max<uint64_t>(o.count, 1));
  return static_cast<Nanos>(per_token * static_cast<double>(burst));
}

}  // namespace

Decision global_window_step(GlobalKeyState& s, Nanos t, uint32_t cost, uint64_t limit, Nanos w,
                            bool sliding) noexcept {
  const uint64_t id = static_cast<uint64_t>(std::max<Nanos>(t, 0) / w);
  roll(s, id);
  const Nanos elapsed = id == s.window ? std::max<Nanos>(t, 0) % w : 0;
  // used * w = prev * (w - elapsed) + cur * w (the fixed window: cur * w); 128-bit so hour-long
  // windows cannot overflow.
  using Wide = __int128;
  const Wide cur = static_cast<Wide>(s.seen_cur) + s.local_cur;
  const Wide prev = static_cast<Wide>(s.seen_prev) + s.local_prev;
  const Wide used = (sliding ? prev * (w - elapsed) : 0) + cur * w;
  const Wide cap = static_cast<Wide>(limit) * w;
  const Wide need = static_cast<Wide>(cost) * w;
  const uint32_t per_request = std::max<uint32_t>(cost, 1);
  Decision d;
  d.reset = (sliding ? 2 * w : w) - elapsed;
  if (used + need <= cap) {
    d.admitted = true;
    s.local_cur += cost;
    d.remaining = static_cast<uint64_t>((cap - used - need) / w) / per_request;
    return d;
  }
  d.remaining = used < cap ? static_cast<uint64_t>((cap - used) / w) / per_request : 0;
  if (cost > limit) {
    d.retry_after = -1;
  } else if (sliding && cur + cost <= static_cast<Wide>(limit) && prev > 0) {
    // Conforms in this window once enough of `prev` has slid out.
    const Wide room = (static_cast<Wide>(limit) - cur - cost) * w;
    d.retry_after = std::max<Nanos>(static_cast<Nanos>(w - room / prev) - elapsed, 1);
  } else {
    d.retry_after = w - elapsed;
  }
  return d;
}

Decision global_bucket_step(GlobalKeyState& s, uint32_t cost, uint64_t burst,
                            bool redis_ok) noexcept {
  if ((s.flags & GlobalKeyState::kSeeded) == 0) {
    // A key new here: the bucket as far as this instance knows is full.
    s.credit = static_cast<int32_t>(std::min<uint64_t>(burst, INT32_MAX));
    s.flags |= GlobalKeyState::kSeeded;
  }
  const auto need = static_cast<int64_t>(cost);
  Decision d;
  if (s.pool >= need) {
    s.pool -= static_cast<int32_t>(cost);
  } else if (!redis_ok) {
    s.denied += cost;  // demand all the same, for the lease once Redis answers
    d.by_on_error = true;
    return d;
  } else if (s.credit >= need) {
    s.credit -= static_cast<int32_t>(cost);
    s.owed += cost;
  } else {
    s.denied += cost;
    return d;
  }
  s.spent += cost;
  d.admitted = true;
  const int64_t left = static_cast<int64_t>(s.pool) + (redis_ok ? s.credit : 0);
  d.remaining = static_cast<uint64_t>(std::max<int64_t>(left, 0)) / std::max<uint32_t>(cost, 1);
  return d;
}

GlobalKeyedLimiter::GlobalKeyedLimiter(const GlobalLimitOptions& options)
    : options_(options),
      burst_(options.burst == 0 ? std::max<uint64_t>(options.count, 1) : options.burst),
      window_(std::max<Nanos>(options.per.count(), 1)),
      // A refused request may conform once the next round brought tokens, or a token refilled.
      retry_after_(
          std::max<Nanos>({options.sync_interval.count(), refill_time(1, options), Nanos{1}})),
      // Windows: a count matters while its window is current or previous. Bucket: after the
      // refill time a key's bucket is full again, which is what a key not held starts with.
      table_(options.max_keys,
             windows() ? 2 * window_
                       : refill_time(burst_, options) + 2 * options.sync_interval.count() + 1) {}

Decision GlobalKeyedLimiter::admit(uint64_t key, Nanos now, uint32_t cost) noexcept {
  const bool ok = redis_ok_.load(std::memory_order_relaxed);
  Decision d;
  if (windows() && !ok) {
    d.by_on_error = true;
  } else {
    const Nanos t = now + clock_offset_.load(std::memory_order_relaxed);
    const bool sliding = options_.algorithm == GlobalAlgorithm::sliding_window;
    const bool here = table_.with_live_state(key, now, [&](GlobalKeyState& s) {
      s.flags = (s.flags & GlobalKeyState::kFlagBits) | GlobalKeyState::kTouched |
                GlobalKeyState::kRefreshRounds << GlobalKeyState::kRefreshShift;
      d = windows() ? global_window_step(s, t, cost, options_.count, window_, sliding)
                    : global_bucket_step(s, cost, burst_, ok);
    });
    // The key's view moved on (hand_over): a worker still on the old snapshot decides there.
    if (!here) return successor_->admit(key, now, cost);
  }
  if (d.by_on_error) [[unlikely]] {
    on_error_.fetch_add(1, std::memory_order_relaxed);
    d.admitted = options_.on_error == OnError::allow;
    d.retry_after = d.admitted ? 0 : retry_after_;
  } else if (!d.admitted && !windows()) {
    d.retry_after = retry_after_;
    d.reset = refill_time(burst_, options_);
  }
  return d;
}

std::shared_ptr<GlobalKeyedLimiter> GlobalKeyedLimiter::hand_over(const GlobalLimitOptions& options,
                                                                  Nanos now) {
  if (successor_) return successor_->hand_over(options, now);
  auto next = std::make_shared<GlobalKeyedLimiter>(options);
  next->set_redis_ok(redis_ok());
  next->set_clock_offset(clock_offset_.load(std::memory_order_relaxed));
  successor_ = next;
  const bool same_kind =
      options.algorithm == options_.algorithm && (!windows() || options.per == options_.per);
  const auto burst = static_cast<int32_t>(std::min<uint64_t>(next->burst_, INT32_MAX));
  table_.hand_over(next->table_, now, [&](GlobalKeyState& s, Nanos&) {
    if (!same_kind) return false;  // another kind of count: start from Redis' word
    s.credit = std::min(s.credit, burst);
    return true;
  });
  return next;
}

void GlobalKeyedLimiter::collect(Nanos now, std::vector<GlobalKeySync>& out) {
  table_.visit(now, [&](uint64_t key, GlobalKeyState& s) {
    const bool touched = (s.flags & GlobalKeyState::kTouched) != 0;
    const uint32_t left = s.flags >> GlobalKeyState::kRefreshShift;
    if (!touched && left == 0) return;
    s.flags = (s.flags & GlobalKeyState::kFlagBits & ~GlobalKeyState::kTouched) |
              (touched ? left : left - 1) << GlobalKeyState::kRefreshShift;
    GlobalKeySync& k = out.emplace_back();
    k.key = key;
    if (windows()) {
      k.window = s.window;
      k.admitted = s.local_cur;
      k.admitted_prev = s.local_prev;
      return;
    }
    const uint64_t demand = static_cast<uint64_t>(s.spent) + s.denied;
    s.spent = s.denied = 0;
    k.owed = std::exchange(s.owed, 0);
    // Only a key in use leases: an idle one's refresh only reads what the bucket holds.
    k.want = touched ? lease_size(demand, s.pool, options_) : 0;
  });
}

void GlobalKeyedLimiter::answer(const GlobalKeySync& sync, int64_t first, int64_t second,
                                Nanos now) noexcept {
  // A round sent before a hand_over: the answer belongs to the key's view, now the successor's.
  if (successor_) return successor_->answer(sync, first, second, now);
  table_.with_existing(sync.key, now, [&](GlobalKeyState& s) {
    if (!windows()) {
      s.pool += static_cast<int32_t>(std::clamp<int64_t>(first, 0, INT32_MAX - s.pool));
      // Spent on credit since the round left: not in Redis' figure yet. What the bucket cannot
      // cover of it came out of this grant: taken from the pool and no longer owed, so that it
      // is neither spent twice nor debited twice (spent twice, a burst of 5 admitted 6).
      const int64_t owed = s.owed;
      const int64_t uncovered = owed - std::max<int64_t>(second, 0);
      if (uncovered > 0) {
        const int32_t cover = static_cast<int32_t>(std::min<int64_t>(uncovered, s.pool));
        s.pool -= cover;
        s.owed -= static_cast<uint32_t>(cover);
      }
      s.credit = static_cast<int32_t>(std::clamp<int64_t>(second - owed, 0, INT32_MAX));
      s.flags |= GlobalKeyState::kSeeded;
    } else if (s.window == sync.window) {
      s.seen_cur = saturated(first);
      s.local_cur = less(s.local_cur, sync.admitted);
      s.seen_prev = saturated(second);
      s.local_prev = less(s.local_prev, sync.admitted_prev);
    } else if (s.window == sync.window + 1) {  // the window rolled while the round was out
      s.seen_prev = saturated(first);
      s.local_prev = less(s.local_prev, sync.admitted);
    }
  });
}

void GlobalKeyedLimiter::unanswered(const GlobalKeySync& sync, bool sent, Nanos now) noexcept {
  if (successor_) return successor_->unanswered(sync, sent, now);
  table_.with_existing(sync.key, now, [&](GlobalKeyState& s) {
    s.flags |= GlobalKeyState::kTouched;
    if (!sent) {
      s.owed += sync.owed;  // a window's counts were never taken off: pushed again as they are
    } else if (s.window == sync.window) {
      s.local_cur = less(s.local_cur, sync.admitted);
      s.local_prev = less(s.local_prev, sync.admitted_prev);
    } else if (s.window == sync.window + 1) {
      s.local_prev = less(s.local_prev, sync.admitted);
    }
  });
}

int64_t GlobalKeyedLimiter::pool(uint64_t key, Nanos now) {
  if (successor_) return successor_->pool(key, now);
  int64_t pool = 0;
  table_.with_existing(key, now, [&](GlobalKeyState& s) { pool = s.pool; });
  return pool;
}

std::string GlobalKeyedLimiter::redis_key(const std::string& prefix, uint64_t key) const {
  char hex[20];
  std::snprintf(hex, sizeof hex, ":%016" PRIx64, key);
  return prefix + options_.name + hex;
}

uint64_t GlobalKeyedLimiter::redis_ttl_ms() const noexcept {
  const Nanos life = windows() ? 2 * window_ : 2 * refill_time(burst_, options_);
  return static_cast<uint64_t>(life / 1'000'000) + 1000;
}

}  // namespace sluice::limiter
