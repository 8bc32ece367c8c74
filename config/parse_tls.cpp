// listeners[].tls: certificates chosen by SNI, strict_sni, ALPN, the minimum version, the
// handshake timeout, session tickets and client certificates (mTLS). Only the shape is checked
// here; the PEM files are loaded by the proxy's TLS room (proxy/tls/), which reports at the
// places recorded in the config (TlsCertificate::cert_at, ...).
#include <algorithm>
#include <cctype>

#include "config/parse_state.hpp"
#include "config/scalars.hpp"

namespace sluice::config {
namespace {

Place place_of(const Reader& r, const Field& field) {
  const Pos pos = field.pos();
  return {r.file(pos.source), pos.line, pos.column};
}

std::string lowercase(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// Certificates that serve the same names: one, or two with different key types (an ECDSA and
// an RSA one, as nginx's two ssl_certificate lines), which share one context and OpenSSL picks
// by what the client supports. The key types are only known once the files load (proxy/tls/).
struct NameSet {
  std::vector<std::string> names;  // lower case, sorted; empty: the default certificate
  Field first;
  int certificates = 1;
};

void parse_certificates(Reader& r, const Field& certificates, Tls& tls) {
  auto items = r.list(certificates);
  if (certificates.value.IsSequence() && items.empty())
    r.error(certificates, "needs at least one certificate");
  std::vector<NameSet> sets;
  std::vector<std::pair<std::string, Field>> seen_sni;
  for (const auto& item : items) {
    MapReader cert_map(r, item);
    if (!cert_map.valid()) continue;
    TlsCertificate cert;
    if (auto f = cert_map.require("cert")) {
      if (auto path = r.string(*f)) cert.cert_path = *path;
      cert.cert_at = place_of(r, *f);
    }
    if (auto f = cert_map.require("key")) {
      if (auto path = r.string(*f)) cert.key_path = *path;
      cert.key_at = place_of(r, *f);
    }
    std::vector<std::pair<std::string, Field>> names;
    if (auto f = cert_map.get("sni")) {
      for (const auto& name_field : r.list(*f)) {
        auto name = r.string(name_field);
        if (!name) continue;
        if (!is_host_name(*name, true)) {
          r.error(name_field,
                  "expected a host name like example.com or *.example.com, got '" + *name + "'");
          continue;
        }
        names.emplace_back(*name, name_field);
        cert.sni.push_back(*name);
      }
    }
    std::vector<std::string> key;
    for (const auto& [name, field] : names) key.push_back(lowercase(name));
    std::sort(key.begin(), key.end());
    auto same = std::find_if(sets.begin(), sets.end(),
                             [&](const NameSet& set) { return set.names == key; });
    if (same != sets.end()) {
      if (++same->certificates > 2)
        r.error(item, "a third certificate for the names of the one at " +
                          line_col(same->first.pos()) +
                          " (at most two may share names: one ECDSA, one RSA)");
    } else {
      for (const auto& [name, field] : names)
        for (const auto& [earlier, where] : seen_sni)
          if (lowercase(earlier) == lowercase(name))
            r.error(field, "'" + name + "' is already served by the certificate at " +
                               line_col(where.pos()) +
                               " (certificates may share names only by listing the same ones: "
                               "an ECDSA and an RSA pair)");
      for (const auto& [name, field] : names) seen_sni.emplace_back(name, field);
      sets.push_back({std::move(key), item});
    }
    tls.certificates.push_back(std::move(cert));
  }
}

void parse_alpn(Reader& r, const Field& field, bool http, Tls& tls) {
  tls.alpn.clear();
  for (const auto& item : r.list(field)) {
    auto name = r.string(item);
    if (!name) continue;
    if (http && *name != "http/1.1") {
      // h2 arrives with the HTTP/2 listener; anything else an HTTP listener cannot speak.
      r.error(item, *name == "h2" ? "h2 is not supported yet (only http/1.1)"
                                  : "an http listener speaks http/1.1, got '" + *name + "'");
      continue;
    }
    if (name->empty() || name->size() > 255) {
      r.error(item, "an ALPN protocol name is 1 to 255 bytes");
      continue;
    }
    tls.alpn.push_back(*name);
  }
}

TlsClientCertificates parse_client_certificates(Reader& r, const Field& field, bool http) {
  MapReader map(r, field);
  TlsClientCertificates client;
  if (auto f = map.require("ca")) {
    if (auto path = r.string(*f)) client.ca_path = *path;
    client.ca_at = place_of(r, *f);
  }
  if (auto f = map.get("verify"))
    if (auto index = r.choice(*f, {"required", "optional"})) client.required = *index == 0;
  if (auto f = map.get("subject_header")) {
    if (!http) {
      r.error(*f, "only an http listener can send a header upstream");
    } else if (auto name = r.string(*f)) {
      if (!is_token(*name))
        r.error(*f, "'" + *name + "' is not a valid header name");
      else
        client.subject_header = *name;
    }
  }
  return client;
}

}  // namespace

Tls parse_tls(ParseState& state, const Field& field, bool http) {
  Reader& r = state.reader;
  MapReader map(r, field);
  Tls tls;
  if (http) tls.alpn = {"http/1.1"};
  if (auto f = map.require("certificates")) parse_certificates(r, *f, tls);
  if (auto f = map.get("strict_sni"))
    if (auto on = r.boolean(*f)) tls.strict_sni = *on;
  if (auto f = map.get("alpn")) parse_alpn(r, *f, http, tls);
  if (auto f = map.get("min_version"))
    // Nothing below 1.2 is offered: 1.0 and 1.1 are deprecated (RFC 8996).
    if (auto index = r.choice(*f, {"1.2", "1.3"}))
      tls.min_version = *index == 0 ? TlsVersion::v1_2 : TlsVersion::v1_3;
  if (auto f = map.get("handshake_timeout"))
    if (auto d = r.duration(*f)) tls.handshake_timeout = *d;
  if (auto f = map.get("session_tickets"))
    if (auto on = r.boolean(*f)) tls.session_tickets = *on;
  if (auto f = map.get("ticket_key_rotation"))
    if (auto d = r.duration(*f)) tls.ticket_key_rotation = *d;
  if (auto f = map.get("client_certificates"))
    tls.client_certificates = parse_client_certificates(r, *f, http);
  return tls;
}

}  // namespace sluice::config
