#include "redis_server.hpp"

#include "tests/support/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>

namespace sluice::limiter::testing {
namespace {

// hiredis writes with plain send(): writing to a Redis that just died would raise SIGPIPE. The
// proxy ignores SIGPIPE process-wide; these tests do the same.
[[maybe_unused]] const bool kSigpipeIgnored = (::signal(SIGPIPE, SIG_IGN), true);

bool pings(int port, const RedisServerOptions& options) {
  timeval tv{0, 100000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  bool ok = false;
  if (c != nullptr && c->err == 0 && !options.password.empty()) {
    auto* r = static_cast<redisReply*>(
        options.username.empty()
            ? redisCommand(c, "AUTH %s", options.password.c_str())
            : redisCommand(c, "AUTH %s %s", options.username.c_str(), options.password.c_str()));
    if (r != nullptr) freeReplyObject(r);
  }
  if (c != nullptr && c->err == 0) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = r != nullptr && r->type == REDIS_REPLY_STATUS;
    if (r != nullptr) freeReplyObject(r);
  }
  if (c != nullptr) redisFree(c);
  return ok;
}

}  // namespace

RedisServer::RedisServer(RedisServerOptions options)
    : options_(std::move(options)), port_(sluice::testing::free_loopback_port()) {
  start();
}

RedisServer::~RedisServer() {
  kill();
}

bool RedisServer::start() {
  if (pid_ > 0) return true;
  const std::string port = std::to_string(port_);
  std::vector<std::string> args = {"redis-server", "--port",     port,     "--bind",
                                   "127.0.0.1",    "--save",     "",       "--appendonly",
                                   "no",           "--loglevel", "warning"};
  args.insert(args.end(), options_.args.begin(), options_.args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    // Keep the test output readable: the server's banner and warnings go nowhere.
    int null_fd = ::open("/dev/null", O_WRONLY);
    if (null_fd >= 0) {
      ::dup2(null_fd, STDOUT_FILENO);
      ::dup2(null_fd, STDERR_FILENO);
    }
    ::execvp("redis-server", argv.data());
    ::_exit(127);
  }
  // Starting a real server is the one place these tests wait on the wall clock.
  for (int i = 0; i < 200; ++i) {
    if (pings(port_, options_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void RedisServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void RedisServer::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisServer::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

}  // namespace sluice::limiter::testing
