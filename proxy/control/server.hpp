// The process: starts one worker per core from a snapshot of the config, then
// the calling (control) thread runs the control loop: signals, the admin
// listener, reloads, the Redis sync timer, and the drain at the end.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"

namespace sluice::proxy {

// Runs until SIGTERM, SIGINT or POST /drain has drained the workers. Returns
// the process exit status: 0 after a clean stop, 1 when the workers could not
// be set up (the reason is logged). `config_path` is re-read on reload.
int run_server(const std::string& config_path, std::shared_ptr<const config::Config> config);

}  // namespace sluice::proxy
