// What this machine's kernel offers sluice's io_uring: for `sluice --version`, so an
// operator (or a bug report) can tell at once whether a host can run it and in which
// mode. Sets up and tears down a small ring of its own; any thread.
#pragma once

#include <string>

namespace sluice::proxy {

// One line, e.g. "kernel 6.1.0: io_uring single-issuer+defer-taskrun, buffer rings yes;
// features: nodrop submit-stable fast-poll ext-arg native-workers cqe-skip linked-file",
// or why io_uring cannot be used here.
std::string describe_io_uring_support();

}  // namespace sluice::proxy
