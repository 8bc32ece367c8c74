// The file discovery source's format: exact endpoint sets for good files, and an error with
// path:line:col for every way a file can be wrong (so a truncated or mistyped file never
// becomes a smaller set).
#include "proxy/control/discovery/endpoint_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy::discovery {
namespace {

std::string error_of(const std::string& text) {
  EndpointFile f = parse_endpoint_file(text, "eps.yaml");
  EXPECT_TRUE(f.endpoints.empty()) << text;
  return f.error;
}

TEST(EndpointFileTest, YamlAndJsonListsAtTheTopOrUnderEndpoints) {
  const std::vector<DiscoveredEndpoint> want = {
      {"10.0.0.1:80", 1}, {"10.0.0.2:8080", 3}, {"[2001:db8::7]:443", 1}};
  for (const std::string& text : {
           std::string("- 10.0.0.1:80\n"
                       "- { address: 10.0.0.2, port: 8080, weight: 3, metadata: { zone: a } }\n"
                       "- { address: \"[2001:db8::7]:443\" }\n"),
           std::string("endpoints:\n  - 10.0.0.1:80\n  - { address: 10.0.0.2:8080, weight: 3 }\n"
                       "  - { address: \"2001:db8::7\", port: 443 }\n"),
           std::string(R"([{"address": "10.0.0.1", "port": 80},)"
                       R"( {"address": "10.0.0.2:8080", "weight": 3},)"
                       R"( {"address": "[2001:db8::7]:443", "metadata": {}}])"),
       }) {
    EndpointFile f = parse_endpoint_file(text, "eps.yaml");
    EXPECT_TRUE(f.ok()) << f.error;
    EXPECT_EQ(f.endpoints, want) << text;
  }
  EndpointFile empty = parse_endpoint_file("[]\n", "eps.yaml");
  EXPECT_TRUE(empty.ok());
  EXPECT_TRUE(empty.endpoints.empty());
}

TEST(EndpointFileTest, EveryMistakeIsAnErrorWithItsPosition) {
  EXPECT_EQ(error_of(""),
            "eps.yaml: empty (a file being written, or truncated?); an empty set is []");
  EXPECT_EQ(error_of("  \n"),
            "eps.yaml: empty (a file being written, or truncated?); an empty set is []");
  EXPECT_EQ(error_of("- 10.0.0.1:80\n- { address: 10.0.0.2, prot: 80 }\n"),
            "eps.yaml:2:24: unknown key 'prot' (an endpoint has address, port, weight, metadata)");
  EXPECT_EQ(error_of("- 10.0.0.1:80\n- 10.0.0.2\n"),
            "eps.yaml:2:3: address 10.0.0.2 needs a port (\"ip:port\" or port:)");
  EXPECT_EQ(error_of("- { address: 10.0.0.2:80, port: 81 }\n"),
            "eps.yaml:1:3: address 10.0.0.2:80 has a port and port is set");
  EXPECT_EQ(error_of("- { address: 10.0.0.2, port: 70000 }\n"),
            "eps.yaml:1:30: port: expected an integer from 1 to 65535");
  EXPECT_EQ(error_of("- { address: 10.0.0.2:80, weight: 0 }\n"),
            "eps.yaml:1:35: weight: expected an integer from 1 to 65535");
  EXPECT_EQ(error_of("- 10.0.0.1:80\n- 10.0.0.1:80\n"),
            "eps.yaml:2:3: duplicate endpoint 10.0.0.1:80");
  EXPECT_EQ(error_of("endpoint: []\n"),
            "eps.yaml:1:1: unknown key 'endpoint' (the file is a list of endpoints, or endpoints: "
            "[...])");
  EXPECT_EQ(error_of("42\n"), "eps.yaml:1:1: expected a list of endpoints");
  EXPECT_EQ(error_of("- [1, 2]\n"), "eps.yaml:1:3: an endpoint is an \"ip:port\" string or a map");
  // A host name is DNS discovery's job; the address parser's own words say so.
  EXPECT_NE(error_of("- backend.example:80\n").find("eps.yaml:1:3: "), std::string::npos);
  // A truncated JSON file: the parser's error with its position.
  EXPECT_EQ(error_of("[{\"address\": \"10.0.0.1:80\"},").rfind("eps.yaml:", 0), 0u);
}

}  // namespace
}  // namespace sluice::proxy::discovery
