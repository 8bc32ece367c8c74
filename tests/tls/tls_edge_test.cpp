// TLS termination at the edge, end to end with openssl s_client and curl: the certificate SNI
// picks (exact, wildcard, default), strict_sni, TLS 1.0/1.1 refused, ALPN, what reaches the
// upstream (X-Forwarded-Proto, the mTLS subject), the access log's TLS fields, handshake
// failures by reason, the handshake timeout, and --validate on files that do not load.
#include <thread>

#include "tests/tls/tls_fixture.hpp"

namespace sluice::testing {
namespace {

class TlsEdgeTest : public TlsTest {
 protected:
  // a.test (exact), *.wild.test, and a default certificate.
  std::string certificates() {
    const CertFiles a = pki_->leaf("a", "a.test", {"a.test"});
    const CertFiles wild = pki_->leaf("wild", "wild", {"*.wild.test"}, /*rsa=*/true);
    const CertFiles fallback = pki_->leaf("default", "default", {"default.test"});
    return "      certificates:\n"
           "        - { cert: " +
           a.cert + ", key: " + a.key +
           ", sni: [a.test] }\n"
           "        - { cert: " +
           wild.cert + ", key: " + wild.key +
           ", sni: [\"*.wild.test\"] }\n"
           "        - { cert: " +
           fallback.cert + ", key: " + fallback.key + " }\n";
  }
};

TEST_F(TlsEdgeTest, SniPicksTheCertificateAndUnknownNamesGetTheDefault) {
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, certificates(), upstream_->address())));
  EXPECT_EQ(served_cn(port, "a.test"), "a.test");
  EXPECT_EQ(served_cn(port, "A.TEST"), "a.test");
  EXPECT_EQ(served_cn(port, "x.wild.test"), "wild");
  // A wildcard covers one label: neither the bare suffix nor two labels.
  EXPECT_EQ(served_cn(port, "wild.test"), "default");
  EXPECT_EQ(served_cn(port, "a.b.wild.test"), "default");
  EXPECT_EQ(served_cn(port, "other.test"), "default");
  EXPECT_EQ(served_cn(port, ""), "default");
  EXPECT_EQ(wait_sum("sluice_tls_handshakes_total", {{"listener", "web"}}, 7), 7);
}

TEST_F(TlsEdgeTest, StrictSniRefusesNamesNoCertificateServes) {
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(
      config(port, certificates() + "      strict_sni: true\n", upstream_->address())));
  EXPECT_EQ(served_cn(port, "a.test"), "a.test");
  const CommandResult unknown = s_client(port, "-servername other.test");
  EXPECT_NE(unknown.output.find("unrecognized name"), std::string::npos) << unknown.output;
  EXPECT_EQ(served_cn(port, ""), "");  // no SNI at all: refused too
  EXPECT_EQ(wait_metric(
                "sluice_tls_handshake_failures_total{listener=\"web\",reason=\"unknown-sni\"}", 2),
            2);
}

TEST_F(TlsEdgeTest, OnlyTls12AndTls13AreSpoken) {
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, certificates(), upstream_->address())));
  // SECLEVEL=0 so that it is the server, not this client's own policy, that refuses.
  for (const char* old : {"-tls1", "-tls1_1"}) {
    const CommandResult r =
        s_client(port, std::string(old) + " -cipher DEFAULT@SECLEVEL=0 -servername a.test");
    EXPECT_EQ(r.output.find("subject=CN"), std::string::npos) << old << "\n" << r.output;
  }
  EXPECT_EQ(
      wait_metric(
          "sluice_tls_handshake_failures_total{listener=\"web\",reason=\"protocol-version\"}", 2),
      2);
  EXPECT_NE(s_client(port, "-tls1_2 -servername a.test").output.find("TLSv1.2"), std::string::npos);
  EXPECT_NE(s_client(port, "-tls1_3 -servername a.test").output.find("TLSv1.3"), std::string::npos);
}

TEST_F(TlsEdgeTest, AlpnAgreesOnHttp11OrNothing) {
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, certificates(), upstream_->address())));
  const CommandResult both = s_client(port, "-servername a.test -alpn h2,http/1.1");
  EXPECT_NE(both.output.find("ALPN protocol: http/1.1"), std::string::npos) << both.output;
  const CommandResult h2 = s_client(port, "-servername a.test -alpn h2");
  EXPECT_NE(h2.output.find("No ALPN negotiated"), std::string::npos) << h2.output;
}

TEST_F(TlsEdgeTest, RequestsGoUpstreamAsHttpsAndTheAccessLogNamesTheTls) {
  const uint16_t port = free_loopback_port();
  const std::string log = "log: { access: { path: " + dir_.file("access.log") + " } }\n";
  ASSERT_TRUE(start_sluice(config(port, certificates(), upstream_->address(), log)));
  const CommandResult r = curl(port, "a.test", "/hello", "-H 'X-Forwarded-Proto: http'");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(upstream_->wait_requests(1, Millis(5000)));
  const std::optional<UpstreamRequest> got = upstream_->last();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->header("x-forwarded-proto"), "https");
  EXPECT_EQ(got->count("x-forwarded-proto"), 1u);
  const auto lines = wait_log_lines(dir_.file("access.log"), 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(field(lines[0], "tls_sni"), "a.test");
  EXPECT_EQ(field(lines[0], "tls_version"), "TLSv1.3");
  EXPECT_EQ(field(lines[0], "tls_cipher"), "TLS_AES_256_GCM_SHA384");
}

// A request body decrypted from many TLS records reaches the upstream whole, and so does the
// response on the way back (bytes the transport decrypted travel on like received ones).
TEST_F(TlsEdgeTest, ABigRequestBodyGoesUpstreamWholeFromATlsListener) {
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, certificates(), upstream_->address())));
  std::string body;
  for (int i = 0; body.size() < 300 * 1024; ++i) body += "line " + std::to_string(i) + "\n";
  const std::string file = dir_.write("body.txt", body);
  const std::string out = dir_.file("echoed.txt");
  const CommandResult r = curl(port, "a.test", "/upload",
                               "--data-binary @" + file + " -o " + out + " -w '%{http_code}'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "200");
  ASSERT_TRUE(upstream_->wait_requests(1, Millis(5000)));
  EXPECT_EQ(upstream_->last()->body.size(), body.size());
  EXPECT_TRUE(upstream_->last()->body == body) << "the upstream got another body";
  EXPECT_TRUE(read_file(out) == body) << "the client got another body back";
}

// A tcp listener with TLS relays the plaintext, and dials its endpoint only once the client's
// handshake is done: a client that never finishes one costs no upstream connection.
TEST_F(TlsEdgeTest, ATcpListenerDialsItsEndpointAfterTheHandshake) {
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(
      "workers: 1\n" + admin_yaml() + "listeners:\n  - name: raw\n" + "    listen: 127.0.0.1:" +
      std::to_string(port) + "\n    protocol: tcp\n    cluster: c\n    tls:\n" + certificates() +
      "      handshake_timeout: 500ms\n" +
      "clusters:\n  - { name: c, endpoints: [ { address: " + upstream_->address() + " } ] }\n"));
  Socket silent = connect_loopback(port, Millis(2000));
  ASSERT_TRUE(silent.valid());
  Socket half = connect_loopback(port, Millis(2000));
  ASSERT_TRUE(half.valid());
  // A record header and nothing more.
  ASSERT_TRUE(send_all(half, std::string("\x16\x03\x01\x00\x05", 5), Millis(2000)));
  EXPECT_EQ(wait_metric("sluice_tls_handshake_failures_total{listener=\"raw\",reason=\"timeout\"}",
                        2, Millis(3000)),
            2);
  EXPECT_EQ(upstream_->connections(), 0u);
  const CommandResult r = curl(port, "a.test", "/through");
  EXPECT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(upstream_->wait_requests(1, Millis(5000)));
  EXPECT_EQ(upstream_->last()->target, "/through");
  EXPECT_EQ(upstream_->connections(), 1u);
}

TEST_F(TlsEdgeTest, ClientCertificatesAreCheckedAndTheSubjectGoesUpstream) {
  const uint16_t port = free_loopback_port();
  const CertFiles client = pki_->leaf("client", "alice", {}, false, /*client=*/true);
  ASSERT_TRUE(start_sluice(config(port,
                                  certificates() +
                                      "      client_certificates:\n"
                                      "        ca: " +
                                      pki_->ca_cert() +
                                      "\n"
                                      "        verify: required\n"
                                      "        subject_header: X-Client-Subject\n",
                                  upstream_->address())));
  // Without a certificate: refused.
  const CommandResult none = curl(port, "a.test", "/");
  EXPECT_NE(none.status, 0) << none.output;
  // With one: in, and the upstream hears who (a client's own header is replaced).
  const CommandResult in =
      curl(port, "a.test", "/",
           "--cert " + client.cert + " --key " + client.key + " -H 'X-Client-Subject: CN=mallory'");
  ASSERT_EQ(in.status, 0) << in.output;
  ASSERT_TRUE(upstream_->wait_requests(1, Millis(5000)));
  EXPECT_EQ(upstream_->last()->header("x-client-subject"), "CN=alice");
  EXPECT_EQ(upstream_->last()->count("x-client-subject"), 1u);
  EXPECT_GE(wait_sum("sluice_tls_handshake_failures_total",
                     {{"listener", "web"}, {"reason", "client-certificate"}}, 1),
            1);
}

TEST_F(TlsEdgeTest, AHandshakeThatDoesNotFinishInTimeIsClosed) {
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(
      config(port, certificates() + "      handshake_timeout: 300ms\n", upstream_->address())));
  Socket silent = connect_loopback(port, Millis(2000));
  ASSERT_TRUE(silent.valid());
  EXPECT_EQ(wait_metric("sluice_tls_handshake_failures_total{listener=\"web\",reason=\"timeout\"}",
                        1, Millis(3000)),
            1);
}

TEST_F(TlsEdgeTest, ValidateNamesTheFileThatDoesNotLoad) {
  const CertFiles a = pki_->leaf("a", "a.test", {"a.test"});
  const CertFiles b = pki_->leaf("b", "b.test", {"b.test"});
  const std::string missing = dir_.write(
      "missing.yaml",
      config(free_loopback_port(),
             "      certificates:\n        - { cert: /nonexistent/x.pem, key: " + a.key + " }\n",
             upstream_->address()));
  CommandResult r = run_command(obs_sluice_binary() + " --validate " + missing);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(
      r.output.find("missing.yaml:9:19: cannot load the certificate chain /nonexistent/x.pem"),
      std::string::npos)
      << r.output;
  const std::string mismatch = dir_.write(
      "mismatch.yaml",
      config(free_loopback_port(),
             "      certificates:\n        - { cert: " + a.cert + ", key: " + b.key + " }\n",
             upstream_->address()));
  r = run_command(obs_sluice_binary() + " --validate " + mismatch);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("mismatch.yaml:9:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("does not match the certificate"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace sluice::testing
