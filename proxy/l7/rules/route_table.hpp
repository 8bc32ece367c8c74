// An http listener's routes, indexed so that finding the first route that fits a request
// does not try them all: by exact host (routes without a host or with a wildcard host are in
// a shared bucket), then by exact path (a hash), by path prefix (a byte trie walked along
// the path) and the rest (regex and path-less routes) in order. Each candidate list is sorted
// by route position and is cut off at the best match found so far, so the answer is the
// same as trying every route in order (bench/route_bench.cpp: 1, 100, 1,000 routes).
// Built on the control thread; workers look up concurrently, without allocating.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "proxy/l7/h1/message.hpp"
#include "proxy/l7/rules/regex.hpp"

namespace sluice::proxy::rules {

// Whether the query string has parameter `name` (with value `exact` when given). The query
// is compared as received, not percent-decoded; "?a" has a with the empty value.
bool query_matches(std::string_view query, const config::QueryMatch& want);

class RouteTable {
 public:
  // `routes` must outlive the table. A path_regex that does not compile (the config checked
  // them all) never matches.
  explicit RouteTable(const std::vector<config::Route>& routes);

  // The position of the first route that fits, or -1.
  int match(const http::Head& head) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const;
  };
  struct CaseHash {  // hosts compare ASCII case-insensitively
    using is_transparent = void;
    size_t operator()(std::string_view s) const;
  };
  struct CaseEqual {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return http::iequals(a, b); }
  };
  struct TrieNode {
    std::vector<std::pair<char, uint32_t>> next;  // byte -> node index
    std::vector<uint32_t> routes;                 // prefixes ending here, ascending
  };
  struct Bucket {
    std::unordered_map<std::string, std::vector<uint32_t>, Hash, std::equal_to<>> exact;
    std::vector<TrieNode> trie{1};  // node 0 is the root (the empty prefix)
    std::vector<uint32_t> rest;
    void add(uint32_t index, const config::RouteMatch& match);
  };

  bool fits(uint32_t index, const http::Head& head, std::string_view host) const;
  // Lowers `best` to the first route of `list` below it that fits.
  void first_fit(const std::vector<uint32_t>& list, const http::Head& head, std::string_view host,
                 uint32_t& best) const;
  void lookup(const Bucket& bucket, const http::Head& head, std::string_view host,
              uint32_t& best) const;

  const std::vector<config::Route>& routes_;
  std::vector<std::unique_ptr<Regex>> regexes_;  // by route position; null: no path_regex
  std::unordered_map<std::string, Bucket, CaseHash, CaseEqual> by_host_;
  Bucket any_host_;
};

}  // namespace sluice::proxy::rules
