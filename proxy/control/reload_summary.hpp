// What a reload changed, in one line for the log: listeners (and the routes in them),
// clusters and rate limits added, removed or changed by name, and the other top-level
// settings that changed. Compares the configs as /config shows them (config::to_json), so
// a change to a redacted secret alone does not show. Control thread only.
#pragma once

#include <string>

#include "config/config.hpp"

namespace sluice::proxy {

// E.g. "listeners: ~web (routes: +api, -old); clusters: +b; settings: drain_timeout", or
// "no changes" when the two are the same.
std::string describe_config_changes(const config::Config& before, const config::Config& after);

}  // namespace sluice::proxy
