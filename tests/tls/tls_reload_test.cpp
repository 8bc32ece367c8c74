// Certificates change under a running listener: a swapped file is served to new handshakes
// within a second (no reload asked for), a session resumes across the swap and across a hot
// reload (the ticket keys stay), and a bad certificate keeps the old one serving.
#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/tls/tls_fixture.hpp"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;

class TlsReloadTest : public TlsTest {
 protected:
  // The listener serves live.pem / live.key, first a copy of `first`.
  std::string start_with(const CertFiles& first, uint16_t port) {
    install(first);
    const std::string tls = "      certificates:\n        - { cert: " + dir_.file("live.pem") +
                            ", key: " + dir_.file("live.key") + " }\n";
    EXPECT_TRUE(start_sluice(config(port, tls, upstream_->address())));
    return tls;
  }
  // Replaces live.pem / live.key the way cert managers do: new files renamed over the old.
  void install(const CertFiles& files) {
    fs::copy_file(files.cert, dir_.file("live.pem.new"), fs::copy_options::overwrite_existing);
    fs::copy_file(files.key, dir_.file("live.key.new"), fs::copy_options::overwrite_existing);
    fs::rename(dir_.file("live.key.new"), dir_.file("live.key"));
    fs::rename(dir_.file("live.pem.new"), dir_.file("live.pem"));
  }
  // Milliseconds until `cn` is served (-1: not within 5 s).
  long wait_served(uint16_t port, const std::string& cn) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
      if (served_cn(port, "") == cn)
        return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  bool resumes(uint16_t port, const std::string& session, const std::string& version) {
    const CommandResult r = s_client(port, version + " -sess_in " + session);
    return r.output.find("Reused, TLSv1") != std::string::npos;
  }
};

TEST_F(TlsReloadTest, ASwappedCertificateIsServedWithinASecondAndSessionsStillResume) {
  const uint16_t port = free_loopback_port();
  const CertFiles one = pki_->leaf("one", "one", {"one.test"});
  const CertFiles two = pki_->leaf("two", "two", {"two.test"});
  start_with(one, port);
  ASSERT_EQ(served_cn(port, ""), "one");
  const std::string s12 = dir_.file("s12.pem");
  const std::string s13 = dir_.file("s13.pem");
  ASSERT_EQ(s_client(port, "-tls1_2 -sess_out " + s12).status, 0);
  ASSERT_EQ(s_client(port, "-tls1_3 -sess_out " + s13).status, 0);
  EXPECT_TRUE(resumes(port, s12, "-tls1_2"));
  EXPECT_TRUE(resumes(port, s13, "-tls1_3"));

  install(two);
  const long took = wait_served(port, "two");
  EXPECT_GE(took, 0);
  // Within a second of the rename, plus what s_client itself takes on a loaded box.
  EXPECT_LT(took, 1500) << "the new certificate took " << took << " ms";
  RecordProperty("swap_visible_ms", std::to_string(took));
  // The ticket keys outlive the old contexts.
  EXPECT_TRUE(resumes(port, s12, "-tls1_2"));
  EXPECT_TRUE(resumes(port, s13, "-tls1_3"));
  // And a hot reload of the config.
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  EXPECT_TRUE(resumes(port, s13, "-tls1_3"));
  EXPECT_GE(wait_sum("sluice_tls_handshakes_total", {{"listener", "web"}, {"resumed", "true"}}, 5),
            5);
}

TEST_F(TlsReloadTest, ABadCertificateKeepsTheOldOneServing) {
  const uint16_t port = free_loopback_port();
  const CertFiles one = pki_->leaf("one", "one", {"one.test"});
  const CertFiles two = pki_->leaf("two", "two", {"two.test"});
  start_with(one, port);
  ASSERT_EQ(served_cn(port, ""), "one");
  // two's certificate with one's key: does not match.
  install({two.cert, one.key});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(served_cn(port, ""), "one");
  EXPECT_NE(sluice().stderr_text().find("the previous certificates keep serving"),
            std::string::npos)
      << sluice().stderr_text();
  // A reload meanwhile keeps the old contexts too (the bad files were already tried).
  EXPECT_EQ(admin("POST", "/reload").status, 200);
  EXPECT_EQ(served_cn(port, ""), "one");
  // Fixed: served.
  install(two);
  EXPECT_GE(wait_served(port, "two"), 0);
}

}  // namespace
}  // namespace sluice::testing
