// The top level of the file and its small sections: workers, max_connections, buffers,
// drain_timeout, admin, log, redis (rate_limits: parse_rate_limits.cpp).
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "config/includes.hpp"
#include "config/parse_state.hpp"
#include "config/scalars.hpp"

namespace sluice::config {

namespace {

// A section that holds one value may be set in one file only: two files setting `workers` would
// leave the answer to the order they happen to be read in.
std::optional<Field> single(ParseState& state, MapReader& map, std::string_view key) {
  auto field = map.get(key);
  if (!field) return field;
  auto [first, fresh] = state.single_sections.try_emplace(std::string(key), *field);
  if (fresh) return field;
  Reader& r = state.reader;
  r.error(field->key_pos(), field->path + ": already set at " +
                                r.place(first->second.key_pos(), field->key_pos()) +
                                " (only listeners, clusters and rate_limits add up across "
                                "included files)");
  return std::nullopt;
}

}  // namespace

void parse_root(ParseState& state, const Field& root) {
  Reader& r = state.reader;
  const bool main = state.include_chain.size() <= 1;
  if (root.value.IsNull()) {
    if (main)
      r.error(Pos{1, 1, root.source},
              "the config is empty: expected a map with at least 'listeners'");
    return;
  }
  MapReader map(r, root);
  if (!map.valid()) return;
  if (auto f = single(state, map, "workers")) parse_workers(state, *f);
  if (auto f = single(state, map, "drain_timeout"))
    if (auto d = r.duration(*f)) state.config.drain_timeout = *d;
  if (auto f = single(state, map, "max_connections"))
    if (auto n = r.integer(*f, 0, 10'000'000))
      state.config.max_connections = static_cast<uint32_t>(*n);
  if (auto f = single(state, map, "buffers")) parse_buffers(state, *f);
  if (auto f = single(state, map, "admin")) parse_admin(state, *f);
  if (auto f = single(state, map, "log")) parse_log(state, *f);
  if (auto f = map.get("listeners")) {
    state.has_listeners = true;
    parse_listeners(state, *f);
  }
  if (auto f = map.get("clusters")) parse_clusters(state, *f);
  if (auto f = map.get("rate_limits")) parse_rate_limits(state, *f);
  if (auto f = single(state, map, "redis")) parse_redis(state, *f);
  // Last, so that this file's own entries come before those of the files it includes.
  if (auto f = map.get("include")) parse_includes(state, *f);
  // Asked once every file is read: the listeners may all live in included files.
  if (main && !state.has_listeners) r.error(root.pos(), "missing required key 'listeners'");
}

void parse_buffers(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  Config::Buffers& buffers = state.config.buffers;
  if (auto f = map.get("size")) {
    // Bounds: below 1 KiB a read costs more than it carries; a receive buffer's offsets are
    // 32-bit and a whole ring is mapped at once, so 1 MiB is plenty.
    if (auto n = r.size(*f)) {
      if (*n < 1024 || *n > 1024 * 1024)
        r.error(*f, "expected a size between 1KiB and 1MiB, got " + f->value.Scalar());
      else
        buffers.size = static_cast<uint32_t>(*n);
    }
  }
  if (auto f = map.get("count")) {
    // The kernel's buffer ring has a power-of-two size, and buffer ids are 16-bit.
    if (auto n = r.integer(*f, 16, 32768)) {
      if ((*n & (*n - 1)) != 0)
        r.error(*f, "expected a power of two (16, 32, ... 32768), got " + std::to_string(*n));
      else
        buffers.count = static_cast<uint32_t>(*n);
    }
  }
}

void parse_workers(ParseState& state, const Field& field) {
  constexpr int64_t kMaxWorkers = 1024;
  const std::string expected = "expected auto or a number of workers between 1 and 1024, got ";
  if (!field.value.IsScalar()) {
    state.reader.error(field, expected + describe(field.value));
    return;
  }
  if (field.value.Scalar() == "auto") {
    state.config.workers = 0;
    return;
  }
  auto n = parse_integer(field.value.Scalar());
  if (n && field.value.Tag() != "?") {
    state.reader.error(field, expected + "the string " + describe(field.value) +
                                  unquote_hint(field.value.Scalar()));
    return;
  }
  if (!n || *n.value < 1 || *n.value > kMaxWorkers) {
    state.reader.error(field, expected + describe(field.value));
    return;
  }
  state.config.workers = static_cast<unsigned>(*n.value);
}

void parse_admin(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  Admin admin;
  if (auto f = map.get("listen")) {
    if (auto address = r.address(*f)) {
      admin.listen = *address;
      state.listens.push_back({*address, *f, "admin"});
    }
  } else if (map.valid()) {
    // `admin: {}` means "on, where it usually is"; a collision then points at `admin` itself.
    admin.listen = *parse_address(kDefaultAdminListen).value;
    state.listens.push_back({admin.listen, field, "admin"});
  }
  if (auto f = map.get("max_endpoint_series"))
    if (auto n = r.integer(*f, 0, 1'000'000)) admin.max_endpoint_series = static_cast<uint32_t>(*n);
  if (auto f = map.get("allowed_hosts")) {
    for (const auto& item : r.list(*f)) {
      auto text = r.string(item);
      if (!text) continue;
      std::string host = canonical_admin_host(*text);
      if (host.empty())
        r.error(item, "expected a host name or an IP address, without a port, got '" + *text + "'");
      else
        admin.allowed_hosts.push_back(std::move(host));
    }
  }
  state.config.admin = admin;
}

void parse_log(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  if (auto f = map.get("level"))
    if (auto index = r.choice(*f, {"debug", "info", "warn", "error"}))
      state.config.log.level = static_cast<LogLevel>(*index);
  if (auto f = map.get("format"))
    if (auto index = r.choice(*f, {"text", "json"}))
      state.config.log.format = static_cast<Log::Format>(*index);
  if (auto f = map.get("access")) {
    AccessLog& access = state.config.log.access;
    MapReader access_map(r, *f);
    if (auto p = access_map.get("path")) {
      if (auto path = r.string(*p)) {
        if (path->empty()) r.error(*p, "must not be empty (use off to disable the access log)");
        access.path = *path;
      }
    }
    if (auto p = access_map.get("format"))
      if (auto index = r.choice(*p, {"json", "text"}))
        access.format = static_cast<AccessLog::Format>(*index);
    if (auto p = access_map.get("sample")) {
      if (auto sample = r.number(*p)) {
        if (*sample < 0.0 || *sample > 1.0)
          r.error(*p, "must be between 0 and 1, got " + p->value.Scalar());
        else
          access.sample = *sample;
      }
    }
    access.enabled = access.path != "off";
  }
}

namespace {

// The secret of a password_file: at most this much is read, so a path to a log fails instead
// of filling memory.
constexpr off_t kMaxPasswordFile = 64 * 1024;

// Reads `path` into *out, without one trailing newline (`echo pw > file` writes one); "" or why
// not. Regular files only (a Docker or Kubernetes secret, a systemd credential): a FIFO, a
// terminal or /dev/stdin would block --validate and every reload.
std::string read_password_file(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "cannot read " + path + ": " + std::strerror(errno);
  struct stat st {};
  std::string why;
  std::string data;
  if (::fstat(fd, &st) != 0) {
    why = "cannot read " + path + ": " + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = path + " is not a regular file";
  } else if (st.st_size > kMaxPasswordFile) {
    why = path + " is longer than 64 KiB";
  } else {
    data.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    if (done < data.size()) why = "cannot read " + path + ": " + std::strerror(errno);
  }
  ::close(fd);
  if (!why.empty()) return why;
  if (data.ends_with("\n")) data.pop_back();
  if (data.ends_with("\r")) data.pop_back();
  if (data.empty()) return path + " is empty";
  *out = std::move(data);
  return {};
}

// username, password, password_file.
void parse_redis_auth(Reader& r, MapReader& map, Redis& redis) {
  auto non_empty = [&](const Field& f) -> std::optional<std::string> {
    auto text = r.string(f);
    if (text && text->empty()) r.error(f, "must not be empty");
    return text && !text->empty() ? text : std::nullopt;
  };
  auto username = map.get("username");
  auto password = map.get("password");
  auto password_file = map.get("password_file");
  if (username)
    if (auto text = non_empty(*username)) redis.username = *text;
  if (password)
    if (auto text = non_empty(*password)) redis.password = *text;
  if (password_file) {
    if (password) {
      r.error(password_file->key_pos(),
              password_file->path + ": use password or password_file, not both");
    } else if (auto path = non_empty(*password_file)) {
      redis.password_file = *path;
      if (std::string why = read_password_file(*path, &redis.password); !why.empty())
        r.error(*password_file, why);
    }
  }
  if (username && !password && !password_file)
    r.error(username->key_pos(),
            username->path + ": needs password or password_file (AUTH username password)");
}

}  // namespace

std::string canonical_admin_host(std::string_view text) {
  std::string host(text);
  // Brackets hold an IPv6 address (as in a Host header), nothing else.
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  in6_addr v6{};
  in_addr v4{};
  char buffer[INET6_ADDRSTRLEN] = "";
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    return ::inet_ntop(AF_INET6, &v6, buffer, sizeof buffer);
  if (bracketed) return {};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return ::inet_ntop(AF_INET, &v4, buffer, sizeof buffer);
  if (!is_host_name(host, false)) return {};
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

void parse_redis(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  Redis redis;
  if (auto f = map.require("address"))
    if (auto address = r.address(*f)) redis.address = *address;
  if (auto f = map.get("sync_interval"))
    if (auto d = r.duration(*f)) redis.sync_interval = *d;
  if (auto f = map.get("timeout"))
    if (auto d = r.duration(*f)) redis.timeout = *d;
  if (auto f = map.get("on_error"))
    if (auto index = r.choice(*f, {"allow", "deny"}))
      redis.on_error = static_cast<Redis::OnError>(*index);
  parse_redis_auth(r, map, redis);
  if (auto f = map.get("tls")) {
    RedisTls tls;
    MapReader tls_map(r, *f);
    using Key = std::pair<const char*, std::string*>;
    for (auto [key, value] : {Key{"ca_file", &tls.ca_file}, Key{"cert_file", &tls.cert_file},
                              Key{"key_file", &tls.key_file}, Key{"server_name", &tls.server_name}})
      if (auto g = tls_map.get(key))
        if (auto text = r.string(*g)) *value = *text;
    redis.tls = tls;
    // Not on the support table: the reason belongs in the message, and it is a build matter.
    r.error(f->key_pos(), f->path + " is not supported yet: needs hiredis >= 1.0 with SSL");
  }
  state.config.redis = redis;
}

}  // namespace sluice::config
