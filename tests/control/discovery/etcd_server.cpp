#include "tests/control/discovery/etcd_server.hpp"

#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "proxy/control/discovery/etcd_codec.hpp"
#include "tests/control/discovery/blocking_http.hpp"
#include "tests/support/socket.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;
using proxy::discovery::etcd::base64_encode;

int64_t revision_of(const std::string& answer) {
  const json::value v = json::parse(answer);
  return std::stoll(std::string(v.at("header").at("revision").as_string()));
}

}  // namespace

EtcdServer::EtcdServer(const TempDir& dir) : dir_(dir) {
  client_port_ = free_loopback_port();
  do peer_port_ = free_loopback_port();
  while (peer_port_ == client_port_);
  start();
}

EtcdServer::~EtcdServer() {
  kill();
}

std::string EtcdServer::address() const {
  return loopback_address(client_port_);
}

void EtcdServer::start() {
  const std::string client = "http://" + address();
  const std::string peer = "http://" + loopback_address(peer_port_);
  process_ =
      Process::spawn({"/usr/bin/etcd", "--name", "default", "--data-dir", dir_.file("etcd-data"),
                      "--listen-client-urls", client, "--advertise-client-urls", client,
                      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                      "--initial-cluster", "default=" + peer, "--log-level", "warn"},
                     dir_.path(), "etcd-" + std::to_string(++starts_));
  // Listening is not serving: wait until the gateway answers a read.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      revision();
      return;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  throw std::runtime_error("etcd did not come up:\n" + process_->describe());
}

void EtcdServer::kill() {
  if (!process_ || process_->pid() <= 0 || !process_->running()) return;
  ::kill(process_->pid(), SIGCONT);
  ::kill(process_->pid(), SIGKILL);
  process_->wait(std::chrono::seconds(5));
}

void EtcdServer::pause() {
  ::kill(process_->pid(), SIGSTOP);
}
void EtcdServer::resume() {
  ::kill(process_->pid(), SIGCONT);
}

std::string EtcdServer::call(const std::string& path, const std::string& body) {
  const HttpAnswer answer = http_call(client_port_, "POST", path, body);
  if (answer.status != 200)
    throw std::runtime_error("etcd " + path + ": HTTP " + std::to_string(answer.status) + " " +
                             answer.body);
  return answer.body;
}

int64_t EtcdServer::put(const std::string& key, const std::string& value) {
  return revision_of(call(
      "/v3/kv/put",
      json::serialize(json::object{{"key", base64_encode(key)}, {"value", base64_encode(value)}})));
}

int64_t EtcdServer::remove(const std::string& key) {
  return revision_of(
      call("/v3/kv/deleterange", json::serialize(json::object{{"key", base64_encode(key)}})));
}

int64_t EtcdServer::revision() {
  return revision_of(
      call("/v3/kv/range", json::serialize(json::object{{"key", base64_encode("/")}})));
}

void EtcdServer::compact(int64_t revision) {
  call("/v3/kv/compaction",
       json::serialize(json::object{{"revision", std::to_string(revision)}, {"physical", true}}));
}

}  // namespace sluice::testing
