#include "proxy/upstream/sticky_table.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace sluice::proxy {
namespace {

// Without a configured secret the key is fixed: values are still stable and opaque at a
// glance, but anyone who can list candidate addresses can compute them.
constexpr std::string_view kDefaultSecret = "sluice sticky cookie";

std::optional<uint64_t> parse_hex64(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (const char c : text) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

std::string attributes(const config::StickyCookie& c) {
  std::string out = "; Path=" + c.path;
  if (!c.domain.empty()) out += "; Domain=" + c.domain;
  if (c.max_age) out += "; Max-Age=" + std::to_string(c.max_age->count() / 1000);
  if (c.http_only) out += "; HttpOnly";
  if (c.secure) out += "; Secure";
  switch (c.same_site) {
    case config::StickyCookie::SameSite::unset:
      break;
    case config::StickyCookie::SameSite::lax:
      out += "; SameSite=Lax";
      break;
    case config::StickyCookie::SameSite::strict:
      out += "; SameSite=Strict";
      break;
    case config::StickyCookie::SameSite::none:
      out += "; SameSite=None";
      break;
  }
  return out;
}

}  // namespace

std::string sticky_value(std::string_view secret, std::string_view cluster,
                         std::string_view address) {
  if (secret.empty()) secret = kDefaultSecret;
  std::string message;
  message.reserve(cluster.size() + 1 + address.size());
  message.append(cluster).append("\n").append(address);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = kHex[mac[i] >> 4];
    out[2 * i + 1] = kHex[mac[i] & 15];
  }
  return out;
}

StickyTable::StickyTable(const config::StickyCookie& cookie, std::string_view cluster,
                         const EndpointList& endpoints)
    : name_(cookie.name) {
  const std::string tail = attributes(cookie) + "\r\n";
  by_value_.reserve(endpoints.size());
  lines_.reserve(endpoints.size());
  for (uint32_t i = 0; i < endpoints.size(); ++i) {
    const std::string value = sticky_value(cookie.secret, cluster, endpoints[i].address.text);
    by_value_.emplace_back(*parse_hex64(value), i);
    lines_.push_back("Set-Cookie: " + name_ + "=" + value + tail);
  }
  std::sort(by_value_.begin(), by_value_.end());
}

std::optional<uint32_t> StickyTable::find(std::string_view value) const {
  const std::optional<uint64_t> v = parse_hex64(value);
  if (!v) return std::nullopt;
  const auto it = std::lower_bound(by_value_.begin(), by_value_.end(), std::make_pair(*v, 0u));
  if (it == by_value_.end() || it->first != *v) return std::nullopt;
  return it->second;
}

}  // namespace sluice::proxy
