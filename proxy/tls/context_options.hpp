// The settings every server SSL_CTX of sluice gets, whatever its certificate: TLS 1.2 or 1.3
// only, Mozilla's "intermediate" ciphers, no compression, no renegotiation, no 0-RTT, released
// buffers on idle connections, the TLS 1.2 session cache, session tickets, client certificate
// checks. Control thread (building); the contexts are then read-only.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "config/config.hpp"

namespace sluice::proxy::tls {

// A new server context with those settings; null (and `error`) when OpenSSL refuses one, or
// when the client CA file does not load.
SSL_CTX* new_server_context(const config::Tls& config, std::string& error);

// The reason of OpenSSL's most recent queued error ("no such file", "key values mismatch"),
// clearing the queue; `fallback` when nothing was queued.
std::string openssl_error(const char* fallback = "unknown error");

}  // namespace sluice::proxy::tls
