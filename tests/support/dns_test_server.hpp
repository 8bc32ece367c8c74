// A tiny authoritative DNS server on loopback for the fault cases a real server will not
// produce on demand: SERVFAIL, REFUSED, silence, truncation, chosen TTLs. It answers from a
// table over UDP and TCP on one port, on its own thread; names missing from the table get
// NXDOMAIN, names present without records of the asked type get NODATA. Over UDP an answer
// larger than the client's EDNS0 payload size (512 bytes without EDNS0) is sent truncated
// (TC, no records), so the client has to ask again over TCP.
// Any thread may call any member.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/dns_wire.hpp"

namespace sluice::testing {

class DnsTestServer {
 public:
  enum class Mode {
    answer,    // from the table
    servfail,  // SERVFAIL to everything
    refused,   // REFUSED to everything
    silent,    // reads and answers nothing: the client times out
  };

  // Binds UDP and TCP on one free 127.0.0.1 port and starts serving. Throws on failure.
  DnsTestServer();
  ~DnsTestServer();
  DnsTestServer(const DnsTestServer&) = delete;
  DnsTestServer& operator=(const DnsTestServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:PORT"

  // Replaces `name`'s records of `type` ("10.0.0.1"; SRV: "PRIORITY WEIGHT PORT TARGET"),
  // all with `ttl`. An empty list leaves the name existing: NODATA.
  void set(const std::string& name, uint16_t type, std::vector<std::string> records,
           uint32_t ttl = 0);
  void remove(const std::string& name);  // NXDOMAIN from now on
  void set_mode(Mode mode);

  // Queries seen (answered or not), by transport, and whether the last UDP one had EDNS0.
  size_t udp_queries() const { return udp_queries_; }
  size_t tcp_queries() const { return tcp_queries_; }
  bool last_udp_had_edns() const { return last_udp_had_edns_; }

 private:
  struct Connection {
    int fd = -1;
    std::vector<uint8_t> in;
  };
  void serve();
  // The answer to one query, or empty when the server is silent.
  std::vector<uint8_t> respond(std::span<const uint8_t> packet, bool udp);
  void read_udp();
  bool read_tcp(Connection& c);  // false: closed

  uint16_t port_ = 0;
  int udp_fd_ = -1;
  int tcp_fd_ = -1;
  int stop_fd_ = -1;                     // eventfd
  std::vector<Connection> connections_;  // serve() thread only

  mutable std::mutex mutex_;
  std::map<std::string, std::map<uint16_t, std::vector<DnsRecordData>>> table_;
  Mode mode_ = Mode::answer;
  std::atomic<size_t> udp_queries_{0};
  std::atomic<size_t> tcp_queries_{0};
  std::atomic<bool> last_udp_had_edns_{false};
  std::thread thread_;
};

}  // namespace sluice::testing
