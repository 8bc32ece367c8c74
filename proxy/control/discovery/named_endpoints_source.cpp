#include "proxy/control/discovery/named_endpoints_source.hpp"

#include <algorithm>

namespace sluice::proxy::discovery {

NamedEndpointsSource::NamedEndpointsSource(control::ControlLoop& loop, SourceSink& sink,
                                           const config::Cluster& cluster)
    : sink_(sink), type_(cluster.endpoint_dns.type) {
  for (const config::Endpoint& e : cluster.endpoints) {
    if (!e.named()) {
      literal_.push_back({e.address.text, e.weight});
      continue;
    }
    auto name = std::make_unique<Name>();
    name->owner = this;
    name->text = e.address.text;
    name->weight = e.weight;
    config::DnsDiscovery dns = cluster.endpoint_dns;
    dns.name = e.host;
    dns.port = e.port;
    name->source = std::make_unique<DnsSource>(loop, DnsSourceOptions::from(dns), *name);
    names_.push_back(std::move(name));
  }
}

NamedEndpointsSource::~NamedEndpointsSource() = default;

void NamedEndpointsSource::start() {
  for (auto& name : names_) name->source->start();
}

std::string NamedEndpointsSource::describe() const {
  std::string out = "dns " + type_ + " ";
  for (size_t i = 0; i < names_.size(); ++i) out += (i == 0 ? "" : ", ") + names_[i]->text;
  return out;
}

void NamedEndpointsSource::Name::deliver(std::vector<DiscoveredEndpoint> answer,
                                         std::string version) {
  for (DiscoveredEndpoint& e : answer) e.weight = weight;
  answered = true;
  set = std::move(answer);
  failing.clear();
  owner->report(false);
}

void NamedEndpointsSource::Name::fail(std::string why) {
  answered = true;
  failing = std::move(why);
  owner->report(true);
}

void NamedEndpointsSource::report(bool after_failure) {
  size_t resolved = 0;
  std::string failing;
  for (const auto& name : names_) {
    if (!name->answered) return;  // the first set waits for every name
    resolved += name->set.has_value();
    if (!name->failing.empty()) failing += (failing.empty() ? "" : "; ") + name->failing;
  }
  // The literal addresses, then each name's in the order written; an address that two names
  // share is run once, with the first one's weight.
  std::vector<DiscoveredEndpoint> all = literal_;
  for (const auto& name : names_) {
    if (!name->set) continue;
    for (const DiscoveredEndpoint& e : *name->set)
      if (std::none_of(all.begin(), all.end(),
                       [&](const DiscoveredEndpoint& a) { return a.address == e.address; }))
        all.push_back(e);
  }
  // While a name fails, the cluster stays stale: an unchanged set is not delivered again
  // (that would say "answers again" and then "failed" on every other name's refresh). A name
  // that never answered has nothing to keep: the set goes out without it.
  const bool changed = !reported_ || all != last_;
  const bool deliver = failing.empty() || (changed && (resolved > 0 || !literal_.empty()));
  if (deliver) {
    reported_ = true;
    last_ = all;
    sink_.deliver(std::move(all), std::to_string(resolved) + " of " +
                                      std::to_string(names_.size()) + " names resolved");
  }
  if (!failing.empty() && (after_failure || deliver)) sink_.fail(failing);
}

}  // namespace sluice::proxy::discovery
