#include "proxy/control/discovery/make_source.hpp"

#include "proxy/control/discovery/consul_source.hpp"
#include "proxy/control/discovery/dns_source.hpp"
#include "proxy/control/discovery/etcd_source.hpp"
#include "proxy/control/discovery/file_source.hpp"
#include "proxy/control/discovery/named_endpoints_source.hpp"

namespace sluice::proxy::discovery {

std::unique_ptr<Source> make_source(control::ControlLoop& loop, SourceSink& sink,
                                    const config::Discovery& discovery, SourceWarning warn,
                                    std::string& error) {
  if (const auto* file = std::get_if<config::FileDiscovery>(&discovery))
    return std::make_unique<FileSource>(loop, sink, *file);
  if (const auto* dns = std::get_if<config::DnsDiscovery>(&discovery))
    return std::make_unique<DnsSource>(loop, DnsSourceOptions::from(*dns), sink);
  if (const auto* etcd = std::get_if<config::EtcdDiscovery>(&discovery)) {
    EtcdOptions options = EtcdOptions::from(*etcd);
    options.warn = std::move(warn);
    return std::make_unique<EtcdSource>(loop, sink, std::move(options));
  }
  if (const auto* consul = std::get_if<config::ConsulDiscovery>(&discovery)) {
    ConsulOptions options = ConsulOptions::from(*consul);
    options.warn = std::move(warn);
    return std::make_unique<ConsulSource>(loop, sink, std::move(options));
  }
  error = "this discovery source is not supported yet";
  return nullptr;
}

std::unique_ptr<Source> make_named_endpoints_source(control::ControlLoop& loop, SourceSink& sink,
                                                    const config::Cluster& cluster) {
  return std::make_unique<NamedEndpointsSource>(loop, sink, cluster);
}

}  // namespace sluice::proxy::discovery
