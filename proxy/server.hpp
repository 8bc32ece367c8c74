// The process: starts one worker per core from a snapshot of the config, then
// the calling (control) thread waits for signals and stops the workers.
#pragma once

#include <memory>

#include "config/config.hpp"

namespace sluice::proxy {

// Runs until SIGTERM or SIGINT. Returns the process exit status: 0 after a
// clean stop, 1 when the workers could not be set up (the reason is logged).
int run_server(std::shared_ptr<const config::Config> config);

}  // namespace sluice::proxy
