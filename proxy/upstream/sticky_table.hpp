// A cluster's cookie stickiness as one snapshot sees it (clusters[].sticky_cookie): the value
// that names each endpoint in the cookie, the way back from a value to a position in this
// snapshot's endpoint list, and the Set-Cookie line sent for each. A value is a keyed hash of
// the cluster's name and the endpoint's address, never the address itself, so it stays the
// same for an endpoint that stays (reloads, discovery updates, restarts, other instances
// sharing `secret`) and names nothing once the endpoint is gone. Built on the control thread;
// workers read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "proxy/upstream/endpoint_list.hpp"

namespace sluice::proxy {

class StickyTable {
 public:
  StickyTable(const config::StickyCookie& cookie, std::string_view cluster,
              const EndpointList& endpoints);

  const std::string& cookie_name() const { return name_; }
  // The position of the endpoint `value` names, if this snapshot lists it. Any thread.
  std::optional<uint32_t> find(std::string_view value) const;
  // "Set-Cookie: name=value; Path=/...\r\n" naming the endpoint at `position`.
  std::string_view set_cookie(uint32_t position) const { return lines_[position]; }

 private:
  std::string name_;
  std::vector<std::pair<uint64_t, uint32_t>> by_value_;  // sorted by value
  std::vector<std::string> lines_;                       // by position
};

// The value naming `address` in `cluster`'s cookie: the first 64 bits of
// HMAC-SHA256(secret, cluster "\n" address), as 16 lower-case hex digits.
std::string sticky_value(std::string_view secret, std::string_view cluster,
                         std::string_view address);

}  // namespace sluice::proxy
