// The JSON of etcd v3's gateway (etcd 3.4: POST /v3/kv/range and /v3/watch), both ways:
// keys and values travel base64-encoded, int64 fields (revisions) as JSON strings, fields
// with their zero value are left out (a PUT event has no "type"), and the watch answers with
// one JSON object per line: {"result": {...}} or, in band, {"error": ...}. Control thread;
// pure, so every message shape is a unit test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::proxy::discovery::etcd {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// The end of the range that holds exactly the keys starting with `prefix` (its last byte
// below 0xff plus one, the bytes after it dropped), as etcd's clientv3.GetPrefixRangeEnd.
std::string prefix_range_end(std::string_view prefix);

// Request bodies.
std::string range_request(std::string_view prefix);
// The cheapest question that proves the server answers: how many keys the prefix holds.
std::string probe_request(std::string_view prefix);
std::string watch_request(std::string_view prefix, int64_t start_revision);

struct KeyValue {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
};

struct RangeAnswer {
  int64_t revision = 0;  // the store's revision the answer is at
  std::vector<KeyValue> kvs;
  std::string error;  // malformed answer or an error object; empty when good
};
RangeAnswer parse_range_answer(std::string_view body);

struct WatchEvent {
  bool put = true;  // else a delete (kv.value empty)
  KeyValue kv;
};

struct WatchMessage {
  enum class Kind {
    created,    // the watch is registered
    events,     // changes, in revision order
    progress,   // nothing changed up to `revision`
    compacted,  // the start revision was compacted away: list again
    canceled,   // the server dropped the watch for another reason
    error,      // {"error": ...} in band, or a line that is not a watch response
  } kind = Kind::error;
  int64_t revision = 0;  // the header's revision
  int64_t compact_revision = 0;
  std::vector<WatchEvent> events;
  std::string error;  // for error and canceled
};
WatchMessage parse_watch_line(std::string_view line);

}  // namespace sluice::proxy::discovery::etcd
