#include "proxy/control/health/response_head.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace sluice::proxy::health {

namespace http = boost::beast::http;

ResponseHead::ResponseHead() {
  // Only the head is wanted: stop there rather than expect a body the empty_body cannot hold.
  parser_.eager(false);
  parser_.header_limit(16 * 1024);
}

ResponseHead::State ResponseHead::feed(std::string_view bytes) {
  if (state_ != State::need_more) return state_;
  pending_.append(bytes);
  return parse();
}

ResponseHead::State ResponseHead::parse() {
  while (!pending_.empty() && !parser_.is_header_done()) {
    boost::system::error_code ec;
    const size_t used = parser_.put(boost::asio::buffer(pending_), ec);
    pending_.erase(0, used);
    if (ec == http::error::need_more) break;
    if (ec) {
      state_ = State::error;
      error_ = "malformed response: " + ec.message();
      return state_;
    }
  }
  if (parser_.is_header_done()) {
    state_ = State::done;
    status_ = static_cast<int>(parser_.get().result_int());
  }
  return state_;
}

ResponseHead::State ResponseHead::eof() {
  if (state_ != State::need_more) return state_;
  state_ = State::error;
  error_ = pending_.empty() && !parser_.got_some() ? "closed without a response"
                                                   : "closed before the end of the response head";
  return state_;
}

}  // namespace sluice::proxy::health
