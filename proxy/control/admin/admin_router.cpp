// The admin server's routing table: registering handlers, and finding the one
// for a request (404 for unknown paths, 405 with Allow for other methods).
#include <algorithm>
#include <string>
#include <vector>

#include "proxy/control/admin/admin_server.hpp"

namespace sluice::proxy::admin {

void AdminServer::route(std::string method, std::string path, AdminHandler handler) {
  route_async(std::move(method), std::move(path),
              [handler = std::move(handler)](const AdminRequest& request, AdminReply reply) {
                reply(handler(request));
              });
}

void AdminServer::route_async(std::string method, std::string path, AdminAsyncHandler handler) {
  for (auto& r : routes_) {
    if (r.method == method && r.path == path) {
      r.handler = std::move(handler);
      return;
    }
  }
  routes_.push_back({std::move(method), std::move(path), std::move(handler)});
}

const AdminServer::Route* AdminServer::find_route(const AdminRequest& request,
                                                  AdminResponse* error) const {
  const Route* match = nullptr;
  const Route* get = nullptr;
  std::vector<std::string> allow;
  auto allow_method = [&](const std::string& m) {
    if (std::find(allow.begin(), allow.end(), m) == allow.end()) allow.push_back(m);
  };
  for (const auto& r : routes_) {
    if (r.path != request.path) continue;
    allow_method(r.method);
    if (r.method == "GET") {
      allow_method("HEAD");
      get = &r;
    }
    if (r.method == request.method) match = &r;
  }
  if (!match && request.method == "HEAD") match = get;
  if (allow.empty()) {
    *error = text_response(404, "not found\n");
    return nullptr;
  }
  if (!match) {
    *error = text_response(405, "method not allowed\n");
    std::string value;
    for (const auto& m : allow) value += (value.empty() ? "" : ", ") + m;
    error->headers.emplace_back("Allow", std::move(value));
  }
  return match;
}

}  // namespace sluice::proxy::admin
