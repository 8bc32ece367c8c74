// The TLS contexts of every listener across snapshots, keyed by listener name. A snapshot is
// built often (every discovery or health change), so contexts are rebuilt only when the
// listener's tls section or one of its files changed (inode, size or mtime: a rename, a
// symlink swap or an in-place write). A listener's ticket keys live here too, so resumption
// survives reloads and certificate changes. A rebuild that fails keeps the previous contexts
// when the section is the same (a certificate file was replaced by a bad one) and logs why;
// with nothing to keep, the snapshot fails (a reload is refused, a start stops).
// Control thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/tls/listener_tls.hpp"
#include "proxy/tls/ticket_keys.hpp"

namespace sluice::proxy::tls {

class ContextStore {
 public:
  // `listener`'s contexts (its tls must be set), or null with `error` ("file:line:col: ...").
  std::shared_ptr<const ListenerTls> contexts(const config::Listener& listener, std::string& error);
  // Whether a file some TLS listener of `config` reads changed since its contexts were built.
  bool files_changed(const config::Config& config) const;
  // Every certificate, key and CA file `config`'s listeners read.
  static std::vector<std::string> files(const config::Config& config);
  // Forgets listeners `config` no longer has (their ticket keys go with them).
  void prune(const config::Config& config);

 private:
  struct Entry {
    std::string section;      // the tls section as built
    std::string fingerprint;  // its files as they were then
    std::shared_ptr<const ListenerTls> current;
    std::shared_ptr<TicketKeys> keys;
  };
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace sluice::proxy::tls
