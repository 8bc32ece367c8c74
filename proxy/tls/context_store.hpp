// The TLS contexts of every listener and every cluster with tls across snapshots, keyed by
// name. A snapshot is built often (every discovery or health change), so contexts are rebuilt
// only when the tls section or one of its files changed (inode, size or mtime: a rename, a
// symlink swap or an in-place write). A listener's ticket keys live here too, so resumption
// survives reloads and certificate changes; so do a cluster's sessions with its endpoints. A
// rebuild that fails keeps the previous contexts when the section is the same (a certificate file
// was replaced by a bad one) and logs why; with nothing to keep, the snapshot fails (a reload is
// refused, a start stops). Control thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/tls/cluster_tls.hpp"
#include "proxy/tls/listener_tls.hpp"
#include "proxy/tls/ticket_keys.hpp"

namespace sluice::proxy::tls {

class ContextStore {
 public:
  // `listener`'s contexts (its tls must be set), or null with `error` ("file:line:col: ...").
  std::shared_ptr<const ListenerTls> contexts(const config::Listener& listener, std::string& error);
  // `cluster`'s client context (its tls must be set), the same way.
  std::shared_ptr<const ClusterTls> contexts(const config::Cluster& cluster, std::string& error);
  // Whether a file some TLS listener or cluster of `config` reads changed since its contexts
  // were built.
  bool files_changed(const config::Config& config) const;
  // Every certificate, key and CA file `config`'s listeners and clusters read.
  static std::vector<std::string> files(const config::Config& config);
  // Forgets listeners and clusters `config` no longer has (their ticket keys and sessions go
  // with them).
  void prune(const config::Config& config);

  // What was built for one listener or cluster, and from what.
  template <typename Built>
  struct Kept {
    std::string section;      // the tls section as built
    std::string fingerprint;  // its files as they were then
    std::shared_ptr<const Built> current;
  };

 private:
  struct ListenerEntry : Kept<ListenerTls> {
    std::shared_ptr<TicketKeys> keys;
  };
  std::map<std::string, ListenerEntry, std::less<>> entries_;
  std::map<std::string, Kept<ClusterTls>, std::less<>> clusters_;
};

}  // namespace sluice::proxy::tls
