// X-Request-Id values for requests that arrive without one. Worker thread only.
#pragma once

#include <string>

namespace sluice::proxy {

// 32 hex digits: a random per-process prefix, the worker, and a per-worker
// counter, so ids are unique without any shared state on the request path.
std::string next_request_id(unsigned worker);

}  // namespace sluice::proxy
