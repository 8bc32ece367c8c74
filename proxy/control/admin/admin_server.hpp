// The admin listener: a small HTTP/1.1 server for /metrics, /ready, /config, POST /reload ...
// It runs on the control thread with poll(2) and non-blocking sockets, not io_uring: it is the
// slow path, and keeping it off the workers means a scraper or a stuck admin client can never
// delay a proxied request. One request per connection (every response says
// `Connection: close`), which is all scrapers and curl need and keeps the state machine small.
//
// Threads: one thread at a time, the control thread; nothing here is synchronized. Handlers
// run on that thread, inside poll_once(), and hold up the control loop while they run, so
// they must be quick (never wait on workers).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/admin/message.hpp"

namespace sluice::proxy::admin {

using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

struct AdminOptions {
  // From accept to the last byte written. Bounds slowloris clients and stuck readers; a
  // /metrics body of a few hundred KiB needs far less on any network an admin port sits on.
  std::chrono::milliseconds deadline{5000};
  size_t max_connections = 64;  // beyond this the oldest connection still reading is dropped
  size_t header_limit = 8 * 1024;
  size_t body_limit = 64 * 1024;
};

class AdminServer {
 public:
  explicit AdminServer(AdminOptions options = {});
  ~AdminServer();  // closes the listener and every connection
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens; "" or why not. When already open, the new socket replaces the old one
  // only once it is bound, so a failed rebind keeps the admin reachable where it was.
  std::string open(const config::Address& listen);
  // Stops listening; connections already accepted are still served.
  void close();
  bool is_open() const { return listen_fd_ >= 0; }
  // The bound port (useful with port 0), or 0 when not open.
  uint16_t port() const { return port_; }

  // Serves `method` on `path` (exact match). GET handlers also answer HEAD. Unknown paths get
  // 404; a known path with another method gets 405 with Allow. Later registrations of the
  // same method and path replace earlier ones.
  void route(std::string method, std::string path, AdminHandler handler);

  // Waits up to `timeout` for the listener, its connections and `extra_fd` (-1: none; the
  // caller passes its signalfd), serves whatever is ready, and returns whether `extra_fd` is
  // readable. Returns early on any activity or connection deadline. Without a listener it
  // still waits on `extra_fd`, so one control loop works with and without an admin section.
  bool poll_once(std::chrono::milliseconds timeout, int extra_fd = -1);

  // Open client connections (reading, writing or lingering), for tests and metrics.
  size_t connection_count() const { return connections_.size(); }

 private:
  struct Connection;
  struct Route {
    std::string method, path;
    AdminHandler handler;
  };

  void accept_all();
  void make_room();
  void on_readable(Connection& c);
  void on_writable(Connection& c);
  void respond(Connection& c, const AdminResponse& response, bool head);
  AdminResponse dispatch(const AdminRequest& request);

  AdminOptions options_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<Route> routes_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace sluice::proxy::admin
