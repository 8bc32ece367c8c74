// An ECDSA and an RSA certificate for the same names on one listener (nginx's two
// ssl_certificate lines, HAProxy's multi-cert bundles): the client's signature algorithms (TLS
// 1.3) or cipher suites (TLS 1.2) pick the one it can verify. And the rules that keep the pair
// unambiguous, checked by --validate.
#include "tests/tls/tls_fixture.hpp"

namespace sluice::testing {
namespace {

class TlsDualCertificateTest : public TlsTest {
 protected:
  // The key size of the certificate s_client was served: 256 (ECDSA P-256) or 2048 (RSA).
  std::string served_key_bits(uint16_t port, const std::string& options) {
    const CommandResult r = s_client(port, "-servername both.test " + options);
    const std::string marker = "Server public key is ";
    const size_t at = r.output.find(marker);
    if (at == std::string::npos) return "none: " + r.output;
    return r.output.substr(at + marker.size(),
                           r.output.find(' ', at + marker.size()) - (at + marker.size()));
  }
  std::string pair(const std::string& sni) {
    const CertFiles ecdsa = pki_->leaf("both-ec", "both.test", {"both.test"});
    const CertFiles rsa = pki_->leaf("both-rsa", "both.test", {"both.test"}, /*rsa=*/true);
    return "      certificates:\n        - { cert: " + ecdsa.cert + ", key: " + ecdsa.key + sni +
           " }\n        - { cert: " + rsa.cert + ", key: " + rsa.key + sni + " }\n";
  }
  CommandResult validate(const std::string& certificates) {
    const std::string path =
        dir_.write("check.yaml", config(free_loopback_port(), certificates, upstream_->address()));
    return run_command(obs_sluice_binary() + " --validate " + path);
  }
};

TEST_F(TlsDualCertificateTest, TheClientsAlgorithmsPickEcdsaOrRsa) {
  for (const std::string sni : {", sni: [both.test]", ""}) {  // named, then the default pair
    SCOPED_TRACE(sni.empty() ? "default" : "named");
    const uint16_t port = free_loopback_port();
    ASSERT_TRUE(start_sluice(config(port, pair(sni), upstream_->address())));
    EXPECT_EQ(served_key_bits(port, "-tls1_3 -sigalgs ECDSA+SHA256"), "256");
    EXPECT_EQ(served_key_bits(port, "-tls1_3 -sigalgs RSA-PSS+SHA256"), "2048");
    EXPECT_EQ(served_key_bits(port, "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256"), "256");
    EXPECT_EQ(served_key_bits(port, "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"), "2048");
    // A client that takes either gets the ECDSA one (smaller, faster), as nginx serves it.
    EXPECT_EQ(served_key_bits(port, "-tls1_3"), "256");
    // Both certificates' expiries are exported.
    EXPECT_EQ(scrape().series_of("sluice_tls_certificate_expiry_timestamp_seconds").size(), 2u);
    EXPECT_TRUE(sluice().stop(Millis(10000)).success());
    sluice_.reset();
  }
}

TEST_F(TlsDualCertificateTest, SharingNamesNeedsTheSameNamesAndTwoKeyTypes) {
  const CertFiles ec1 = pki_->leaf("ec1", "x.test", {"x.test"});
  const CertFiles ec2 = pki_->leaf("ec2", "x.test", {"x.test"});
  const CertFiles rsa = pki_->leaf("rsa", "x.test", {"x.test"}, /*rsa=*/true);
  auto entry = [](const CertFiles& c, const std::string& sni) {
    return "        - { cert: " + c.cert + ", key: " + c.key + sni + " }\n";
  };
  // Two ECDSA certificates for one name: the second would silently replace the first.
  CommandResult r = validate("      certificates:\n" + entry(ec1, ", sni: [x.test]") +
                             entry(ec2, ", sni: [X.test]"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("check.yaml:10:19: has the same key type (id-ecPublicKey)"),
            std::string::npos)
      << r.output;
  // Overlapping but different name lists: which pair would answer y.test is unclear.
  r = validate("      certificates:\n" + entry(ec1, ", sni: [x.test]") +
               entry(rsa, ", sni: [x.test, y.test]"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("'x.test' is already served by the certificate at line 9:"),
            std::string::npos)
      << r.output;
  // A third certificate for the same names.
  r = validate("      certificates:\n" + entry(ec1, "") + entry(rsa, "") + entry(ec2, ""));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("a third certificate for the names of the one at line 9:"),
            std::string::npos)
      << r.output;
  // One of each: fine.
  r = validate("      certificates:\n" + entry(ec1, ", sni: [x.test]") +
               entry(rsa, ", sni: [x.test]"));
  EXPECT_EQ(r.status, 0) << r.output;
}

}  // namespace
}  // namespace sluice::testing
