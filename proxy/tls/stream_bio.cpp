#include "proxy/tls/stream_bio.hpp"

#include <algorithm>
#include <cstring>

#include "proxy/tls/tls_transport.hpp"

namespace sluice::proxy::tls {
namespace {

TlsTransport& transport_of(BIO* bio) {
  return *static_cast<TlsTransport*>(BIO_get_data(bio));
}

int read_ex(BIO* bio, char* data, size_t size, size_t* read) {
  BIO_clear_retry_flags(bio);
  TlsTransport& t = transport_of(bio);
  ChunkQueue& in = t.ciphertext_in();
  size_t done = 0;
  while (done < size && !in.empty()) {
    const std::string_view chunk = in.front(t.buffers());
    const size_t n = std::min(chunk.size(), size - done);
    std::memcpy(data + done, chunk.data(), n);
    in.consume(n, t.buffers());
    done += n;
  }
  *read = done;
  if (done > 0) return 1;
  BIO_set_retry_read(bio);
  return 0;
}

int write_ex(BIO* bio, const char* data, size_t size, size_t* written) {
  BIO_clear_retry_flags(bio);
  transport_of(bio).ciphertext_out().append(data, size);
  *written = size;
  return 1;
}

long ctrl(BIO*, int command, long, void*) {
  // FLUSH: nothing is held back; everything else (PENDING, EOF, ...) has no meaning here.
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* method() {
  static BIO_METHOD* const kMethod = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sluice stream");
    BIO_meth_set_read_ex(m, read_ex);
    BIO_meth_set_write_ex(m, write_ex);
    BIO_meth_set_ctrl(m, ctrl);
    BIO_meth_set_create(m, create);
    return m;
  }();
  return kMethod;
}

}  // namespace

BIO* new_stream_bio(TlsTransport& transport) {
  BIO* bio = BIO_new(method());
  if (bio != nullptr) BIO_set_data(bio, &transport);
  return bio;
}

}  // namespace sluice::proxy::tls
