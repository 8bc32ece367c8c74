#include "tests/tls/nginx_tls_upstream.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/socket.hpp"

namespace sluice::testing {
namespace {

bool accepts(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

NginxTlsUpstream::NginxTlsUpstream(const std::string& dir, const CertFiles& cert,
                                   const NginxTlsOptions& options)
    : port_(free_loopback_port()), dir_(dir) {
  const std::string conf = dir + "/nginx-" + std::to_string(port_) + ".conf";
  std::ofstream out(conf);
  // One process, in the foreground, every path in the test's directory.
  out << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
      << "pid " << dir << "/nginx-" << port_ << ".pid;\n"
      << "error_log " << dir << "/nginx-" << port_ << ".log info;\n"
      << "events { worker_connections 512; }\n"
      << "http {\n  access_log off;\n"
      << "  client_body_temp_path " << dir << ";\n  proxy_temp_path " << dir << ";\n"
      << "  fastcgi_temp_path " << dir << ";\n  uwsgi_temp_path " << dir << ";\n"
      << "  scgi_temp_path " << dir << ";\n"
      << "  server {\n    listen 127.0.0.1:" << port_ << " ssl"
      << (options.proxy_protocol ? " proxy_protocol" : "") << ";\n"
      << "    ssl_certificate " << cert.cert << ";\n    ssl_certificate_key " << cert.key << ";\n"
      << "    ssl_protocols " << options.protocols << ";\n"
      << "    keepalive_requests 100000;\n    keepalive_timeout 60s;\n";
  if (!options.client_ca.empty())
    out << "    ssl_verify_client on;\n    ssl_client_certificate " << options.client_ca << ";\n";
  out << "    location = /big { alias " << big_path() << "; }\n";
  out << "    location / {\n      default_type text/plain;\n"
      << "      return 200 \"conn=$connection reused=$ssl_session_reused sni=$ssl_server_name "
         "alpn=$ssl_alpn_protocol proto=$ssl_protocol client=$ssl_client_s_dn "
         "proxied=$proxy_protocol_addr\\n\";\n    }\n  }\n}\n";
  out.close();
  std::ofstream big(big_path(), std::ios::binary);
  big << big_body();
  process_.emplace(Process::spawn({"/usr/sbin/nginx", "-c", conf, "-e", dir + "/nginx-stderr.log"},
                                  dir, "nginx-" + std::to_string(port_)));
  for (int i = 0; i < 200; ++i) {
    if (accepts(port_)) return;
    if (!process_->running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  throw std::runtime_error("nginx did not come up: " + process_->describe());
}

NginxTlsUpstream::~NginxTlsUpstream() {
  if (process_) process_->stop(std::chrono::seconds(5));
}

std::string NginxTlsUpstream::big_body() {
  std::string body;
  for (int i = 0; body.size() < 300'000; ++i)
    body += "line " + std::to_string(i) + " of a big body\n";
  return body;
}

std::map<std::string, std::string> upstream_view(const std::string& body) {
  std::map<std::string, std::string> view;
  std::istringstream words(body);
  std::string word;
  while (words >> word) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos) continue;
    std::string value = word.substr(eq + 1);
    if (value == "-") value.clear();
    view[word.substr(0, eq)] = value;
  }
  return view;
}

}  // namespace sluice::testing
