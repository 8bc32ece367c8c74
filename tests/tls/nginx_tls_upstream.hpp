// A real TLS server for the upstream TLS tests: nginx (Debian's) on loopback with a test
// certificate, answering every request with what it saw of the TLS connection, so a test reads
// the upstream's view from the response body: which connection (nginx's counter), whether the
// session was resumed, the SNI, the ALPN, the client certificate's subject, and the PROXY
// protocol's client address when it accepts one. Test thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/tls_certs.hpp"

namespace sluice::testing {

struct NginxTlsOptions {
  std::string client_ca;        // set: a client certificate signed by it is required
  bool proxy_protocol = false;  // the listener expects a PROXY header before the handshake
  std::string protocols = "TLSv1.2 TLSv1.3";
};

class NginxTlsUpstream {
 public:
  // Starts nginx in `dir` (its config, logs and temp files) on a free loopback port serving
  // `cert`. Throws std::runtime_error when it does not come up.
  NginxTlsUpstream(const std::string& dir, const CertFiles& cert,
                   const NginxTlsOptions& options = {});
  ~NginxTlsUpstream();
  NginxTlsUpstream(const NginxTlsUpstream&) = delete;
  NginxTlsUpstream& operator=(const NginxTlsUpstream&) = delete;

  uint16_t port() const { return port_; }
  // What GET /big answers: some 300 KB of numbered lines (many TLS records).
  static std::string big_body();
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::string big_path() const { return dir_ + "/big-" + std::to_string(port_) + ".txt"; }

  uint16_t port_ = 0;
  std::string dir_;
  std::optional<Process> process_;
};

// A body the upstream answered, "conn=3 reused=r sni=a.test ..." as a map ("conn" -> "3"); a
// value nginx had none for is "" (nginx writes "-" or nothing).
std::map<std::string, std::string> upstream_view(const std::string& body);

}  // namespace sluice::testing
