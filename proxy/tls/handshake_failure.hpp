// Why a handshake failed, from OpenSSL's error queue, as one of the bounded reasons the
// metrics count (metrics::TlsFailure). Any thread.
#pragma once

#include "proxy/metrics/counters.hpp"

namespace sluice::proxy::tls {

// `reason`: ERR_GET_REASON of the failed handshake's last queued error (0: none queued).
metrics::TlsFailure classify_handshake_failure(int reason);
// The same for a handshake with an upstream (sluice the client); a certificate that did not
// verify is told by the verify result before this is asked.
metrics::TlsFailure classify_upstream_handshake_failure(int reason);

}  // namespace sluice::proxy::tls
