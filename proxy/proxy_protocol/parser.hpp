// Parses a PROXY protocol header (v1 or v2, told apart by the first byte) from the bytes a
// connection received so far. Pure: no I/O, no state besides the bytes, so a header split
// over any number of reads is parsed by calling it again with everything received so far.
// It decides as early as it can: bytes that cannot begin a header are refused at once,
// without waiting for more. Any thread.
#pragma once

#include <cstddef>
#include <string_view>

#include "proxy/proxy_protocol/header.hpp"

namespace sluice::proxy::proxy_protocol {

// A v1 line is at most 107 bytes with its CRLF (the spec's bound).
inline constexpr size_t kV1MaxLength = 107;
// The fixed part of a v2 header: signature, version/command, family, length.
inline constexpr size_t kV2FixedLength = 16;
// What a v2 header may announce at most: far more than addresses and the usual TLVs take,
// far less than the 64 KiB the length field allows, so a peer cannot make us buffer much.
inline constexpr size_t kV2MaxLength = 4096;

enum class Status {
  complete,   // `header` is filled; `length` bytes are the header, the rest is the payload
  need_more,  // a valid beginning: call again with more bytes
  malformed,  // not a valid header, whatever follows; `error` says why
};

struct Result {
  Status status = Status::need_more;
  size_t length = 0;            // header bytes, when complete
  const char* error = nullptr;  // static text, when malformed
};

Result parse(std::string_view bytes, Header& header);

// The 12 bytes a v2 header starts with.
inline constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};

}  // namespace sluice::proxy::proxy_protocol
