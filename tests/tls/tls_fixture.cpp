#include "tests/tls/tls_fixture.hpp"

#include <regex>

namespace sluice::testing {

TlsTest::TlsTest()
    : pki_(std::make_unique<TestPki>(dir_.path())),
      upstream_(std::make_unique<Upstream>(echo_handler("up"))) {}

CommandResult TlsTest::s_client(uint16_t port, const std::string& options) {
  // A TLS 1.3 session ticket comes after the handshake: a client saving its session stays a
  // moment before its stdin ends the connection.
  const std::string feed = options.find("-sess_out") != std::string::npos ? "sleep 0.3 | " : "";
  return run_command(feed + "timeout 10 openssl s_client -connect 127.0.0.1:" +
                     std::to_string(port) + " " + options);
}

std::string TlsTest::served_cn(uint16_t port, const std::string& server_name) {
  const CommandResult r =
      s_client(port, server_name.empty() ? "-noservername" : "-servername " + server_name);
  std::smatch m;
  static const std::regex kSubject("subject=CN ?= ?([^\\n,/]+)");
  if (!std::regex_search(r.output, m, kSubject)) return "";
  return m[1];
}

CommandResult TlsTest::curl(uint16_t port, const std::string& host, const std::string& path,
                            const std::string& options) {
  const std::string p = std::to_string(port);
  return run_command("curl -sS --max-time 10 --cacert " + pki_->ca_cert() + " --resolve " + host +
                     ":" + p + ":127.0.0.1 " + options + " https://" + host + ":" + p + path);
}

std::string TlsTest::config(uint16_t port, const std::string& tls, const std::string& upstream,
                            const std::string& extra) {
  return "workers: 1\n" + admin_yaml() + extra + "listeners:\n  - name: web\n" +
         "    listen: 127.0.0.1:" + std::to_string(port) + "\n    protocol: http\n" + "    tls:\n" +
         tls + "    routes:\n      - { match: { path_prefix: / }, cluster: c }\n" +
         "clusters:\n  - { name: c, endpoints: [ { address: " + upstream + " } ] }\n";
}

}  // namespace sluice::testing
