// One route's header rules for one direction, its listener's and its own folded together when
// the snapshot is built: which received fields are not passed on, and the lines sluice adds.
// A worker only renders the value templates. Built on the control thread; read by workers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace sluice::proxy::rules {

// What the variables of a value template stand for in one exchange. Empty views render as
// nothing (the tls_* ones for plaintext).
struct TemplateContext {
  std::string_view client_ip, request_id, host;
  std::string_view tls_sni, tls_version, tls_cipher, tls_alpn, tls_client_subject;
};

// Appends `value` rendered; bytes a field value cannot hold (CR, LF, NUL, other controls)
// that a variable brought in are left out, so no variable can split a header.
void render(const config::ValueTemplate& value, const TemplateContext& context, std::string& out);

class HeaderPlan {
 public:
  HeaderPlan() = default;
  // `first` (the listener's) apply before `then` (the route's). A remove or set drops the
  // received fields of that name and any line an earlier rule added; an add appends.
  HeaderPlan(const std::vector<config::HeaderRule>& first,
             const std::vector<config::HeaderRule>& then);

  bool empty() const { return drop_.empty() && lines_.empty(); }
  // Lower-case names of received fields that are not passed on.
  const std::vector<std::string>& drop() const { return drop_; }
  // Appends "Name: value\r\n" for every line the rules add.
  void render_lines(const TemplateContext& context, std::string& out) const;

 private:
  void apply(const config::HeaderRule& rule);

  struct Line {
    std::string name;
    const config::ValueTemplate* value;  // into the config, which outlives the snapshot
  };
  std::vector<std::string> drop_;
  std::vector<Line> lines_;
};

}  // namespace sluice::proxy::rules
