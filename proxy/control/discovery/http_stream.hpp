// One HTTP/1.1 request to an IP:port on the control loop, for the discovery sources that talk
// HTTP (etcd's JSON gateway, Consul's health API): a non-blocking connect, the request, and
// the response parsed as it arrives by Beast's response_parser, its body handed on piece by
// piece (etcd's watch is one endless chunked response carrying a JSON object per line). Not a
// client library: no redirects, no keep-alive reuse, no TLS; a connection carries one request.
// Control thread only. Handlers may call start() or close() on this stream (a handler's
// stream is not used again after the handler returns); they must not destroy it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";  // path and query
  std::string host;          // the Host header; the address's text when empty
  std::string body;          // sent with `content_type` when not empty
  std::string content_type = "application/json";
  // Connect, send and receive the response's head within this; then `complete_within` (from
  // the start) for the whole response, or no limit when zero (a watch: its owner has a
  // watchdog).
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds complete_within{0};
};

struct HttpHead {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  // The first field named `name` (case-insensitive); empty when absent.
  std::string field(std::string_view name) const;
};

struct HttpHandlers {
  std::function<void(const HttpHead&)> head;
  std::function<void(std::string_view)> body;  // each piece of the body, as it arrives
  std::function<void()> done;                  // the whole response arrived; connection closed
  // Connect refused, reset, timeout, a malformed response, EOF before its end. The
  // connection is closed when it runs. `why` is one line for people.
  std::function<void(std::string)> error;
};

class HttpStream {
 public:
  explicit HttpStream(control::ControlLoop& loop);
  ~HttpStream();
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  // Closes any request in flight (without calling its handlers) and starts this one. Every
  // outcome, even an immediate failure, reaches a handler later, never from inside start().
  void start(const config::Address& to, HttpRequest request, HttpHandlers handlers);
  // Drops the connection; no handler of the current request runs afterwards.
  void close();
  bool active() const { return fd_ >= 0 || failing_ != 0; }

 private:
  struct Parser;  // Beast's parser, kept out of this header

  void on_events(uint32_t events);
  void send_some();
  void receive();
  // Feeds `in_` to the parser; false when the stream ended (done, error or closed by a handler).
  bool feed();
  void finish();
  void fail(std::string why);
  void fail_later(std::string why);  // an error found inside start(): reported from the loop
  // Arms a timer that fails the request with `why`; its id goes to `slot`.
  void arm_timer(control::ControlLoop::TimerId& slot, std::chrono::milliseconds after,
                 std::string why);

  control::ControlLoop& loop_;
  int fd_ = -1;
  uint64_t generation_ = 0;  // bumped by start/close: a handler's caller notices and stops
  bool connected_ = false;
  bool head_seen_ = false;
  std::string peer_;  // "127.0.0.1:2379", for error messages
  HttpRequest request_;
  HttpHandlers handlers_;
  std::string out_;  // request bytes not yet sent
  size_t sent_ = 0;
  std::string in_;  // received bytes the parser has not consumed
  std::unique_ptr<Parser> parser_;
  control::ControlLoop::TimerId head_timer_ = 0;
  control::ControlLoop::TimerId whole_timer_ = 0;
  control::ControlLoop::TimerId failing_ = 0;
};

}  // namespace sluice::proxy::discovery
