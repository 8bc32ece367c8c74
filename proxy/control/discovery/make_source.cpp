#include "proxy/control/discovery/make_source.hpp"

#include "proxy/control/discovery/file_source.hpp"

namespace sluice::proxy::discovery {

std::unique_ptr<Source> make_source(control::ControlLoop& loop, SourceSink& sink,
                                    const config::Discovery& discovery, std::string& error) {
  if (const auto* file = std::get_if<config::FileDiscovery>(&discovery))
    return std::make_unique<FileSource>(loop, sink, *file);
  error = "this discovery source is not supported yet";
  return nullptr;
}

}  // namespace sluice::proxy::discovery
