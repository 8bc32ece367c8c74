#include "proxy/tls/check.hpp"

#include "proxy/tls/listener_tls.hpp"

namespace sluice::proxy::tls {

std::vector<config::Diagnostic> check_tls_files(const config::Config& config) {
  std::vector<config::Diagnostic> errors;
  for (const auto& l : config.listeners) {
    if (!l.tls) continue;
    config::Diagnostic failed;
    if (!ListenerTls::build(*l.tls, nullptr, failed)) errors.push_back(std::move(failed));
  }
  return errors;
}

}  // namespace sluice::proxy::tls
