// GET /clusters: every cluster of a snapshot with its live state (breaker, limits, outlier
// ejections, per-endpoint in-flight counts) as JSON.
//
// Threads: the control thread, while the snapshot is alive. It reads the shared atomics the
// workers are writing (relaxed), so counts are recent, not a consistent cut across endpoints.
#pragma once

#include <cstdint>
#include <string>

#include "proxy/worker/snapshot.hpp"

namespace sluice::proxy::admin {

// `now_ns` is the clock the workers stamp ejections with (limiter::Nanos, steady clock).
std::string clusters_json(const Snapshot& snapshot, int64_t now_ns);

}  // namespace sluice::proxy::admin
