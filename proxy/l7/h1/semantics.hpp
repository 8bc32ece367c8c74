// The semantic checks on a head Beast has tokenized: version, target form, Host,
// framing (Content-Length / Transfer-Encoding), Connection, Expect. They fill
// the derived fields of Head (framing, keep_alive, host, path, ...).
// Internal to HeadParser.
#pragma once

#include "config/config.hpp"
#include "proxy/l7/h1/message.hpp"

namespace sluice::proxy::http {

// Each returns false and sets `error` when the head must be rejected.
// `underscores`: what happens to header names with '_' (headers are dropped from `head`).
bool finish_request(Head& head, config::HeadersWithUnderscores underscores, Error& error);
bool finish_response(Head& head, bool head_request, Error& error);

// Syntax of a Host value / URI authority: reg-name or IP-literal, optional port.
// No userinfo. Empty is not valid here.
bool valid_authority(std::string_view authority);

}  // namespace sluice::proxy::http
