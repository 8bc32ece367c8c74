#include "proxy/tls/check.hpp"

#include "proxy/tls/cluster_tls.hpp"
#include "proxy/tls/listener_tls.hpp"

namespace sluice::proxy::tls {

std::vector<config::Diagnostic> check_tls_files(const config::Config& config) {
  std::vector<config::Diagnostic> errors;
  for (const auto& l : config.listeners) {
    if (!l.tls) continue;
    config::Diagnostic failed;
    if (!ListenerTls::build(*l.tls, nullptr, failed)) errors.push_back(std::move(failed));
  }
  for (const auto& c : config.clusters) {
    if (!c.tls) continue;
    config::Diagnostic failed;
    if (!ClusterTls::build(c.name, *c.tls, failed)) errors.push_back(std::move(failed));
  }
  return errors;
}

}  // namespace sluice::proxy::tls
