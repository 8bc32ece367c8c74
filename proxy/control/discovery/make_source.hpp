// The source a cluster's `discovery` settings ask for. Control thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "proxy/control/discovery/source.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

// Null, with `error` set, for a source this build cannot run (the config parser refuses
// those first, so this is a safety net).
std::unique_ptr<Source> make_source(control::ControlLoop& loop, SourceSink& sink,
                                    const config::Discovery& discovery, std::string& error);

}  // namespace sluice::proxy::discovery
