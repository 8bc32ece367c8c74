// `include:` — further files whose sections add to the including file's, for configs too big
// for one file (a conf.d/ per team or per site). Internal to config/. Control thread only.
#pragma once

#include "config/parse_state.hpp"

namespace sluice::config {

// How deep includes may nest: the main file includes level 1, which may include level 2...
inline constexpr size_t kMaxIncludeDepth = 8;

// Reads every file `field` (a pattern or a list of them) names, each through parse_source, in
// order: a list's patterns in turn, each pattern's matches sorted by name. A pattern is relative
// to the directory of the file it is written in. One with a wildcard (* ? [) may match nothing;
// one without names a file that must exist (nginx's rule). A file may be read once per config:
// a second inclusion (a cycle, or two patterns that meet) is an error where it is asked for.
void parse_includes(ParseState& state, const Field& field);

}  // namespace sluice::config
