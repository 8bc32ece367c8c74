// The admin listener: a small HTTP/1.1 server for /metrics, /ready, /config, POST /reload ...
// It runs on the control thread's ControlLoop with non-blocking sockets, not io_uring: it is
// the slow path, and keeping it off the workers means a scraper or a stuck admin client can
// never delay a proxied request. One request per connection (every response says
// `Connection: close`), which is all scrapers and curl need and keeps the state machine small.
//
// Threads: the loop's thread only; nothing here is synchronized. Handlers run on that thread
// and hold up the whole control loop while they run, so they must be quick: work that waits
// on something (workers adopting a config) goes through route_async and replies later.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/admin/admin_guard.hpp"
#include "proxy/control/admin/message.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::admin {

using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;
// Sends the response of one request. Loop thread only; may be copied and kept. Only the first
// call counts, and a call after the client or the server went away does nothing.
using AdminReply = std::function<void(AdminResponse)>;
// Answers by calling the reply, at once or later. It should reply eventually: until it does,
// the connection holds one of max_connections and no deadline ends it.
using AdminAsyncHandler = std::function<void(const AdminRequest&, AdminReply)>;

struct AdminOptions {
  // From accept to the last byte written. Bounds slowloris clients and stuck readers; a
  // /metrics body of a few hundred KiB needs far less on any network an admin port sits on.
  // An asynchronous reply stops the clock while it is pending and gets a fresh one for its
  // write.
  std::chrono::milliseconds deadline{5000};
  size_t max_connections = 64;  // beyond this the oldest connection still reading is dropped
  size_t header_limit = 8 * 1024;
  size_t body_limit = 64 * 1024;
};

class AdminServer {
 public:
  // `loop` must outlive the server.
  explicit AdminServer(control::ControlLoop& loop, AdminOptions options = {});
  ~AdminServer();  // closes the listener and every connection; pending replies become no-ops
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds, listens and registers with the loop; "" or why not. When already open, the new
  // socket replaces the old one only once it is bound, so a failed rebind keeps the admin
  // reachable where it was.
  std::string open(const config::Address& listen);
  // Stops listening; connections already accepted are still served.
  void close();
  bool is_open() const { return listen_fd_ >= 0; }
  // The bound port (useful with port 0), or 0 when not open.
  uint16_t port() const { return port_; }

  // Serves `method` on `path` (exact match). GET handlers also answer HEAD. Unknown paths get
  // 404; a known path with another method gets 405 with Allow. Later registrations of the
  // same method and path replace earlier ones. A handler that throws answers 500.
  // Before any of that, admin_guard.hpp's checks: a request with a foreign Host or Origin is
  // refused whatever its path, one for any method but GET and HEAD without X-Sluice-Admin once
  // it found its route.
  void route(std::string method, std::string path, AdminHandler handler);
  void route_async(std::string method, std::string path, AdminAsyncHandler handler);

  // Names the listener answers to besides its address (admin.allowed_hosts, canonical). Asked
  // on every request, so a reload that changes them applies at once.
  void allow_hosts(std::function<std::vector<std::string>()> hosts) {
    allowed_hosts_ = std::move(hosts);
  }

  // Open client connections (reading, awaiting a reply, writing or lingering), for tests and
  // metrics.
  size_t connection_count() const { return connections_.size(); }

 private:
  struct Connection;
  struct Route {
    std::string method, path;
    AdminAsyncHandler handler;
  };

  void accept_all();
  void add_connection(int fd);
  void make_room();
  void on_event(uint64_t id, uint32_t events);
  void on_readable(Connection& c);
  void on_writable(Connection& c);
  void handle(Connection& c, const AdminRequest& request);
  void reply(uint64_t id, AdminResponse response);
  void respond(Connection& c, const AdminResponse& response);
  void settle(Connection& c);
  void remove(uint64_t id);
  const Route* find_route(const AdminRequest& request, AdminResponse* error) const;

  control::ControlLoop& loop_;
  AdminOptions options_;
  int listen_fd_ = -1;
  control::ControlLoop::TimerId accept_retry_ = 0;  // the listener rests (out of descriptors)
  uint16_t port_ = 0;
  AdminListen listen_;  // what Host and Origin must name (admin_guard.hpp)
  std::function<std::vector<std::string>()> allowed_hosts_;
  std::vector<Route> routes_;
  uint64_t next_id_ = 1;
  // By id, which only grows: the first reading one is the oldest (make_room), and a reply
  // finds its connection, or learns it is gone, without holding a pointer.
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  // Replies hold a weak_ptr to this: once the server is destroyed they cannot reach it.
  std::shared_ptr<AdminServer*> self_;
};

}  // namespace sluice::proxy::admin
