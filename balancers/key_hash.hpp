// Turns a request key (client IP bytes, a header or cookie value, a path) into the 64-bit
// hash consistent-hash balancers take; also hashes endpoint identities for them.
//
// Stable across runs, builds and machines (unlike std::hash), so a restart or a second
// instance maps keys the same way. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::balancers {

// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
constexpr uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
constexpr uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// FNV-1a followed by fmix64: FNV alone leaves the high bits (which Maglev and the ring
// look at first) poorly mixed for short, similar keys such as IPv4 addresses.
constexpr uint64_t hash_key(std::string_view bytes) {
  return fmix64(fnv1a64(bytes));
}

inline uint64_t hash_key(std::span<const std::byte> bytes) {
  return hash_key(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace sluice::balancers
