// proxy_protocol: on a listener (accept a header from trusted ranges, with a timeout) and on a
// cluster (send v1 or v2 to its endpoints).
#include "config/cidr.hpp"
#include "config/parse_state.hpp"
#include "config/scalars.hpp"

namespace sluice::config {

std::optional<ProxyProtocolAccept> parse_proxy_protocol_accept(ParseState& state,
                                                               const Field& field) {
  Reader& r = state.reader;
  if (field.value.IsScalar()) {
    const auto on = r.boolean(field);
    // `true` alone would have to trust a header from anyone, and a header names the client
    // that limits, logs and X-Forwarded-For believe: who may send one must be said.
    if (on && *on)
      r.error(field,
              "true would trust a header from any source; list who may send one: "
              "proxy_protocol: {trusted: [10.0.0.0/8]}");
    return std::nullopt;
  }
  MapReader map(r, field);
  if (!map.valid()) return std::nullopt;
  ProxyProtocolAccept accept;
  if (auto f = map.require("trusted", "the source ranges that may send a header")) {
    auto items = r.list(*f);
    if (f->value.IsSequence() && items.empty())
      r.error(*f, "needs at least one range (a listener nobody may use is a mistake)");
    for (const auto& item : items) {
      auto text = r.string(item);
      if (!text) continue;
      auto cidr = parse_cidr(*text);
      if (!cidr) {
        r.error(item, cidr.error);
        continue;
      }
      accept.trusted.push_back(std::move(*cidr.value));
    }
  }
  if (auto f = map.get("timeout"))
    if (auto d = r.duration(*f)) accept.timeout = *d;
  return accept;
}

ProxyProtocolSend parse_proxy_protocol_send(ParseState& state, const Field& field) {
  if (auto index = state.reader.choice(field, {"off", "v1", "v2"}))
    return static_cast<ProxyProtocolSend>(*index);
  return ProxyProtocolSend::off;
}

}  // namespace sluice::config
