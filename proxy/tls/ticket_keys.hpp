// Session ticket keys of one listener: a small window of keys, the newest encrypting, all of
// them decrypting (a ticket encrypted with an older one is accepted and re-issued). A key is
// replaced every `rotation`, so a stolen key opens at most kWindow rotations of sessions. The
// object lives in the ContextStore keyed by listener name, not in any SSL_CTX, so tickets stay
// valid across reloads and certificate changes. Rotation happens lazily on the handshake that
// finds the newest key too old: any worker thread, without a lock (the ring is swapped whole).
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace sluice::proxy::tls {

class TicketKeys {
 public:
  static constexpr size_t kWindow = 3;

  explicit TicketKeys(std::chrono::milliseconds rotation);
  // Control thread (a reload may change it); workers read it.
  void set_rotation(std::chrono::milliseconds rotation) {
    rotation_ns_.store(static_cast<int64_t>(rotation.count()) * 1000000, std::memory_order_relaxed);
  }
  // OpenSSL's ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb), with `now_ns`
  // monotonic: 1 (key found / set), 2 (decrypted with an older key: issue a new ticket), 0 (no
  // such key: full handshake), -1 (error).
  int on_ticket(unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                bool encrypt, int64_t now_ns);

 private:
  struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
  };
  struct Ring {
    std::array<Key, kWindow> keys{};  // newest first
    size_t count = 0;
    int64_t newest_ns = 0;  // when keys[0] was made
  };
  std::shared_ptr<const Ring> current(int64_t now_ns);

  std::atomic<int64_t> rotation_ns_;
  std::atomic<std::shared_ptr<const Ring>> ring_;
};

}  // namespace sluice::proxy::tls
