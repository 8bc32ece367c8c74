// Which certificate a server name gets: exact, then one-label wildcards; and the bounded
// reasons a failed handshake is counted under.
#include "proxy/tls/sni_table.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "proxy/tls/handshake_failure.hpp"
#include "proxy/tls/ticket_keys.hpp"

#include <cstring>

namespace sluice::proxy::tls {
namespace {

TEST(SniTable, ExactBeatsWildcardAndWildcardsCoverOneLabel) {
  SniTable t;
  t.add("a.example.com", 0);
  t.add("*.example.com", 1);
  t.add("Example.org", 2);
  EXPECT_EQ(t.find("a.example.com"), 0u);
  EXPECT_EQ(t.find("A.EXAMPLE.COM."), 0u);
  EXPECT_EQ(t.find("b.example.com"), 1u);
  EXPECT_EQ(t.find("example.org"), 2u);
  EXPECT_EQ(t.find("example.com"), std::nullopt);
  EXPECT_EQ(t.find("x.b.example.com"), std::nullopt);
  EXPECT_EQ(t.find(".example.com"), std::nullopt);
  EXPECT_EQ(t.find(""), std::nullopt);
}

TEST(SniTable, TheFirstCertificateForANameWins) {
  SniTable t;
  t.add("a.test", 3);
  t.add("a.test", 4);
  EXPECT_EQ(t.find("a.test"), 3u);
}

TEST(HandshakeFailure, ReasonsAreBounded) {
  using metrics::TlsFailure;
  EXPECT_EQ(classify_handshake_failure(SSL_R_UNSUPPORTED_PROTOCOL), TlsFailure::protocol_version);
  EXPECT_EQ(classify_handshake_failure(SSL_R_NO_SHARED_CIPHER), TlsFailure::no_shared_cipher);
  EXPECT_EQ(classify_handshake_failure(SSL_R_CALLBACK_FAILED), TlsFailure::unknown_sni);
  EXPECT_EQ(classify_handshake_failure(SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE),
            TlsFailure::client_certificate);
  EXPECT_EQ(classify_handshake_failure(SSL_R_HTTP_REQUEST), TlsFailure::not_tls);
  EXPECT_EQ(classify_handshake_failure(0), TlsFailure::closed);
  EXPECT_EQ(classify_handshake_failure(123456), TlsFailure::other);
}

TEST(TicketKeys, TheNewestEncryptsOlderOnesDecryptForTheWindow) {
  TicketKeys keys(std::chrono::milliseconds(1000));
  constexpr int64_t kSecond = 1'000'000'000;
  EVP_CIPHER_CTX* cipher = EVP_CIPHER_CTX_new();
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* mac = EVP_MAC_CTX_new(hmac);
  unsigned char first[16], iv[16];
  ASSERT_EQ(keys.on_ticket(first, iv, cipher, mac, true, 0), 1);
  EXPECT_EQ(keys.on_ticket(first, iv, cipher, mac, false, kSecond / 2), 1);
  // One rotation later: still decrypts, and asks for a fresh ticket.
  unsigned char second[16];
  ASSERT_EQ(keys.on_ticket(second, iv, cipher, mac, true, kSecond + 1), 1);
  EXPECT_NE(std::memcmp(first, second, 16), 0);
  EXPECT_EQ(keys.on_ticket(first, iv, cipher, mac, false, kSecond + 2), 2);
  // Past the window (kWindow keys): gone.
  unsigned char name[16];
  keys.on_ticket(name, iv, cipher, mac, true, 3 * kSecond);
  keys.on_ticket(name, iv, cipher, mac, true, 5 * kSecond);
  EXPECT_EQ(keys.on_ticket(first, iv, cipher, mac, false, 5 * kSecond), 0);
  EVP_MAC_CTX_free(mac);
  EVP_MAC_free(hmac);
  EVP_CIPHER_CTX_free(cipher);
}

}  // namespace
}  // namespace sluice::proxy::tls
