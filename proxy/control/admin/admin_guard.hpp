// Who may use the admin listener. It has no authentication: what keeps a web page open in an
// operator's browser from using it (a form that POSTs /drain, a script on a DNS-rebinding name
// that reads /config) is what a browser does not let a page choose:
//   - Host must name this listener: its address; `localhost` and the loopback addresses when it
//     listens on loopback or a wildcard; any IP address when it listens on a wildcard; or a name
//     of admin.allowed_hosts. With a port, the listener's. A page reached through DNS
//     rebinding sends its own name, which is none of these. (HTTP/1.0 requests may omit Host:
//     no browser sends one without.)
//   - Origin, when sent, must be the admin's own (http://<that Host>): any other is a page
//     elsewhere. Browsers send it on every cross-origin request and on every POST.
//   - A request that changes something (any method but GET and HEAD) must carry X-Sluice-Admin
//     (any value). A form cannot send a custom header, and a script can only after a CORS
//     preflight (OPTIONS), which the admin never approves. curl users add one -H.
// Pure functions of the request: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/admin/message.hpp"

namespace sluice::proxy::admin {

inline constexpr const char* kAdminHeader = "X-Sluice-Admin";

struct AdminListen {
  config::Address address;  // as configured: loopback, a wildcard, or one address
  uint16_t port = 0;        // the bound port (differs from the address's with port 0)
};

// nullopt when `request` may go on; else the answer: 400 for an unparsable or repeated Host
// or an HTTP/1.1 request without one, 403 for a Host that does not name the listener or an
// Origin that is not its own (any Origin when there is no Host).
// `allowed_hosts`: canonical (config::canonical_admin_host), like admin.allowed_hosts.
std::optional<AdminResponse> refuse_foreign(const AdminRequest& request, const AdminListen& listen,
                                            const std::vector<std::string>& allowed_hosts);

// For a request that changes something: nullopt with X-Sluice-Admin, else 403 saying how to
// send it. Call after refuse_foreign (it quotes the Host, or the listen address without one).
std::optional<AdminResponse> refuse_unmarked(const AdminRequest& request,
                                             const AdminListen& listen);

}  // namespace sluice::proxy::admin
