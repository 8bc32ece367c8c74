// etcd's gateway JSON and the endpoint value format, with messages as etcd 3.4 writes them.
#include "proxy/control/discovery/etcd_codec.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "proxy/control/discovery/endpoint_value.hpp"

namespace sluice::proxy::discovery {
namespace {

using etcd::WatchMessage;

TEST(EtcdCodec, Base64BothWays) {
  for (std::string s :
       std::vector<std::string>{"", "/", "/s", "/s/", "/services/api/", std::string("\0\xff", 2)})
    EXPECT_EQ(etcd::base64_decode(etcd::base64_encode(s)), s);
  EXPECT_EQ(etcd::base64_encode("/s/a"), "L3MvYQ==");
  EXPECT_EQ(etcd::base64_decode("L3MvYg=="), "/s/b");
  EXPECT_EQ(etcd::base64_decode("L3M"), std::nullopt);
  EXPECT_EQ(etcd::base64_decode("L3M!"), std::nullopt);
}

TEST(EtcdCodec, PrefixRangeEnd) {
  EXPECT_EQ(etcd::prefix_range_end("/s/"), "/s0");
  EXPECT_EQ(etcd::prefix_range_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(etcd::prefix_range_end(std::string("\xff", 1)), std::string(1, '\0'));
}

TEST(EtcdCodec, RangeAnswer) {
  auto a = etcd::parse_range_answer(
      R"({"header":{"cluster_id":"1","revision":"7","raft_term":"2"},"kvs":[{"key":"L3MvYQ==",)"
      R"("create_revision":"2","mod_revision":"5","version":"1","value":"eyJ9"}],"count":"1"})");
  ASSERT_EQ(a.error, "");
  EXPECT_EQ(a.revision, 7);
  ASSERT_EQ(a.kvs.size(), 1u);
  EXPECT_EQ(a.kvs[0].key, "/s/a");
  EXPECT_EQ(a.kvs[0].value, "{\"}");
  EXPECT_EQ(a.kvs[0].mod_revision, 5);
  EXPECT_EQ(etcd::parse_range_answer(R"({"header":{"revision":"3"}})").kvs.size(), 0u);
  EXPECT_EQ(etcd::parse_range_answer(R"({"error":"etcdserver: too many requests","code":8})").error,
            "etcdserver: too many requests");
  EXPECT_NE(etcd::parse_range_answer(R"({"header":{}})").error, "");
  EXPECT_NE(etcd::parse_range_answer("[").error, "");
}

// Found by tests/fuzz/etcd_codec_fuzz: an error object with an empty message read as a good
// answer with no keys, and the source would have listed the cluster empty.
TEST(EtcdCodec, AnErrorWithoutMessageIsStillAnError) {
  for (const char* body : {R"({"error":""})", R"({"error":{"message":""}})", R"({"error":null})"}) {
    EXPECT_NE(etcd::parse_range_answer(body).error, "") << body;
    const auto watch = etcd::parse_watch_line(body);
    EXPECT_EQ(watch.kind, WatchMessage::Kind::error) << body;
    EXPECT_NE(watch.error, "") << body;
  }
}

TEST(EtcdCodec, WatchLines) {
  const std::string h =
      R"("header":{"cluster_id":"1","member_id":"2","revision":"4","raft_term":"2"})";
  EXPECT_EQ(etcd::parse_watch_line(R"({"result":{)" + h + R"(,"created":true}})").kind,
            WatchMessage::Kind::created);
  auto events = etcd::parse_watch_line(
      R"({"result":{)" + h +
      R"(,"events":[{"kv":{"key":"L3MvYg==","create_revision":"3","mod_revision":"3",)"
      R"("version":"1","value":"eyJ9"}},{"type":"DELETE","kv":{"key":"L3MvYg==","mod_revision":"4"}}]}})");
  ASSERT_EQ(events.kind, WatchMessage::Kind::events);
  ASSERT_EQ(events.events.size(), 2u);
  EXPECT_TRUE(events.events[0].put);
  EXPECT_EQ(events.events[0].kv.key, "/s/b");
  EXPECT_FALSE(events.events[1].put);
  EXPECT_EQ(events.events[1].kv.mod_revision, 4);
  auto compacted = etcd::parse_watch_line(
      R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"4"}})");
  EXPECT_EQ(compacted.kind, WatchMessage::Kind::compacted);
  EXPECT_EQ(compacted.compact_revision, 4);
  auto canceled = etcd::parse_watch_line(
      R"({"result":{)" + h + R"(,"canceled":true,"cancel_reason":"permission denied"}})");
  EXPECT_EQ(canceled.kind, WatchMessage::Kind::canceled);
  EXPECT_EQ(canceled.error, "permission denied");
  auto progress = etcd::parse_watch_line(R"({"result":{)" + h + "}}");
  EXPECT_EQ(progress.kind, WatchMessage::Kind::progress);
  EXPECT_EQ(progress.revision, 4);
  // In band, as 3.4's gateway says it, and as later ones do.
  auto old_error = etcd::parse_watch_line(
      R"({"error":"illegal base64 data at input byte 0","message":"illegal base64 data","code":2})");
  EXPECT_EQ(old_error.kind, WatchMessage::Kind::error);
  EXPECT_EQ(old_error.error, "illegal base64 data at input byte 0");
  EXPECT_EQ(etcd::parse_watch_line(R"({"error":{"grpc_code":14,"message":"unavailable"}})").error,
            "unavailable");
  EXPECT_EQ(etcd::parse_watch_line("not json").kind, WatchMessage::Kind::error);
  EXPECT_EQ(etcd::parse_watch_line(R"({"result":{"events":[{"type":"PUT"}]}})").kind,
            WatchMessage::Kind::error);
}

TEST(EndpointValue, Shapes) {
  auto v =
      parse_endpoint_value(R"({"address":"10.0.0.7","port":8080,"weight":2,"metadata":{"z":1}})");
  ASSERT_TRUE(v.endpoint) << v.error;
  EXPECT_EQ(v.endpoint->address, "10.0.0.7:8080");
  EXPECT_EQ(v.endpoint->weight, 2u);
  EXPECT_EQ(parse_endpoint_value(R"({"address":"10.0.0.7:81"})").endpoint->address, "10.0.0.7:81");
  EXPECT_EQ(parse_endpoint_value(R"({"address":"2001:db8::7","port":"80"})").endpoint->address,
            "[2001:db8::7]:80");
  EXPECT_EQ(parse_endpoint_value(R"({"address":"[::1]:80","owner":"x"})").endpoint->address,
            "[::1]:80");
  EXPECT_EQ(parse_endpoint_value(R"({"address":"10.0.0.7:81","port":82})").error,
            "address '10.0.0.7:81' is not an IP address (with port set)");
  for (const char* bad :
       {"", "[]", "{}", R"({"address":"10.0.0.7"})", R"({"address":"db.internal","port":5432})",
        R"({"address":1})", R"({"address":"10.0.0.7","port":0})",
        R"({"address":"10.0.0.7","port":70000})", R"({"address":"10.0.0.7:80","weight":0})",
        R"({"address":"10.0.0.7:80","weight":"x"})", R"({"address":"10.0.0.7:80","metadata":[1]})"})
    EXPECT_FALSE(parse_endpoint_value(bad).endpoint) << bad;
}

// Found by tests/fuzz/etcd_codec_fuzz: inet_pton stops at a NUL, so "10.0.0.7\u0000junk" was
// taken as 10.0.0.7 and the junk kept in the endpoint's address text.
TEST(EndpointValue, ANulInTheAddressIsNotAnAddress) {
  for (const char* bad :
       {R"({"address":"10.0.0.7\u0000junk","port":80})",
        R"({"address":"10.0.0.7\u0000:1","port":80})", R"({"address":"10.0.0.7\u0000junk:80"})",
        R"({"address":"[::1\u0000x]:80"})"})
    EXPECT_FALSE(parse_endpoint_value(bad).endpoint) << bad;
  EXPECT_FALSE(join_ip_port(std::string_view("10.0.0.7\0x", 10), 80));
}

}  // namespace
}  // namespace sluice::proxy::discovery
