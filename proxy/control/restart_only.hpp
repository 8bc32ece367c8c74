// The keys a running process cannot change: the worker count, each worker's buffer ring,
// the admin listener's address and the access log's writer (on/off, path, format). A reload
// that changes them applies everything else and keeps their running values until a restart,
// as nginx and HAProxy users expect from a reload; the caller says so in the log, the POST
// /reload answer and sluice_config_restart_pending. Control thread only.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace sluice::proxy {

// Puts the running values of the restart-only keys into `next` and returns one line per key
// whose new value waits for a restart (empty: nothing does). `running_workers` is how many
// workers the process has (the running config may say 0, one per core).
std::vector<std::string> keep_restart_only(const config::Config& running, unsigned running_workers,
                                           config::Config& next);

}  // namespace sluice::proxy
