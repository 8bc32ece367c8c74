// Which parts of the schema the proxy implements today. The whole schema is parsed and
// validated; using a part that is not implemented yet is an error ("... is not supported
// yet") rather than being silently ignored. The table lives in support.cpp; implementing a
// feature means deleting its line there. Any thread may call these.
#pragma once

#include <string>
#include <string_view>

namespace sluice::config {

// `schema_path` is a key path without list indices ("listeners.tls"). With an empty `value`
// the question is "may this key be used at all"; otherwise "may it have this value".
bool is_supported(std::string_view schema_path, std::string_view value = {});

// "listeners[2].routes[0].cluster" -> "listeners.routes.cluster".
std::string schema_path_of(std::string_view path);

}  // namespace sluice::config
