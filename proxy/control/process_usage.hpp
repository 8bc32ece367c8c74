// The process' CPU time, memory and descriptors as the kernel reports them (/proc/self,
// getrlimit), for the standard process_* metrics. Read at scrape time on the control
// thread; the metrics room renders what it is given and does no I/O itself.
#pragma once

#include "proxy/metrics/registry.hpp"

namespace sluice::proxy {

// What could not be read stays 0 (a scrape must not fail over it).
metrics::ProcessUsage read_process_usage();

}  // namespace sluice::proxy
