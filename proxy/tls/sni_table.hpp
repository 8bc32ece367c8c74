// Which certificate serves a server name: exact names first, then "*.suffix" wildcards, which
// match exactly one more label (RFC 6125: *.example.com matches a.example.com, not
// example.com nor a.b.example.com). Names compare case-insensitively. Built on the control
// thread, then read by any worker (immutable).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice::proxy::tls {

class SniTable {
 public:
  // `name` as configured ("example.com" or "*.example.com"); the first entry for a name wins.
  void add(std::string_view name, size_t certificate);
  // The certificate for `server_name`, or nullopt when none serves it.
  std::optional<size_t> find(std::string_view server_name) const;
  bool empty() const { return exact_.empty() && wildcard_.empty(); }

 private:
  std::unordered_map<std::string, size_t> exact_;
  std::unordered_map<std::string, size_t> wildcard_;  // keyed by the suffix after "*."
};

}  // namespace sluice::proxy::tls
