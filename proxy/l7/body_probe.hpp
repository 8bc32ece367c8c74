// A dry run of a body scanner over bytes already queued: whether they frame correctly as far
// as they go, nothing consumed. Both directions use it so that a framing error that arrived in
// the same read as its head becomes a clean answer (400 for a request, 502 for a response)
// before anything of the message is forwarded. Worker thread only.
#pragma once

#include <string_view>

#include "proxy/core/buffer_ring.hpp"
#include "proxy/core/chunk_queue.hpp"
#include "proxy/l7/h1/body_scanner.hpp"

namespace sluice::proxy {

// Runs `probe` (the caller's copy, payload sink unset) over `in`; false with probe.error()
// set when the bytes break the framing.
inline bool queued_body_frames(http::BodyScanner& probe, const ChunkQueue& in,
                               const BufferRing& buffers) {
  http::Status status = http::Status::need_more;
  in.for_each_chunk(buffers, [&](std::string_view bytes) {
    size_t used = 0;
    status = probe.feed(bytes, used);
    return status == http::Status::need_more;
  });
  return status != http::Status::error;
}

}  // namespace sluice::proxy
