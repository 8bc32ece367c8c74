// The Redis side of GlobalKeyedLimiter: the Lua scripts a round runs and the EVAL that carries a
// batch of keys to one of them. Plain strings, so that only redis_sync.cpp talks hiredis.
//
// One EVAL serves up to kKeysPerEval keys of one limit: a round costs Redis one script run per
// few hundred keys, and no single run holds Redis long. Every key the scripts write gets an
// expiry (GlobalKeyedLimiter::redis_ttl_ms), so Redis holds only the keys in use.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "limiter/global_keyed_limiter.hpp"

namespace sluice::limiter {

inline constexpr size_t kKeysPerEval = 256;

// EVAL arguments for keys[begin, end) of `limiter`. `now_us`: the bucket script's clock, "" for
// Redis' own (TIME). The reply is an array of two integers per key, in order: windows the count
// of the key's window and of the one before; bucket the tokens granted and the tokens left.
std::vector<std::string> global_keys_eval(const GlobalKeyedLimiter& limiter,
                                          const std::vector<GlobalKeySync>& keys, size_t begin,
                                          size_t end, const std::string& prefix,
                                          const std::string& now_us);

}  // namespace sluice::limiter
