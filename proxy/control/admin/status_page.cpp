#include "proxy/control/admin/status_page.hpp"

#include <cinttypes>
#include <cstdio>
#include <string_view>

#include "proxy/control/admin/html_escape.hpp"

namespace sluice::proxy::admin {
namespace {

// Colours repeat what the words say (never the only signal); numbers line up on the right.
constexpr std::string_view kStyle =
    "body{font:14px/1.45 system-ui,sans-serif;margin:1.2em 1.6em;color:#1d1d1f;background:#fff}"
    "h1{font-size:1.5em;margin:0 0 .2em}"
    "h2{font-size:1.1em;margin:1.3em 0 .4em;padding-bottom:.15em;border-bottom:1px solid #ddd}"
    "h3{font-size:1em;margin:.9em 0 .2em}"
    "table{border-collapse:collapse;margin:.2em 0 .5em}"
    "th,td{padding:.2em .8em .2em 0;text-align:left;border-bottom:1px solid #eee}"
    "th{font-weight:600;color:#555;font-size:.9em}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".facts{margin:.15em 0;color:#333}.muted{color:#777;font-weight:400}"
    ".big{font-size:1.7em;font-weight:600;font-variant-numeric:tabular-nums}"
    ".tiles{display:flex;gap:2.5em;flex-wrap:wrap}.tiles div{min-width:7em}"
    ".b{display:inline-block;padding:0 .55em;border-radius:.7em;font-size:.85em;font-weight:600}"
    ".ok{background:#dcf2de;color:#1b5e20}.warn{background:#fff0c2;color:#6d4700}"
    ".bad{background:#fcdcdc;color:#a31515}.off{background:#eee;color:#555}"
    "code{font:12px ui-monospace,monospace}footer{margin-top:2em;color:#777;font-size:.85em}";

std::string format(const char* fmt, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

std::string rate(double per_second) {
  return format("%.1f", per_second);
}

std::string count(uint64_t n) {
  return std::to_string(n);
}

// "3d 4h", "2h 5m", "5m 3s", "42s": two units are enough at a glance.
std::string duration(double seconds) {
  const auto s = static_cast<uint64_t>(seconds < 0 ? 0 : seconds);
  const uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  if (d > 0) return count(d) + "d " + count(h) + "h";
  if (h > 0) return count(h) + "h " + count(m) + "m";
  if (m > 0) return count(m) + "m " + count(sec) + "s";
  return count(sec) + "s";
}

// A state word in a coloured pill. `css`: ok, warn, bad or off.
std::string badge(std::string_view css, std::string_view word) {
  std::string out = "<span class=\"b ";
  out.append(css).append("\">").append(html_escape(word)).append("</span>");
  return out;
}

const char* endpoint_css(const EndpointView& e) {
  if (e.ejected) return "bad";
  if (e.backing_off) return "warn";
  return "ok";
}

std::string breaker_badge(const ClusterView& c) {
  if (!c.breaker) return badge("off", "no breaker");
  switch (c.breaker->state) {
    case limiter::BreakerState::open:
      return badge("bad", "breaker open");
    case limiter::BreakerState::half_open:
      return badge("warn", "breaker half-open");
    case limiter::BreakerState::closed:
      break;
  }
  return badge("ok", "breaker closed");
}

std::string limit_text(const char* name, const LimitView& l) {
  std::string out = std::string(name) + " " + count(l.in_use) + "/";
  out += l.max == 0 ? "&infin;" : count(l.max);
  if (l.rejected > 0) out += " (" + count(l.rejected) + " refused)";
  return out;
}

void add_header(std::string& out, const StatusPage& page) {
  const StatusPage::Process& p = page.process;
  using State = StatusPage::Process::State;
  const char* state = p.state == State::serving    ? "serving"
                      : p.state == State::draining ? "draining"
                                                   : "starting";
  out += "<title>sluice " + html_escape(p.version) + " &middot; " + state + "</title>\n";
  out += "<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<h1>sluice ";
  out += badge(p.state == State::serving ? "ok" : "warn", state);
  out += "</h1>\n<p class=\"facts\">version <b>" + html_escape(p.version) + "</b> &middot; up <b>" +
         duration(p.uptime_seconds) + "</b> &middot; " + count(p.workers) + " worker" +
         (p.workers == 1 ? "" : "s") + " &middot; config <code title=\"" +
         html_escape(p.config_hash) + "\">" + html_escape(p.config_hash.substr(0, 12)) +
         "</code> &middot; reloads " + count(p.reloads_succeeded) + " ok, " +
         count(p.reloads_failed) + " failed";
  using Redis = StatusPage::Process::Redis;
  if (p.redis == Redis::up) out += " &middot; Redis " + badge("ok", "up");
  if (p.redis == Redis::down) out += " &middot; Redis " + badge("bad", "down");
  if (p.redis == Redis::connecting) out += " &middot; Redis " + badge("warn", "connecting");
  out += "</p>\n";
}

void add_traffic(std::string& out, const StatusPage& page) {
  size_t endpoints = 0, ejected = 0, backing_off = 0, open_breakers = 0;
  for (const auto& c : page.clusters) {
    for (const auto& e : c.view.endpoints) {
      ++endpoints;
      ejected += e.ejected;
      backing_off += !e.ejected && e.backing_off;
    }
    open_breakers += c.view.breaker && c.view.breaker->state != limiter::BreakerState::closed;
  }
  const std::string window = page.rate_seconds > 0
                                 ? "over the last " + format("%.0f", page.rate_seconds) + " s"
                                 : "since start (no second reading yet)";
  out += "<h2>Traffic <span class=\"muted\">rates " + window + "</span></h2>\n";
  out += "<div class=\"tiles\">";
  auto tile = [&out](std::string_view label, const std::string& value) {
    out += "<div><div class=\"big\">" + value + "</div>";
    out.append(label).append("</div>");
  };
  tile("HTTP requests/s", rate(page.http.per_second));
  tile("5xx/s", rate(page.http.errors_per_second));
  tile("requests since start", count(page.http.requests));
  tile("5xx since start", count(page.http.errors));
  tile("endpoints healthy", count(endpoints - ejected - backing_off) + "/" + count(endpoints));
  out += "</div>\n<p class=\"facts\">";
  out += ejected > 0 ? badge("bad", count(ejected) + " ejected") : badge("ok", "none ejected");
  out += " ";
  out += backing_off > 0 ? badge("warn", count(backing_off) + " backing off")
                         : badge("ok", "none backing off");
  out += " ";
  out += open_breakers > 0 ? badge("bad", count(open_breakers) + " breaker(s) not closed")
                           : badge("ok", "no breaker open");
  out += "</p>\n";
}

void add_cluster(std::string& out, const StatusPage::Cluster& cluster) {
  const ClusterView& c = cluster.view;
  out += "<h3>" + html_escape(c.name) + " <span class=\"muted\">" + html_escape(c.balancer) +
         "</span> " + breaker_badge(c) + "</h3>\n";
  out += "<p class=\"facts\">" + rate(cluster.traffic.per_second) + " requests/s &middot; " +
         rate(cluster.traffic.errors_per_second) + " 5xx/s &middot; " +
         count(cluster.traffic.requests) + " requests, " + count(cluster.traffic.errors) +
         " 5xx since start";
  if (cluster.connect_failures > 0)
    out += ", " + count(cluster.connect_failures) + " failed connects";
  if (c.outliers)
    out += " &middot; " + count(c.outliers->ejected) + " ejected now, " +
           count(c.outliers->ejections) + " ejections";
  if (c.limits)
    out += " &middot; limits: " + limit_text("connections", c.limits->connections) + ", " +
           limit_text("pending", c.limits->pending) + ", " +
           limit_text("requests", c.limits->requests);
  out +=
      "</p>\n<table>\n<tr><th>endpoint</th><th>state</th><th class=\"n\">weight</th>"
      "<th class=\"n\">in flight</th></tr>\n";
  for (const EndpointView& e : c.endpoints) {
    out += "<tr><td>" + html_escape(e.address) + "</td><td>" +
           badge(endpoint_css(e), endpoint_state(e)) + "</td><td class=\"n\">" + count(e.weight) +
           "</td><td class=\"n\">" +
           (e.in_flight ? std::to_string(*e.in_flight) : std::string("&ndash;")) + "</td></tr>\n";
  }
  out += "</table>\n";
}

void add_routes(std::string& out, const std::vector<StatusPage::Route>& routes) {
  if (routes.empty()) return;
  out +=
      "<h2>Routes <span class=\"muted\">responses since start</span></h2>\n<table>\n"
      "<tr><th>listener</th><th>route</th><th>cluster</th><th class=\"n\">responses</th>"
      "<th class=\"n\">5xx</th></tr>\n";
  for (const auto& r : routes) {
    out += "<tr><td>" + html_escape(r.listener) + "</td><td>" +
           (r.route.empty() ? std::string("<i>no route matched</i>") : html_escape(r.route)) +
           "</td><td>" +
           (r.cluster.empty() ? std::string("<i>sluice</i>") : html_escape(r.cluster)) +
           "</td><td class=\"n\">" + count(r.responses) + "</td><td class=\"n\">" +
           count(r.errors) + "</td></tr>\n";
  }
  out += "</table>\n";
}

void add_rate_limits(std::string& out, const StatusPage& page) {
  if (page.rate_limits.empty()) return;
  out +=
      "<h2>Rate limits</h2>\n<table>\n<tr><th>name</th><th>algorithm</th><th>scope</th>"
      "<th>rate</th><th>key</th><th class=\"n\">admitted</th><th class=\"n\">limited</th>"
      "</tr>\n";
  for (const auto& l : page.rate_limits) {
    out += "<tr><td>" + html_escape(l.name) + "</td><td>" + html_escape(l.algorithm) + "</td><td>" +
           html_escape(l.scope) + "</td><td>" + html_escape(l.rate) + "</td><td>" +
           html_escape(l.key) + "</td><td class=\"n\">" + count(l.admitted) +
           "</td><td class=\"n\">" + count(l.limited) + "</td></tr>\n";
  }
  out += "</table>\n";
}

void add_listeners(std::string& out, const StatusPage& page) {
  out +=
      "<h2>Listeners</h2>\n<table>\n<tr><th>name</th><th>protocol</th><th>address</th>"
      "<th class=\"n\">open connections</th><th class=\"n\">accepted</th></tr>\n";
  for (const auto& l : page.listeners) {
    out += "<tr><td>" + html_escape(l.name) + "</td><td>" + html_escape(l.protocol) +
           (l.tls ? " + TLS" : "") + "</td><td>" + html_escape(l.address) +
           "</td><td class=\"n\">" + std::to_string(l.open) + "</td><td class=\"n\">" +
           count(l.accepted) + "</td></tr>\n";
  }
  out += "</table>\n";
}

}  // namespace

const char* endpoint_state(const EndpointView& e) {
  if (e.ejected) return "ejected";
  if (e.backing_off) return "backing off";
  return "healthy";
}

std::string render_status_page(const StatusPage& page) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"refresh\" content=\"5\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  add_header(out, page);
  add_traffic(out, page);
  out += "<h2>Clusters</h2>\n";
  for (const auto& c : page.clusters) add_cluster(out, c);
  add_routes(out, page.routes);
  add_rate_limits(out, page);
  add_listeners(out, page);
  out += "<footer>A reading taken at " + html_escape(page.process.generated_at) +
         "; this page reloads every 5 s. The same as data: <a href=\"/clusters\">/clusters</a>, "
         "<a href=\"/metrics\">/metrics</a>, <a href=\"/config\">/config</a>.</footer>\n"
         "</body>\n</html>\n";
  return out;
}

}  // namespace sluice::proxy::admin
