// The TLS series of listeners that terminate TLS: handshakes (and how many resumed a
// session), failed handshakes by reason, and when each certificate expires; and the same
// handshakes and failures of clusters that speak TLS to their endpoints. Families appear only
// when some listener (cluster) has TLS.
#include <prometheus/metric_type.h>

#include "proxy/metrics/families.hpp"

namespace sluice::proxy::metrics {

using prometheus::MetricType;

void add_tls(Families& out, const std::vector<std::shared_ptr<const ListenerStats>>& all) {
  std::vector<const ListenerStats*> tls;
  for (const auto& l : all)
    if (l->tls) tls.push_back(l.get());
  if (tls.empty()) return;
  auto& handshakes = out.add("sluice_tls_handshakes_total",
                             "TLS handshakes completed with clients; resumed=\"true\": by "
                             "resuming a session (ticket or cache) (count).",
                             MetricType::Counter);
  auto& failures = out.add(
      "sluice_tls_handshake_failures_total",
      "TLS handshakes with clients that failed, by reason: timeout, closed (the client left "
      "first), unknown-sni (strict_sni), protocol-version, no-shared-cipher, "
      "client-certificate, not-tls, other (count).",
      MetricType::Counter);
  auto& expiry = out.add("sluice_tls_certificate_expiry_timestamp_seconds",
                         "When a listener's certificate (its cert file) expires (unix time).",
                         MetricType::Gauge);
  for (const ListenerStats* l : tls) {
    uint64_t done = 0, resumed = 0;
    uint64_t failed[kTlsFailureReasons] = {};
    for (unsigned w = 0; w < l->per_worker.size(); ++w) {
      const TlsCounters& c = l->per_worker.at(w).tls;
      done += c.handshakes.value();
      resumed += c.resumed.value();
      for (size_t r = 0; r < kTlsFailureReasons; ++r) failed[r] += c.failures[r].value();
    }
    sample(handshakes, {{"listener", l->name}, {"resumed", "false"}}, double(done - resumed));
    sample(handshakes, {{"listener", l->name}, {"resumed", "true"}}, double(resumed));
    for (size_t r = 0; r < kTlsFailureReasons; ++r)
      if (r !=
          static_cast<size_t>(TlsFailure::verify))  // a client's certificate: client-certificate
        sample(failures, {{"listener", l->name}, {"reason", kTlsFailureReasonNames[r]}},
               double(failed[r]));
    for (const auto& [certificate, when] : l->certificate_expiry)
      sample(expiry, {{"listener", l->name}, {"certificate", certificate}}, when);
  }
}

void add_upstream_tls(Families& out, const std::vector<std::shared_ptr<const ClusterStats>>& all) {
  std::vector<const ClusterStats*> tls;
  for (const auto& c : all)
    if (c->tls) tls.push_back(c.get());
  if (tls.empty()) return;
  auto& handshakes = out.add("sluice_upstream_tls_handshakes_total",
                             "TLS handshakes completed with a cluster's endpoints; "
                             "resumed=\"true\": by resuming the endpoint's last session (count).",
                             MetricType::Counter);
  auto& failures = out.add(
      "sluice_upstream_tls_handshake_failures_total",
      "TLS handshakes with a cluster's endpoints that failed, by reason: verify (certificate "
      "chain or name), timeout, closed (the endpoint left first), protocol-version, "
      "no-shared-cipher, client-certificate (the endpoint refused sluice's), not-tls, other "
      "(count).",
      MetricType::Counter);
  for (const ClusterStats* c : tls) {
    uint64_t done = 0, resumed = 0;
    uint64_t failed[kTlsFailureReasons] = {};
    for (unsigned w = 0; w < c->per_worker.size(); ++w) {
      const TlsCounters& t = c->per_worker.at(w).tls;
      done += t.handshakes.value();
      resumed += t.resumed.value();
      for (size_t r = 0; r < kTlsFailureReasons; ++r) failed[r] += t.failures[r].value();
    }
    sample(handshakes, {{"cluster", c->name}, {"resumed", "false"}}, double(done - resumed));
    sample(handshakes, {{"cluster", c->name}, {"resumed", "true"}}, double(resumed));
    for (size_t r = 0; r < kTlsFailureReasons; ++r)
      if (r != static_cast<size_t>(TlsFailure::unknown_sni))  // a server's refusal only
        sample(failures, {{"cluster", c->name}, {"reason", kTlsFailureReasonNames[r]}},
               double(failed[r]));
  }
}

}  // namespace sluice::proxy::metrics
