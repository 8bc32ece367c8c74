// The source of a cluster whose static `endpoints` name hosts ("api-1.internal:8080"): one
// DnsSource per distinct name and port, and the literal addresses written beside them. Its
// set is the literal addresses plus every name's last answer, each address with the weight
// written for its name. It answers once every name has answered (or failed) once, then on
// every change; a name that fails keeps its last addresses and the cluster is told (stale)
// until that name answers again, so one broken name never empties the others.
// Control thread only; the loop and the sink must outlive the source.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/discovery/dns_source.hpp"
#include "proxy/control/discovery/source.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

class NamedEndpointsSource : public Source {
 public:
  // `cluster` must have named endpoints; `cluster.endpoint_dns` says how they resolve.
  NamedEndpointsSource(control::ControlLoop& loop, SourceSink& sink,
                       const config::Cluster& cluster);
  ~NamedEndpointsSource() override;

  void start() override;
  const char* kind() const override { return "dns"; }
  std::string describe() const override;  // "dns A api-1.internal:8080, api-2.internal:8080"

 private:
  // One name: its DnsSource reports here.
  struct Name final : SourceSink {
    NamedEndpointsSource* owner = nullptr;
    std::string text;  // "api-1.internal:8080"
    uint32_t weight = 1;
    std::unique_ptr<DnsSource> source;
    bool answered = false;                               // delivered or failed at least once
    std::optional<std::vector<DiscoveredEndpoint>> set;  // its last answer
    std::string failing;  // why its last try failed; "" when it did not
    void deliver(std::vector<DiscoveredEndpoint> set, std::string version) override;
    void fail(std::string why) override;
  };
  // Tells the sink the union once every name has answered at least once.
  void report(bool after_failure);

  SourceSink& sink_;
  std::string type_;
  std::vector<DiscoveredEndpoint> literal_;
  std::vector<std::unique_ptr<Name>> names_;
  bool reported_ = false;
  std::vector<DiscoveredEndpoint> last_;  // the set last delivered
};

}  // namespace sluice::proxy::discovery
