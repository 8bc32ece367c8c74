// What the worker and the protocols (l4/, l7/) agree on. A listener's
// SessionFactory (chosen when the snapshot is built) turns each accepted socket
// into a Session; the worker drives sessions only through this interface, and
// a session reaches the worker only through its SessionHost (its listener in
// one generation on one worker), never the Worker itself. Worker thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "balancers/balancer.hpp"
#include "config/config.hpp"
#include "proxy/access_log/ring.hpp"
#include "proxy/core/loop.hpp"
#include "proxy/metrics/counters.hpp"
#include "proxy/stream/stream.hpp"
#include "proxy/upstream/cluster.hpp"
#include "proxy/upstream/pool.hpp"

namespace sluice::proxy {

class Session;
class SessionFactory;

class SessionHost {
 public:
  virtual Loop& loop() = 0;
  virtual unsigned worker_index() const = 0;
  virtual const config::Listener& listener() const = 0;
  virtual const SessionFactory& factory() const = 0;
  // The deadline list for the listener's idle timeout.
  virtual TimerList& idle_timers() = 0;
  // This worker's slot of the listener's counters.
  virtual metrics::ListenerCounters& counters() = 0;
  // Keep-alive connections and balancer state of this generation.
  virtual UpstreamPool& pool() = 0;
  virtual balancers::CoreState& core(const ClusterRuntime& cluster) = 0;
  // Whether the access log is on at all (a session saves what only its start knows).
  virtual bool logging() const = 0;
  // The ring to log this request or connection to; null when the log is off
  // or the sample skips it.
  virtual access_log::RecordRing* access_log() = 0;
  // A reload made a newer generation the running one.
  virtual bool outdated() const = 0;
  // Moves `session` (between requests) to the running generation's listener
  // on the same address and protocol, like a new connection; returns that
  // host, or null when the reload removed the listener (the session stays).
  virtual SessionHost* follow_reload(Session& session) = 0;
  // The session is done: the host frees it. Call only from a completion or a
  // posted task of the session, as its last act.
  virtual void session_ended(Session& session) = 0;
  // `next` (made by a factory for this host, not started) takes over the connection of
  // `session` (a prelude that has done its part): the host tracks `next` in its place and
  // frees `session`. Same rules as session_ended; the caller then starts `next`.
  virtual void session_replaced(Session& session, Session& next) = 0;
  // The listener's transport (TLS), when it has one, begins on `stream`: at accept, or once a
  // prelude (a PROXY header) has read what precedes it, in which case the bytes still in
  // `stream.in` are the transport's first. Returns 0, or -errno when those bytes already break
  // its protocol (the caller closes the connection).
  virtual int start_transport(Stream& stream) = 0;

 protected:
  ~SessionHost() = default;
};

class Session {
 public:
  virtual ~Session() = default;
  virtual void start() = 0;
  // Closes the connection now; the session ends (session_ended) once the
  // kernel has returned all its operations.
  virtual void abort() = 0;
  // The worker is stopping: finish what is in flight, take nothing new, then
  // close. What is still open at the drain deadline is aborted.
  virtual void drain() = 0;
  // abort(), and the access log records `reason` (a token such as "drain-timeout") as the
  // error of the request or relay it cut, unless it already had one.
  virtual void cut(std::string_view reason) { abort(); }
  // The endpoint a long-lived relay of this session runs to (a TCP relay, an upgraded HTTP
  // connection), or null: the worker cuts the session once that endpoint has been out of
  // the published endpoint lists for longer than drain_timeout.
  virtual const EndpointState* relay_endpoint() const { return nullptr; }

  // The worker's bookkeeping.
  SessionHost* host = nullptr;
  size_t live_index = 0;
};

class SessionFactory {
 public:
  virtual ~SessionFactory() = default;
  // Accept-time admission (a TCP listener's connection rate limit); false
  // closes the socket unanswered. `facts`: what a prelude learned of the client (its PROXY
  // header's address), null when the worker asks at accept.
  virtual bool admit(int fd, const ClientFacts* facts, SessionHost& host) const { return true; }
  // A session for an accepted connection; the worker starts it.
  virtual Session* create(SessionHost& host, std::unique_ptr<Stream> client) const = 0;
};

}  // namespace sluice::proxy
