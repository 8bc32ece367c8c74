// What HttpSession tells the metrics and the access log about each exchange
// (one request and its response). Counters are this worker's own slots; the
// access log record is pushed to this worker's ring, never waited on.
#include "proxy/l7/http_session.hpp"
#include "proxy/worker/worker.hpp"

namespace sluice::proxy {

metrics::ClusterCounters* HttpSession::cluster_counters() {
  return cluster_ != nullptr ? &cluster_->stats->per_worker.at(worker_.index()) : nullptr;
}

void HttpSession::follow_reload() {
  WorkerListener* next = worker_.running_listener(*listener_);
  if (next == nullptr) {
    listener_removed_ = true;  // this request is the connection's last
    return;
  }
  worker_.move_session(this, *next);
  listener_ = next;
}

void HttpSession::begin_exchange() {
  if (generation != worker_.running_generation() && !listener_removed_) follow_reload();
  exchange_ = Exchange{};
  exchange_.active = true;
  exchange_.start_ns = Worker::now_ns();
  // Bytes taken off the client's queue from here on are this request's.
  exchange_.in_mark = client_in_.pushed_total() - client_in_.queued_bytes();
  exchange_.out_mark = client_out_.pushed_total();
  route_ = nullptr;
  cluster_ = nullptr;
  request_id_.clear();
}

void HttpSession::note_response(int status, std::string_view error) {
  exchange_.status = status;
  exchange_.error = error;
  const ListenerRuntime& listener = listener_->runtime;
  metrics::RouteStats* stats = listener.unrouted_stats.get();
  if (route_ != nullptr)
    stats =
        listener.route_stats[static_cast<size_t>(route_ - listener.config->routes.data())].get();
  if (stats != nullptr)
    stats->per_worker.at(worker_.index()).responses[metrics::code_class_index(status)].add();
}

void HttpSession::note_dispatch(bool retry) {
  dispatched_ns_ = Worker::now_ns();
  exchange_.dispatched = true;
  metrics::ClusterCounters& c = *cluster_counters();
  c.requests.add();
  if (retry) c.retries.add();
}

void HttpSession::note_upstream_head(int status, int64_t now_ns) {
  const int64_t took = now_ns - dispatched_ns_;
  exchange_.upstream_ns = took;
  metrics::ClusterCounters& c = *cluster_counters();
  c.responses[metrics::code_class_index(status)].add();
  c.duration.observe_ns(took);
}

void HttpSession::end_exchange() {
  if (!exchange_.active) return;
  exchange_.active = false;
  access_log::RecordRing* ring = worker_.access_log_sample(*generation);
  if (ring == nullptr) return;
  const int64_t now = Worker::now_ns();
  access_log::AccessRecord r;
  r.kind = access_log::Kind::http;
  r.duration_ns = now - exchange_.start_ns;
  r.start_unix_ns = Worker::unix_now_ns() - r.duration_ns;
  r.upstream_duration_ns = exchange_.upstream_ns;
  r.bytes_received = client_in_.pushed_total() - client_in_.queued_bytes() - exchange_.in_mark;
  r.bytes_sent = client_out_.pushed_total() - exchange_.out_mark;
  r.status = exchange_.status;
  r.rate_limit = exchange_.limit;
  r.breaker = exchange_.breaker;
  access_log::set(r.client, client_address_);
  access_log::set(r.listener, listener_->runtime.config->name);
  access_log::set(r.route, route_ != nullptr ? std::string_view(route_->name) : "");
  access_log::set(r.cluster, cluster_ != nullptr ? std::string_view(cluster_->config->name) : "");
  access_log::set(r.endpoint,
                  exchange_.dispatched
                      ? std::string_view(cluster_->config->endpoints[endpoint_].address.text)
                      : "");
  const http::Head* head = exchange_.has_head ? &request_parser_.head() : nullptr;
  access_log::set(r.method, head != nullptr ? head->method : "");
  access_log::set(r.path, head != nullptr ? head->target : "");
  access_log::set(r.request_id, request_id_);
  access_log::set(r.error, exchange_.error);
  ring->try_push(r);
}

}  // namespace sluice::proxy
