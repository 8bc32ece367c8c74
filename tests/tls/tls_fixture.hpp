// The shape of a TLS test: an ObsTest (admin, metrics, access log) plus a test PKI and helpers
// that run `openssl s_client` and `curl` against a TLS listener. Test thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/http_integration/upstream.hpp"
#include "tests/observability/obs_fixture.hpp"
#include "tests/support/tls_certs.hpp"

namespace sluice::testing {

class TlsTest : public ObsTest {
 protected:
  TlsTest();
  // `openssl s_client` to 127.0.0.1:port with `options` (e.g. "-servername a.test"), sending
  // nothing; its output (the peer certificate, protocol, ALPN, "Reused" ...).
  CommandResult s_client(uint16_t port, const std::string& options);
  // The subject CN the listener presents for `server_name` (empty: no SNI); "" when the
  // handshake failed.
  std::string served_cn(uint16_t port, const std::string& server_name);
  // curl https://<host>:port<path> resolved to 127.0.0.1, trusting the test CA.
  CommandResult curl(uint16_t port, const std::string& host, const std::string& path,
                     const std::string& options = "");
  // A listener's tls section: `body` indented under "    tls:".
  std::string config(uint16_t port, const std::string& tls, const std::string& upstream,
                     const std::string& extra = "");

  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<Upstream> upstream_;
};

}  // namespace sluice::testing
