// The source a cluster's `discovery` settings ask for. Control thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "proxy/control/discovery/source.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

// Where a source's warnings about parts of an answer it skipped go (an etcd value that is
// not an endpoint, a Consul instance without an address): one line each, said once.
using SourceWarning = std::function<void(const std::string& line)>;

// Null, with `error` set, for a source this build cannot run (the config parser refuses
// those first, so this is a safety net).
std::unique_ptr<Source> make_source(control::ControlLoop& loop, SourceSink& sink,
                                    const config::Discovery& discovery, SourceWarning warn,
                                    std::string& error);

// The source of a cluster without `discovery` whose `endpoints` name hosts.
std::unique_ptr<Source> make_named_endpoints_source(control::ControlLoop& loop, SourceSink& sink,
                                                    const config::Cluster& cluster);

}  // namespace sluice::proxy::discovery
