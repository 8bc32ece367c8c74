// Streaming 64-bit FNV-1a, used on both ends of a transfer (backend `sink` mode
// and the tests) to check that every byte crossed the proxy intact and in order
// without keeping hundreds of megabytes around to compare.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace sluice::testing {

class Fnv1a64 {
 public:
  static constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ULL;
  static constexpr uint64_t kPrime = 0x100000001b3ULL;

  void update(const void* data, size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    uint64_t h = hash_;
    for (size_t i = 0; i < size; ++i) {
      h ^= p[i];
      h *= kPrime;
    }
    hash_ = h;
    bytes_ += size;
  }
  void update(std::string_view s) { update(s.data(), s.size()); }

  uint64_t value() const { return hash_; }
  uint64_t bytes() const { return bytes_; }

  // 16 lowercase hex digits: the format the sink backend reports.
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash_));
    return buf;
  }

 private:
  uint64_t hash_ = kOffsetBasis;
  uint64_t bytes_ = 0;
};

}  // namespace sluice::testing
