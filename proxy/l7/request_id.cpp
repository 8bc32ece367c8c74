#include "proxy/l7/request_id.hpp"

#include <sys/random.h>

#include <cstdint>
#include <cstdio>

namespace sluice::proxy {
namespace {
uint64_t process_prefix() {
  static const uint64_t prefix = [] {
    uint64_t value = 0;
    if (getrandom(&value, sizeof value, 0) != sizeof value) value = 0x5ec0de5ec0de5ec0ULL;
    return value;
  }();
  return prefix;
}
}  // namespace

std::string next_request_id(unsigned worker) {
  thread_local uint64_t counter = 0;
  char id[33];
  std::snprintf(id, sizeof id, "%016llx%04x%012llx",
                static_cast<unsigned long long>(process_prefix()), worker & 0xffff,
                static_cast<unsigned long long>(++counter & 0xffffffffffffULL));
  return id;
}

}  // namespace sluice::proxy
