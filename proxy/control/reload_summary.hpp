// What a reload changes, as a plan: one line per change (listeners and the routes in them,
// clusters and their endpoints, rate limits added, removed or changed by name, the other
// top-level settings that changed) with the state it resets, for the reload's log,
// `--validate NEW --against RUNNING` and `POST /reload?dry_run=1`. Compares the configs as /config
// shows them (config::to_json), so a change to a redacted secret alone does not show. Control
// thread only.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace sluice::proxy {

// One line per change of reloading `next` over `running` (which runs `running_workers`):
// "listener 'web': changed (routes: +api)", "cluster 'a': changed (endpoints: +10.0.0.3:80)",
// "cluster 'a': circuit breaker state resets (new thresholds)", "rate limit 'rl': state
// carried over, converted (rate)", "settings changed: drain_timeout", and the restart-only
// keys that would wait (restart_only.hpp). {"no changes"} when there are none. A real reload
// leaves the state lines out (`state_lines` false): the state store and the control plane log
// what they actually did to that state.
std::vector<std::string> plan_reload(const config::Config& running, unsigned running_workers,
                                     const config::Config& next, bool state_lines = true);

}  // namespace sluice::proxy
