#include "proxy/tls/context_store.hpp"

#include <sys/stat.h>

#include "proxy/core/log.hpp"

namespace sluice::proxy::tls {
namespace {

std::vector<std::string> files_of(const config::Tls& tls) {
  std::vector<std::string> out;
  for (const auto& c : tls.certificates) {
    out.push_back(c.cert_path);
    out.push_back(c.key_path);
  }
  if (tls.client_certificates) out.push_back(tls.client_certificates->ca_path);
  return out;
}

// Everything of the section a context depends on, as one comparable string.
std::string section_of(const config::Tls& tls) {
  std::string key;
  for (const auto& c : tls.certificates) {
    key += c.cert_path + '\n' + c.key_path + '\n';
    for (const auto& name : c.sni) key += name + ',';
    key += '\n';
  }
  for (const auto& name : tls.alpn) key += name + ',';
  key += '\n' + std::to_string(tls.strict_sni) + std::to_string(static_cast<int>(tls.min_version)) +
         std::to_string(tls.session_tickets) + ' ' + std::to_string(tls.handshake_timeout.count()) +
         ' ' + std::to_string(tls.ticket_key_rotation.count()) + '\n';
  if (const auto& c = tls.client_certificates)
    key += c->ca_path + '\n' + std::to_string(c->required) + c->subject_header;
  return key;
}

std::vector<std::string> files_of(const config::UpstreamTls& tls) {
  std::vector<std::string> out;
  if (!tls.ca_path.empty()) out.push_back(tls.ca_path);
  if (const auto& c = tls.client_certificate) {
    out.push_back(c->cert_path);
    out.push_back(c->key_path);
  }
  return out;
}

std::string section_of(const config::UpstreamTls& tls) {
  std::string key =
      tls.sni + '\n' + tls.verify_name + '\n' + std::to_string(tls.verify) + tls.ca_path + '\n';
  if (const auto& c = tls.client_certificate) key += c->cert_path + '\n' + c->key_path + '\n';
  for (const auto& name : tls.alpn) key += name + ',';
  return key + '\n' + std::to_string(static_cast<int>(tls.min_version)) +
         std::to_string(tls.session_reuse);
}

template <typename Section>
std::string fingerprint_of(const Section& tls) {
  std::string out;
  for (const std::string& path : files_of(tls)) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      out += "-\n";
      continue;
    }
    out += std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) + ':' +
           std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec) + '.' +
           std::to_string(st.st_mtim.tv_nsec) + '\n';
  }
  return out;
}

// Keeps `entry.current` while its section and files are unchanged, else builds anew with
// `build(Diagnostic&)`. A failed build keeps the previous contexts when only files changed
// (and remembers the bad files, so they are not retried and logged at every snapshot); with
// nothing to keep it fails with `error`.
template <typename Built, typename Build>
std::shared_ptr<const Built> refresh(ContextStore::Kept<Built>& entry, const std::string& section,
                                     const std::string& fingerprint, Build&& build,
                                     const char* kind, const std::string& name,
                                     std::string& error) {
  if (entry.current && entry.section == section && entry.fingerprint == fingerprint)
    return entry.current;
  config::Diagnostic failed;
  std::shared_ptr<const Built> built = build(failed);
  const bool files_only = entry.current && entry.section == section;
  if (!built) {
    if (!files_only) {
      error = failed.to_string();
      return nullptr;
    }
    entry.fingerprint = fingerprint;
    LOG_ERROR(
        "%s %s: the changed TLS files were not loaded, the previous certificates keep "
        "serving: %s",
        kind, name.c_str(), failed.to_string().c_str());
    return entry.current;
  }
  if (files_only) LOG_INFO("%s %s: TLS files changed, certificates reloaded", kind, name.c_str());
  entry.section = section;
  entry.fingerprint = fingerprint;
  entry.current = std::move(built);
  return entry.current;
}

}  // namespace

std::shared_ptr<const ListenerTls> ContextStore::contexts(const config::Listener& listener,
                                                          std::string& error) {
  const config::Tls& tls = *listener.tls;
  ListenerEntry& entry = entries_[listener.name];
  auto build = [&](config::Diagnostic& failed) {
    if (!entry.keys)
      entry.keys = std::make_shared<TicketKeys>(tls.ticket_key_rotation);
    else
      entry.keys->set_rotation(tls.ticket_key_rotation);
    return ListenerTls::build(tls, entry.keys, failed);
  };
  return refresh(entry, section_of(tls), fingerprint_of(tls), build, "listener", listener.name,
                 error);
}

std::shared_ptr<const ClusterTls> ContextStore::contexts(const config::Cluster& cluster,
                                                         std::string& error) {
  const config::UpstreamTls& tls = *cluster.tls;
  return refresh(
      clusters_[cluster.name], section_of(tls), fingerprint_of(tls),
      [&](config::Diagnostic& failed) { return ClusterTls::build(cluster.name, tls, failed); },
      "cluster", cluster.name, error);
}

bool ContextStore::files_changed(const config::Config& config) const {
  for (const auto& l : config.listeners) {
    if (!l.tls) continue;
    auto it = entries_.find(l.name);
    if (it == entries_.end() || it->second.fingerprint != fingerprint_of(*l.tls)) return true;
  }
  for (const auto& c : config.clusters) {
    if (!c.tls) continue;
    auto it = clusters_.find(c.name);
    if (it == clusters_.end() || it->second.fingerprint != fingerprint_of(*c.tls)) return true;
  }
  return false;
}

std::vector<std::string> ContextStore::files(const config::Config& config) {
  std::vector<std::string> out;
  for (const auto& l : config.listeners)
    if (l.tls)
      for (std::string& f : files_of(*l.tls)) out.push_back(std::move(f));
  for (const auto& c : config.clusters)
    if (c.tls)
      for (std::string& f : files_of(*c.tls)) out.push_back(std::move(f));
  return out;
}

void ContextStore::prune(const config::Config& config) {
  std::erase_if(entries_, [&](const auto& entry) {
    for (const auto& l : config.listeners)
      if (l.tls && l.name == entry.first) return false;
    return true;
  });
  std::erase_if(clusters_, [&](const auto& entry) {
    for (const auto& c : config.clusters)
      if (c.tls && c.name == entry.first) return false;
    return true;
  });
}

}  // namespace sluice::proxy::tls
