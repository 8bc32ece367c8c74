// The error codes the codec reports (Error::code). Stable tokens: they appear in
// x-sluice-error headers, access logs and metrics labels. Internal constructors
// keep the status choice in one place.
#pragma once

#include <string_view>

#include "proxy/l7/h1/message.hpp"

namespace sluice::proxy::http::errc {

// Message syntax (pre-scan of the raw bytes).
inline constexpr std::string_view bare_lf = "bare-lf";
inline constexpr std::string_view bare_cr = "bare-cr";
inline constexpr std::string_view obs_fold = "obs-fold";
inline constexpr std::string_view space_before_colon = "space-before-colon";
inline constexpr std::string_view bad_header_name = "bad-header-name";
inline constexpr std::string_view bad_header_value = "bad-header-value";
inline constexpr std::string_view bad_start_line = "bad-start-line";
// A header name with '_' on a listener with `headers_with_underscores: reject`.
inline constexpr std::string_view underscore_header = "underscore-in-header-name";
// Limits.
inline constexpr std::string_view start_line_too_long = "request-line-too-long";
inline constexpr std::string_view header_too_large = "header-too-large";
inline constexpr std::string_view too_many_headers = "too-many-headers";
// Start line semantics.
inline constexpr std::string_view bad_method = "bad-method";
inline constexpr std::string_view bad_target = "bad-target";
inline constexpr std::string_view bad_version = "bad-version";
inline constexpr std::string_view unsupported_version = "unsupported-version";
inline constexpr std::string_view bad_status = "bad-status";
inline constexpr std::string_view connect_unsupported = "connect-unsupported";
// Host.
inline constexpr std::string_view missing_host = "missing-host";
inline constexpr std::string_view duplicate_host = "duplicate-host";
inline constexpr std::string_view bad_host = "bad-host";
inline constexpr std::string_view host_mismatch = "host-mismatch";
// Framing.
inline constexpr std::string_view bad_content_length = "bad-content-length";
inline constexpr std::string_view bad_transfer_encoding = "bad-transfer-encoding";
inline constexpr std::string_view unsupported_transfer_coding = "unsupported-transfer-coding";
inline constexpr std::string_view conflicting_framing = "conflicting-framing";
inline constexpr std::string_view transfer_encoding_http10 = "transfer-encoding-http10";
inline constexpr std::string_view bad_connection = "bad-connection";
inline constexpr std::string_view unsupported_expectation = "unsupported-expectation";
// Bodies.
inline constexpr std::string_view bad_chunk_size = "bad-chunk-size";
inline constexpr std::string_view chunk_size_overflow = "chunk-size-overflow";
inline constexpr std::string_view bad_chunk_extension = "bad-chunk-extension";
inline constexpr std::string_view bad_chunk = "bad-chunk";
inline constexpr std::string_view bad_trailer = "bad-trailer";
// Content-Length, Transfer-Encoding or Host (or a look-alike) in a trailer section.
inline constexpr std::string_view forbidden_trailer = "forbidden-trailer";
inline constexpr std::string_view truncated_body = "truncated-body";
inline constexpr std::string_view bad_message = "bad-message";

// `request_status` is what a client request gets; anything wrong in an upstream
// response is that upstream's fault and becomes 502 for the client.
inline Error make(bool is_request, int request_status, std::string_view code,
                  std::string_view detail) {
  return Error{is_request ? request_status : 502, code, detail};
}

}  // namespace sluice::proxy::http::errc
