// Reads an HTTP/1.x response far enough to know its status, with Boost.Beast's parser: the
// health probe needs the status line (and a well-formed head) and nothing after it. Bytes
// arrive in pieces; feed() them as they come. Pure; control thread (one per probe).
#pragma once

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::proxy::health {

class ResponseHead {
 public:
  enum class State { need_more, done, error };

  ResponseHead();
  // Takes the next bytes of the response; keeps what the parser could not use yet.
  State feed(std::string_view bytes);
  // The peer closed its side: a head that is not complete by now never will be.
  State eof();

  State state() const { return state_; }
  int status() const { return status_; }               // once done
  const std::string& error() const { return error_; }  // once error: what was wrong

 private:
  State parse();

  boost::beast::http::response_parser<boost::beast::http::empty_body> parser_;
  std::string pending_;  // bytes the parser has not consumed yet
  State state_ = State::need_more;
  int status_ = 0;
  std::string error_;
};

}  // namespace sluice::proxy::health
