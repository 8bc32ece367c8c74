// clusters[].tls: TLS from sluice to a cluster's endpoints (sni, verify_name, verify, ca,
// client_certificate, alpn, min_version, session_reuse). Only the shape is checked here; the
// PEM files are loaded by the proxy's TLS room (proxy/tls/), which reports at the places
// recorded here. The defaults that depend on the rest of the config (ALPN: whether an http
// listener routes to the cluster) are settled in validate.cpp.
#include "config/parse_state.hpp"
#include "config/scalars.hpp"

namespace sluice::config {
namespace {

Place place_of(const Reader& r, const Field& field) {
  const Pos pos = field.pos();
  return {r.file(pos.source), pos.line, pos.column};
}

std::optional<std::string> host_name(Reader& r, const Field& field) {
  auto name = r.string(field);
  if (!name) return std::nullopt;
  if (!is_host_name(*name, false)) {
    r.error(field, "expected a host name like api.example.com, got '" + *name + "'");
    return std::nullopt;
  }
  return name;
}

// The host name the endpoints are written with, when they name one: what a certificate for
// them carries. Several different names cannot share one setting.
std::string default_sni(Reader& r, const Field& field, const Cluster& cluster) {
  std::string name;
  for (const Endpoint& e : cluster.endpoints) {
    if (!e.named() || e.host == name) continue;
    if (!name.empty()) {
      r.error(field.key_pos(), field.path + ": the endpoints name several hosts (" + name + ", " +
                                   e.host +
                                   "); set tls.sni (a server name per endpoint is not "
                                   "supported yet)");
      return {};
    }
    name = e.host;
  }
  return name;
}

TlsCertificate parse_client_certificate(Reader& r, const Field& field) {
  MapReader map(r, field);
  TlsCertificate cert;
  if (auto f = map.require("cert")) {
    if (auto path = r.string(*f)) cert.cert_path = *path;
    cert.cert_at = place_of(r, *f);
  }
  if (auto f = map.require("key")) {
    if (auto path = r.string(*f)) cert.key_path = *path;
    cert.key_at = place_of(r, *f);
  }
  return cert;
}

}  // namespace

UpstreamTls parse_upstream_tls(ParseState& state, const Field& field, const Cluster& cluster) {
  Reader& r = state.reader;
  MapReader map(r, field);
  UpstreamTls tls;
  if (auto f = map.get("sni")) {
    if (auto name = host_name(r, *f)) tls.sni = *name;
  } else {
    tls.sni = default_sni(r, field, cluster);
  }
  if (auto f = map.get("verify_name"))
    if (auto name = host_name(r, *f)) tls.verify_name = *name;
  if (auto f = map.get("verify")) {
    if (auto on = r.boolean(*f)) tls.verify = *on;
    tls.verify_at = place_of(r, *f);
    if (!tls.verify) {
      const Pos pos = f->pos();
      state.config.warnings.push_back(
          {pos.line, pos.column,
           f->path + ": false: the endpoints' certificates are not checked, anyone on the path "
                     "can pose as them",
           r.file(pos.source)});
    }
  }
  if (auto f = map.get("ca")) {
    if (auto path = r.string(*f)) tls.ca_path = *path;
    tls.ca_at = place_of(r, *f);
  }
  if (auto f = map.get("client_certificate"))
    tls.client_certificate = parse_client_certificate(r, *f);
  if (auto f = map.get("alpn")) {
    tls.alpn_set = true;
    for (const auto& item : r.list(*f)) {
      auto name = r.string(item);
      if (!name) continue;
      if (name->empty() || name->size() > 255) {
        r.error(item, "an ALPN protocol name is 1 to 255 bytes");
        continue;
      }
      tls.alpn.push_back(*name);
    }
  }
  if (auto f = map.get("min_version"))
    if (auto index = r.choice(*f, {"1.2", "1.3"}))
      tls.min_version = *index == 0 ? TlsVersion::v1_2 : TlsVersion::v1_3;
  if (auto f = map.get("session_reuse"))
    if (auto on = r.boolean(*f)) tls.session_reuse = *on;
  return tls;
}

}  // namespace sluice::config
