#include "proxy/control/discovery/etcd_codec.hpp"

#include <openssl/evp.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>

namespace sluice::proxy::discovery::etcd {
namespace {

namespace json = boost::json;

// etcd's int64 fields arrive as strings ("42"); absent means zero, as in protobuf.
int64_t int64_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (!v->is_string()) return -1;
  const auto& s = v->get_string();
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  return ec == std::errc() && end == s.data() + s.size() ? n : -1;
}

int64_t header_revision(const json::object& o) {
  const json::value* header = o.if_contains("header");
  return header && header->is_object() ? int64_field(header->get_object(), "revision") : 0;
}

// 3.4 says {"error": "text", "code": 2}; later gateways {"error": {"message": "text", ...}}.
// Never empty: callers tell an error from a good answer by its text.
std::string error_text(const json::value& error) {
  std::string text;
  if (error.is_string()) text = error.get_string();
  if (error.is_object())
    if (const json::value* m = error.get_object().if_contains("message"); m && m->is_string())
      text = m->get_string();
  return text.empty() ? json::serialize(error) : text;
}

std::optional<KeyValue> read_kv(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  KeyValue kv;
  const json::value* key = o.if_contains("key");
  if (!key || !key->is_string()) return std::nullopt;
  auto decoded = base64_decode(key->get_string());
  if (!decoded) return std::nullopt;
  kv.key = std::move(*decoded);
  if (const json::value* value = o.if_contains("value")) {
    if (!value->is_string()) return std::nullopt;
    auto bytes = base64_decode(value->get_string());
    if (!bytes) return std::nullopt;
    kv.value = std::move(*bytes);
  }
  kv.mod_revision = int64_field(o, "mod_revision");
  return kv;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t length = static_cast<size_t>(n);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && length > 0; --i) --length;
  out.resize(length);
  return out;
}

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key: etcd's "from key" range end
}

std::string range_request(std::string_view prefix) {
  return json::serialize(json::object{{"key", base64_encode(prefix)},
                                      {"range_end", base64_encode(prefix_range_end(prefix))}});
}

std::string probe_request(std::string_view prefix) {
  return json::serialize(json::object{{"key", base64_encode(prefix)},
                                      {"range_end", base64_encode(prefix_range_end(prefix))},
                                      {"count_only", true}});
}

std::string watch_request(std::string_view prefix, int64_t start_revision) {
  return json::serialize(json::object{
      {"create_request", json::object{{"key", base64_encode(prefix)},
                                      {"range_end", base64_encode(prefix_range_end(prefix))},
                                      {"start_revision", std::to_string(start_revision)},
                                      {"progress_notify", true}}}});
}

RangeAnswer parse_range_answer(std::string_view body) {
  RangeAnswer answer;
  boost::system::error_code ec;
  const json::value root = json::parse(body, ec);
  if (ec || !root.is_object()) {
    answer.error = "the range answer is not a JSON object";
    return answer;
  }
  const json::object& o = root.get_object();
  if (const json::value* error = o.if_contains("error")) {
    answer.error = error_text(*error);
    return answer;
  }
  answer.revision = header_revision(o);
  if (answer.revision <= 0) {
    answer.error = "the range answer has no header revision";
    return answer;
  }
  if (const json::value* kvs = o.if_contains("kvs")) {
    if (!kvs->is_array()) {
      answer.error = "kvs is not a list";
      return answer;
    }
    for (const json::value& item : kvs->get_array()) {
      auto kv = read_kv(item);
      if (!kv) {
        answer.error = "a key-value pair that is not base64 key/value";
        return answer;
      }
      answer.kvs.push_back(std::move(*kv));
    }
  }
  return answer;
}

WatchMessage parse_watch_line(std::string_view line) {
  WatchMessage m;
  boost::system::error_code ec;
  const json::value root = json::parse(line, ec);
  if (ec || !root.is_object()) {
    m.error = "a watch line that is not a JSON object";
    return m;
  }
  const json::object& top = root.get_object();
  if (const json::value* error = top.if_contains("error")) {
    m.error = error_text(*error);
    return m;
  }
  const json::value* result = top.if_contains("result");
  if (!result || !result->is_object()) {
    m.error = "a watch line without result or error";
    return m;
  }
  const json::object& o = result->get_object();
  m.revision = header_revision(o);
  const auto flag = [&](std::string_view name) {
    const json::value* v = o.if_contains(name);
    return v && v->is_bool() && v->get_bool();
  };
  if (flag("canceled")) {
    m.compact_revision = int64_field(o, "compact_revision");
    m.kind = m.compact_revision > 0 ? WatchMessage::Kind::compacted : WatchMessage::Kind::canceled;
    if (const json::value* reason = o.if_contains("cancel_reason"); reason && reason->is_string())
      m.error = std::string(reason->get_string());
    return m;
  }
  if (flag("created")) {
    m.kind = WatchMessage::Kind::created;
    return m;
  }
  const json::value* events = o.if_contains("events");
  if (!events) {
    m.kind = WatchMessage::Kind::progress;
    return m;
  }
  if (!events->is_array()) {
    m.error = "events is not a list";
    return m;
  }
  for (const json::value& item : events->get_array()) {
    WatchEvent event;
    if (!item.is_object()) return m.error = "an event that is not an object", m;
    const json::object& e = item.get_object();
    if (const json::value* type = e.if_contains("type")) {
      if (!type->is_string() || (type->get_string() != "PUT" && type->get_string() != "DELETE"))
        return m.error = "an event of unknown type", m;
      event.put = type->get_string() == "PUT";
    }
    const json::value* kv = e.if_contains("kv");
    auto read = kv ? read_kv(*kv) : std::nullopt;
    if (!read) return m.error = "an event without a base64 key", m;
    event.kv = std::move(*read);
    m.events.push_back(std::move(event));
  }
  m.kind = WatchMessage::Kind::events;
  return m;
}

}  // namespace sluice::proxy::discovery::etcd
