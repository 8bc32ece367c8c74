#include "proxy/tls/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>

namespace sluice::proxy::tls {
namespace {

bool set_mac_key(EVP_MAC_CTX* mac, const unsigned char* key) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key), 32),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("sha256"), 0),
      OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace

TicketKeys::TicketKeys(std::chrono::milliseconds rotation)
    : rotation_ns_(static_cast<int64_t>(rotation.count()) * 1000000) {}

std::shared_ptr<const TicketKeys::Ring> TicketKeys::current(int64_t now_ns) {
  std::shared_ptr<const Ring> ring = ring_.load(std::memory_order_acquire);
  if (ring && now_ns - ring->newest_ns < rotation_ns_.load(std::memory_order_relaxed)) return ring;
  auto next = std::make_shared<Ring>();
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&next->keys[0]), sizeof(Key)) != 1)
    return ring;  // keep what there is; the next handshake tries again
  next->count = 1;
  next->newest_ns = now_ns;
  if (ring)
    for (size_t i = 0; i < ring->count && next->count < kWindow; ++i)
      next->keys[next->count++] = ring->keys[i];
  std::shared_ptr<const Ring> published = next;
  // Two workers rotating at once: one ring wins, the other's key is never used.
  if (ring_.compare_exchange_strong(ring, published, std::memory_order_acq_rel)) return published;
  return ring;
}

int TicketKeys::on_ticket(unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                          EVP_MAC_CTX* mac, bool encrypt, int64_t now_ns) {
  const std::shared_ptr<const Ring> ring = current(now_ns);
  if (!ring || ring->count == 0) return encrypt ? -1 : 0;
  if (encrypt) {
    const Key& key = ring->keys[0];
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
    std::memcpy(name, key.name, sizeof key.name);
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv) != 1) return -1;
    return set_mac_key(mac, key.hmac) ? 1 : -1;
  }
  for (size_t i = 0; i < ring->count; ++i) {
    const Key& key = ring->keys[i];
    if (std::memcmp(name, key.name, sizeof key.name) != 0) continue;
    if (!set_mac_key(mac, key.hmac) ||
        EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv) != 1)
      return -1;
    return i == 0 ? 1 : 2;
  }
  return 0;
}

}  // namespace sluice::proxy::tls
