#include "balancers/maglev.hpp"

#include <algorithm>
#include <numeric>
#include <string_view>

#include "balancers/key_hash.hpp"

namespace sluice::balancers {

namespace {

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint32_t d = 3; uint64_t{d} * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

constexpr uint32_t kEmpty = ~uint32_t{0};

}  // namespace

uint32_t Maglev::next_prime(uint32_t n) {
  while (!is_prime(n)) ++n;
  return n;
}

uint32_t Maglev::default_table_size(uint32_t endpoints) {
  return next_prime(std::max<uint32_t>(65537, 100 * endpoints + 1));
}

Maglev::Maglev(std::span<const Endpoint> endpoints, uint32_t table_size,
               std::optional<double> bounded_load)
    : size_(static_cast<uint32_t>(endpoints.size())) {
  if (bounded_load) bound_ = BoundedLoad(*bounded_load, endpoints);
  if (size_ == 0) return;
  const uint32_t m = table_size == 0 ? default_table_size(size_)
                                     : next_prime(std::max<uint32_t>(table_size, size_));

  struct Entry {
    uint64_t hash;
    uint32_t index;
    uint64_t weight;
    uint64_t target = 0;
    uint64_t position;  // next slot of this endpoint's permutation
    uint64_t skip;
  };
  std::vector<Entry> entries(size_);
  uint64_t max_weight = 1;
  for (uint32_t i = 0; i < size_; ++i) {
    const uint64_t h = hash_key(endpoints[i].id);
    const uint64_t w = std::max<uint32_t>(endpoints[i].weight, 1);
    max_weight = std::max(max_weight, w);
    entries[i] = {h, i, w, 0, h % m, fmix64(h ^ 0x5bd1e9955bd1e995ULL) % (m - 1) + 1};
  }
  std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
    if (a.hash != b.hash) return a.hash < b.hash;
    return std::string_view(endpoints[a.index].id) < std::string_view(endpoints[b.index].id);
  });
  // Weighted turns: an endpoint takes a turn in round r once weight × r reaches its
  // target, which grows by max_weight per turn, so turns are proportional to weight.
  table_.assign(m, kEmpty);
  uint32_t filled = 0;
  for (uint64_t round = 0; filled < m; ++round) {
    for (Entry& e : entries) {
      if (e.weight * round < e.target) continue;
      e.target += max_weight;
      uint64_t slot = e.position;
      while (table_[slot] != kEmpty) slot = slot + e.skip >= m ? slot + e.skip - m : slot + e.skip;
      table_[slot] = e.index;
      e.position = slot + e.skip >= m ? slot + e.skip - m : slot + e.skip;
      if (++filled == m) break;
    }
  }
}

std::optional<uint32_t> Maglev::pick(const PickInput& in, CoreState& core) const {
  const uint32_t m = static_cast<uint32_t>(table_.size());
  if (m == 0) return std::nullopt;
  const bool bounded = bound_.enabled();
  if (bounded && in.load.endpoints.size() != size_) return std::nullopt;
  // Multiply-shift maps the key onto [0, m) without a division.
  uint32_t slot = static_cast<uint32_t>((static_cast<unsigned __int128>(in.key) * m) >> 64);
  const uint32_t owner = table_[slot];
  double per_weight = 0.0;
  if (!in.excluded.contains(owner)) [[likely]] {
    if (!bounded) return owner;
    per_weight = bound_.per_weight(in);
    if (bound_.has_room(in, per_weight, owner)) return owner;
  } else {
    if (!in.excluded.any_allowed(size_)) return std::nullopt;
    if (bounded) per_weight = bound_.per_weight(in);
  }
  uint32_t first_allowed = size_;
  for (uint32_t step = 0; step < m; ++step) {
    const uint32_t o = table_[slot];
    if (!in.excluded.contains(o)) {
      if (first_allowed == size_) first_allowed = o;
      if (!bounded || bound_.has_room(in, per_weight, o)) return o;
    }
    if (++slot == m) slot = 0;
  }
  return first_allowed;
}

}  // namespace sluice::balancers
