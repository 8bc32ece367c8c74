// Test helper: a throwaway redis-server on a free loopback port, started and stopped by the test.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sluice::limiter::testing {

struct RedisServerOptions {
  // More redis-server arguments: {"--requirepass", "pw"}, or an ACL user:
  // {"--user", "sluice", "on", ">pw", "~*", "+@all"}.
  std::vector<std::string> args;
  // What the readiness probe authenticates with (AUTH [username] password), when set.
  std::string username = {};
  std::string password = {};
};

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});  // picks a free port and starts
  ~RedisServer();
  bool start();   // (re)start on the same port; waits until it answers PING
  void kill();    // SIGKILL and reap: simulates a crash
  void pause();   // SIGSTOP: alive and connected, but reads and answers nothing
  void resume();  // SIGCONT
  int port() const { return port_; }
  bool running() const { return pid_ > 0; }

 private:
  RedisServerOptions options_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sluice::limiter::testing
