// What the kernel says about a running process: memory (backpressure tests)
// and open descriptors (leak checks).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace sluice::testing {

// VmRSS from /proc/PID/status, in KiB; nullopt when the process is gone.
std::optional<uint64_t> rss_kib(pid_t pid);

// Entries in /proc/PID/fd; nullopt when the process is gone. Tells a test
// whether closed connections really released their sockets.
std::optional<size_t> open_fds(pid_t pid);

}  // namespace sluice::testing
