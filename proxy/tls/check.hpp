// `sluice --validate` for TLS: loads every listener's and cluster's certificates, keys and CA files
// the way a start would, so a wrong path or a key that does not match its certificate is an error
// at the place the config names the file. Control thread (or the command line).
#pragma once

#include <vector>

#include "config/config.hpp"
#include "config/parse.hpp"

namespace sluice::proxy::tls {

std::vector<config::Diagnostic> check_tls_files(const config::Config& config);

}  // namespace sluice::proxy::tls
