// A BIO over a TlsTransport's queues: OpenSSL reads ciphertext straight from the receive
// buffers the stream handed over (no copy into a memory BIO) and writes records into one
// string per flight, which the transport queues for sending. Never blocks: an empty input is
// "retry later". Any worker thread (the method is made once per process).
#pragma once

#include <openssl/bio.h>

namespace sluice::proxy::tls {

class TlsTransport;

// A new BIO reading and writing `transport`'s queues; SSL_set_bio takes it over.
BIO* new_stream_bio(TlsTransport& transport);

}  // namespace sluice::proxy::tls
