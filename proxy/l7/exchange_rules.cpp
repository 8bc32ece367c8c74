// The rules side of an Exchange: who the client is (the one behind trusted proxies), access
// control by client CIDR (403), redirects, and the header rules and rewrites applied as the
// request goes to its endpoint and the response comes back. What can be compiled was, when
// the snapshot was built (proxy/l7/rules/); here values are only rendered into buffers the
// exchange keeps from one request to the next.
#include "proxy/core/log.hpp"
#include "proxy/l7/exchange.hpp"
#include "proxy/l7/rules/redirect.hpp"

namespace sluice::proxy {

bool Exchange::admit_client() {
  const HttpListener& listener = *client_.listener;
  if (!listener.checks_client) return true;
  const rules::IpAddress peer = rules::parse_ip(client_.peer_ip);
  client_.ip = rules::real_client(client_.peer_ip, peer, listener.config.rules.trusted_proxies,
                                  *request_.head, &client_.parsed);
  if (client_.ip.data() != client_.peer_ip.data()) client_.address = client_.ip;
  if (rules::allowed(listener.config.rules.access, client_.parsed)) return true;
  client_.host->counters().denied_by(metrics::AccessScope::listener);
  deny("listener-access-denied");
  return false;
}

bool Exchange::admit_to_route() {
  if (rules::allowed(request_.route->config->access, client_.parsed)) return true;
  client_.host->counters().denied_by(metrics::AccessScope::route);
  deny("route-access-denied");
  return false;
}

void Exchange::deny(std::string_view code) {
  LOG_DEBUG("listener %s: client %.*s denied (%.*s)", client_.listener->config.name.c_str(),
            static_cast<int>(client_.ip.size()), client_.ip.data(), static_cast<int>(code.size()),
            code.data());
  respond(LocalResponse::error(403, code, true));
}

void Exchange::redirect(const config::Redirect& redirect) {
  const bool tls = client_.facts != nullptr && client_.facts->tls;
  rules_.location.assign("Location: ");
  static const rules::PathRewriter kUnchanged;
  const rules::RouteRules* route_rules = request_.route->rules.get();
  rules::redirect_location(redirect, route_rules != nullptr ? route_rules->path : kUnchanged,
                           *request_.head, tls, rules_.path, rules_.location);
  rules_.location += "\r\n";
  note_response(redirect.status);
  LocalResponse response;
  response.status = redirect.status;
  response.extra_headers = rules_.location;
  response.keep_alive = true;
  response.direct = true;
  sink_->on_local_response(response);
}

rules::TemplateContext Exchange::template_context() const {
  rules::TemplateContext c;
  c.client_ip = client_.ip;
  c.request_id = request_.id;
  c.host = request_.head->host;
  if (const ClientFacts* f = client_.facts) {
    c.tls_sni = f->sni;
    c.tls_alpn = f->alpn;
    c.tls_client_subject = f->client_subject;
    if (f->tls_version != nullptr) c.tls_version = f->tls_version;
    if (f->tls_cipher != nullptr) c.tls_cipher = f->tls_cipher;
  }
  return c;
}

void Exchange::apply_request_rules(http::ForwardContext& ctx) {
  const rules::RouteRules* rules = request_.route->rules.get();
  if (rules == nullptr) return;
  if (!rules->request_headers.empty()) {
    rules_.request_lines.clear();
    rules->request_headers.render_lines(template_context(), rules_.request_lines);
    ctx.edits = {&rules->request_headers.drop(), rules_.request_lines};
  }
  if (!rules->has_rewrite) return;
  if (rules->path.apply(request_.head->path, rules_.path)) ctx.path = rules_.path;
  const config::Route& route = *request_.route->config;
  if (route.rewrite && !route.rewrite->host.empty()) ctx.host = route.rewrite->host;
}

void Exchange::render_response_rules() {
  const rules::RouteRules* rules = request_.route->rules.get();
  if (rules == nullptr || rules->response_headers.empty()) return;
  rules_.response_lines.clear();
  rules->response_headers.render_lines(template_context(), rules_.response_lines);
  rules_.response = {&rules->response_headers.drop(), rules_.response_lines};
}

}  // namespace sluice::proxy
