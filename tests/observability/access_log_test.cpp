// The access log end to end: exact JSON lines for known HTTP requests (served,
// rate limited, connect failure, breaker open, no route) and a TCP relay; the
// text format; `path: off`; and SIGUSR1 reopening after a rename. (Sampling:
// access_log_reload_test.cpp.)
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <thread>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

class AccessLogTest : public ObsTest {
 protected:
  // web (http): /app -> c, /limited -> c under a 1/min limit with burst 1,
  // /down -> d (a refusing port), /open -> br (refusing, breaker opens after
  // one failure). raw (tcp) -> e (an echo backend).
  std::string yaml(const std::string& access, const std::string& extra_routes = "") {
    Backend& http = add_backend("b0");
    Backend& echo = add_backend("echo", "echo");
    refusing_ = reserve_refusing_port(&refusing_port_);
    web_ = free_loopback_port();
    raw_ = free_loopback_port();
    const std::string down = "127.0.0.1:" + std::to_string(refusing_port_);
    return "workers: 1\n" + admin_yaml() + "log: { access: " + access +
           " }\n"
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(web_) +
           "\n"
           "    protocol: http\n"
           "    retries: { attempts: 0 }\n"
           "    routes:\n"
           "      - { name: app, match: { path_prefix: /app }, cluster: c }\n"
           "      - { name: limited, match: { path_prefix: /limited }, cluster: c, rate_limit: rl "
           "}\n"
           "      - { name: down, match: { path_prefix: /down }, cluster: d }\n"
           "      - { name: open, match: { path_prefix: /open }, cluster: br }\n" +
           extra_routes + "  - { name: raw, listen: 127.0.0.1:" + std::to_string(raw_) +
           ", protocol: tcp, cluster: e }\n"
           "clusters:\n"
           "  - { name: c, endpoints: [ { address: " +
           http.address() + " } ] }\n  - { name: d, endpoints: [ { address: " + down +
           " } ] }\n  - name: br\n    endpoints: [ { address: " + down +
           " } ]\n    circuit_breaker: { consecutive_failures: 1, open_for: 30s }\n"
           "  - { name: e, endpoints: [ { address: " +
           echo.address() +
           " } ] }\n"
           "rate_limits:\n"
           "  - { name: rl, key: global, rate: 1/min, burst: 1 }\n";
  }

  std::string log_path() const { return dir_.file("access.log"); }

  Socket refusing_;
  uint16_t refusing_port_ = 0;
  uint16_t web_ = 0;
  uint16_t raw_ = 0;
};

// The JSON fields every line has, in order, http or tcp.
void expect_shape(const json::object& line, bool http) {
  std::vector<std::string> keys;
  for (const auto& kv : line) keys.emplace_back(kv.key());
  std::vector<std::string> want = {"time", "kind", "client", "listener"};
  if (http) want.push_back("route");
  want.insert(want.end(), {"cluster", "endpoint"});
  if (http) want.insert(want.end(), {"method", "path", "protocol", "host", "user_agent"});
  if (http) want.insert(want.end(), {"status", "upstream_status"});
  want.insert(want.end(), {"bytes_received", "bytes_sent", "duration_ms", "upstream_duration_ms"});
  if (http) want.push_back("request_id");  // TCP lines have neither (issue #15)
  want.insert(want.end(),
              {"rate_limit", "rate_limit_name", "rate_limit_delay_ms", "breaker", "error"});
  if (http) want.push_back("fallback");  // a route's fallback (issue #14)
  EXPECT_EQ(keys, want) << json::serialize(line);
  const std::string time = field(line, "time");  // 2024-05-01T12:00:00.123Z
  EXPECT_EQ(time.size(), 24u) << time;
  EXPECT_EQ(time[10], 'T') << time;
  EXPECT_TRUE(time.ends_with("Z")) << time;
  EXPECT_TRUE(line.at("duration_ms").is_number()) << json::serialize(line);
}

TEST_F(AccessLogTest, OneExactJsonLinePerRequestAndConnection) {
  ASSERT_TRUE(start_sluice(yaml("{ path: " + log_path() + ", format: json, sample: 1 }")));
  // One keep-alive connection while the answers keep it open; a 502 or 503
  // from sluice closes it, so a fresh one follows each of those.
  HttpClient c = connect_http(web_);
  struct Sent {
    std::string client;
    int status;
    uint64_t rx, tx;
  };
  std::vector<Sent> sent;
  auto run = [&](const std::string& raw, int status) {
    if (!c.valid() || c.eof()) c = connect_http(web_);
    const std::string client = local_address(c.socket());
    Response r = roundtrip(c, raw);
    EXPECT_EQ(r.status, status) << raw;
    sent.push_back({client, r.status, raw.size(), r.raw_head.size() + r.body.size()});
    if (r.header("connection") == "close") c = HttpClient();
  };
  run(request("GET", "/app/one?x=1", "t", "X-Request-Id: req-1\r\nUser-Agent: probe/1.0\r\n"), 200);
  run(request("GET", "/limited"), 200);
  run(request("GET", "/limited"), 429);
  run(request("GET", "/down"), 502);
  run(request("GET", "/open"), 502);
  run(request("GET", "/open"), 503);
  run(request("GET", "/nothing"), 404);
  std::string tcp_client;
  {
    Socket s = connect_loopback(raw_, Millis(5000));
    ASSERT_TRUE(s.valid());
    tcp_client = local_address(s);
    std::string answer;
    EXPECT_TRUE(exchange(s, "hello tcp", &answer, Millis(5000)).ok);
    EXPECT_EQ(answer, "hello tcp");
  }

  EXPECT_EQ(wait_metric("sluice_access_log_lines_total", 8), 8);
  auto lines = wait_log_lines(log_path(), 8);
  ASSERT_EQ(lines.size(), 8u) << read_file(log_path());

  struct Want {
    std::string route, cluster, endpoint, path, rate_limit, breaker, error;
    bool upstream;  // an upstream answered: upstream_duration_ms is a number
  };
  const std::string b0 = backends_[0].address();
  const std::string down = "127.0.0.1:" + std::to_string(refusing_port_);
  const Want want[7] = {
      {"app", "c", b0, "/app/one?x=1", "none", "none", "<null>", true},
      {"limited", "c", b0, "/limited", "admitted", "none", "<null>", true},
      {"limited", "c", "", "/limited", "limited", "none", "rate-limited", false},
      {"down", "d", down, "/down", "none", "none", "connect-failed", false},
      {"open", "br", down, "/open", "none", "allowed", "connect-failed", false},
      {"open", "br", "", "/open", "none", "rejected", "circuit-open", false},
      {"", "", "", "/nothing", "none", "none", "no-route", false},
  };
  for (size_t i = 0; i < 7; ++i) {
    const json::object& l = lines[i];
    const Want& w = want[i];
    SCOPED_TRACE("line " + std::to_string(i) + ": " + json::serialize(l));
    expect_shape(l, true);
    EXPECT_EQ(field(l, "kind"), "http");
    EXPECT_EQ(field(l, "client"), sent[i].client);
    EXPECT_EQ(field(l, "listener"), "web");
    EXPECT_EQ(field(l, "route"), w.route);
    // A request refused before it reached its cluster (the 429) names the route's cluster,
    // as the metrics label it.
    EXPECT_EQ(field(l, "cluster"), w.cluster);
    EXPECT_EQ(field(l, "endpoint"), w.endpoint);
    EXPECT_EQ(field(l, "method"), "GET");
    EXPECT_EQ(field(l, "path"), w.path);
    EXPECT_EQ(int_field(l, "status"), sent[i].status);
    EXPECT_EQ(field(l, "protocol"), "HTTP/1.1");
    EXPECT_EQ(field(l, "host"), "t");
    // What the endpoint answered, when one did (here: exactly the lines with an upstream time).
    if (w.upstream) {
      EXPECT_EQ(int_field(l, "upstream_status"), 200);
    } else {
      EXPECT_TRUE(l.at("upstream_status").is_null());
    }
    EXPECT_EQ(int_field(l, "bytes_received"), static_cast<int64_t>(sent[i].rx));
    EXPECT_EQ(int_field(l, "bytes_sent"), static_cast<int64_t>(sent[i].tx));
    EXPECT_EQ(l.at("upstream_duration_ms").is_number(), w.upstream);
    if (!w.upstream) {
      EXPECT_TRUE(l.at("upstream_duration_ms").is_null());
    }
    EXPECT_EQ(field(l, "rate_limit"), w.rate_limit);
    EXPECT_EQ(field(l, "breaker"), w.breaker);
    EXPECT_EQ(field(l, "error"), w.error);
  }
  EXPECT_EQ(field(lines[0], "request_id"), "req-1");
  EXPECT_EQ(field(lines[0], "user_agent"), "probe/1.0");
  EXPECT_EQ(field(lines[1], "user_agent"), "");
  EXPECT_NE(field(lines[1], "request_id"), "");  // generated

  const json::object& tcp = lines[7];
  SCOPED_TRACE("tcp line: " + json::serialize(tcp));
  expect_shape(tcp, false);
  EXPECT_EQ(field(tcp, "kind"), "tcp");
  EXPECT_EQ(field(tcp, "client"), tcp_client);
  EXPECT_EQ(field(tcp, "listener"), "raw");
  EXPECT_EQ(field(tcp, "cluster"), "e");
  EXPECT_EQ(field(tcp, "endpoint"), backends_[1].address());
  EXPECT_EQ(int_field(tcp, "bytes_received"), 9);
  EXPECT_EQ(int_field(tcp, "bytes_sent"), 9);
  EXPECT_EQ(field(tcp, "rate_limit"), "none");
  EXPECT_EQ(field(tcp, "breaker"), "none");
  EXPECT_EQ(field(tcp, "error"), "<null>");

  // Nothing more arrives, and the counter agrees with the file.
  EXPECT_EQ(scrape().get("sluice_access_log_dropped_total"), 0);
  EXPECT_EQ(parse_access_log(read_file(log_path()), nullptr).size(), 8u);
}

TEST_F(AccessLogTest, DurationRunsToTheLastByteSent) {
  // 8 MiB: far more than the kernel holds for a client that is not reading (a 4 MiB send
  // buffer at most, a 128 KiB receive window), so most of it waits in sluice.
  const std::string big(8 << 20, 'x');
  ASSERT_TRUE(start_sluice(
      yaml("{ path: " + log_path() + " }",
           "      - { name: big, match: { path_prefix: /big }, direct_response: { body: " + big +
               " } }\n")));
  HttpClient c = connect_http(web_);
  ASSERT_TRUE(c.send(request("GET", "/big")));
  std::this_thread::sleep_for(Millis(500));  // the response is ready; the client reads later
  std::string error;
  auto r = c.read_response(Millis(10000), false, &error);
  ASSERT_TRUE(r.has_value()) << error;
  EXPECT_EQ(r->body.size(), big.size());
  auto lines = wait_log_lines(log_path(), 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_GE(lines[0].at("duration_ms").to_number<double>(), 450) << json::serialize(lines[0]);
}

TEST_F(AccessLogTest, PipelinedRequestsEachCountTheirOwnBytes) {
  ASSERT_TRUE(start_sluice(yaml("{ path: " + log_path() + " }")));
  HttpClient c = connect_http(web_);
  const std::string r1 = request("GET", "/app/1");
  const std::string r2 = request("POST", "/app/2", "t", "", "hello body");
  const std::string r3 = request("GET", "/app/3");
  ASSERT_TRUE(c.send(r1 + r2 + r3));
  uint64_t tx[3];
  for (uint64_t& t : tx) {
    std::string error;
    auto r = c.read_response(Millis(5000), false, &error);
    ASSERT_TRUE(r.has_value()) << error;
    EXPECT_EQ(r->status, 200);
    t = r->raw_head.size() + r->body.size();
  }
  auto lines = wait_log_lines(log_path(), 3);
  ASSERT_EQ(lines.size(), 3u);
  const std::string* raw[3] = {&r1, &r2, &r3};
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(boost::json::serialize(lines[i]));
    EXPECT_EQ(field(lines[i], "path"), "/app/" + std::to_string(i + 1));
    EXPECT_EQ(int_field(lines[i], "bytes_received"), static_cast<int64_t>(raw[i]->size()));
    EXPECT_EQ(int_field(lines[i], "bytes_sent"), static_cast<int64_t>(tx[i]));
  }
}

// A client's X-Request-Id identifies its request in the log whoever answered
// it, sluice itself included (here: a 429 and a 404 no-route).
TEST_F(AccessLogTest, TheClientsRequestIdIsLoggedForSluicesOwnAnswersToo) {
  ASSERT_TRUE(start_sluice(yaml("{ path: " + log_path() + " }")));
  HttpClient c = connect_http(web_);
  for (const char* target : {"/limited", "/limited", "/nothing"}) {
    const std::string id = std::string("id") + target;
    roundtrip(c, request("GET", target, "t", "X-Request-Id: " + id + "\r\n"));
  }
  auto lines = wait_log_lines(log_path(), 3);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(field(lines[0], "request_id"), "id/limited");
  EXPECT_EQ(int_field(lines[1], "status"), 429);
  EXPECT_EQ(field(lines[1], "request_id"), "id/limited") << boost::json::serialize(lines[1]);
  EXPECT_EQ(int_field(lines[2], "status"), 404);
  EXPECT_EQ(field(lines[2], "request_id"), "id/nothing") << boost::json::serialize(lines[2]);
}

TEST_F(AccessLogTest, TextFormatIsOneLinePerRequest) {
  ASSERT_TRUE(start_sluice(yaml("{ path: " + log_path() + ", format: text }")));
  HttpClient c = connect_http(web_);
  const std::string raw = request("GET", "/app/t", "t", "X-Request-Id: r7\r\n");
  Response r = roundtrip(c, raw);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(wait_metric("sluice_access_log_lines_total", 1), 1);
  const std::string text = read_file(log_path());
  SCOPED_TRACE(text);
  ASSERT_TRUE(text.ends_with("\n"));
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "more than one line";
  EXPECT_NE(text.find(" http " + local_address(c.socket()) +
                      " \"GET /app/t HTTP/1.1\" 200 rx=" + std::to_string(raw.size()) +
                      " tx=" + std::to_string(r.raw_head.size() + r.body.size()) + " dur="),
            std::string::npos);
  EXPECT_TRUE(
      text.ends_with(" listener=web route=app cluster=c endpoint=" + backends_[0].address() +
                     " upstream_status=200 host=t id=r7 rl=none breaker=none err=- fallback=-\n"));
}

TEST_F(AccessLogTest, PathOffWritesNoLog) {
  ASSERT_TRUE(start_sluice(yaml("{ path: off }")));
  EXPECT_EQ(fetch_once(web_, request("GET", "/app")).status, 200);
  EXPECT_EQ(
      wait_sum("sluice_http_requests_total",
               {{"listener", "web"}, {"route", "app"}, {"cluster", "c"}, {"code_class", "2xx"}}, 1),
      1);
  AdminReply config = admin("GET", "/config");
  ASSERT_EQ(config.status, 200);
  EXPECT_TRUE(json::parse(config.body).at("log").at("access").is_null()) << config.body;
  struct stat st {};
  EXPECT_NE(::stat(dir_.file("off").c_str(), &st), 0) << "a file named \"off\" was created";
  EXPECT_EQ(sluice().stdout_text().find("\"kind\""), std::string::npos) << sluice().stdout_text();
  EXPECT_EQ(scrape().get("sluice_access_log_lines_total"), 0);
}

TEST_F(AccessLogTest, Sigusr1ReopensTheFileAfterARename) {
  ASSERT_TRUE(start_sluice(yaml("{ path: " + log_path() + " }")));
  HttpClient c = connect_http(web_);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(roundtrip(c, request("GET", "/app/old")).status, 200);
  ASSERT_EQ(wait_log_lines(log_path(), 2).size(), 2u);

  const std::string rotated = log_path() + ".1";
  ASSERT_EQ(std::rename(log_path().c_str(), rotated.c_str()), 0);
  ASSERT_EQ(::kill(sluice().pid(), SIGUSR1), 0);
  // The writer creates the file afresh at its next round.
  struct stat st {};
  const auto deadline = Clock::now() + Millis(5000);
  while (::stat(log_path().c_str(), &st) != 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(Millis(10));
  ASSERT_EQ(::stat(log_path().c_str(), &st), 0) << "SIGUSR1 did not reopen " << log_path();

  for (int i = 0; i < 3; ++i) EXPECT_EQ(roundtrip(c, request("GET", "/app/new")).status, 200);
  auto fresh = wait_log_lines(log_path(), 3);
  ASSERT_EQ(fresh.size(), 3u) << read_file(log_path());
  for (const auto& l : fresh) EXPECT_EQ(field(l, "path"), "/app/new");
  auto old = parse_access_log(read_file(rotated), nullptr);
  ASSERT_EQ(old.size(), 2u) << read_file(rotated);
  for (const auto& l : old) EXPECT_EQ(field(l, "path"), "/app/old");
  EXPECT_EQ(wait_metric("sluice_access_log_lines_total", 5), 5);
}

}  // namespace
}  // namespace sluice::testing
