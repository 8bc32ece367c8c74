// Text for an HTML page. Every string the status page shows that it did not write itself
// (cluster, endpoint, route, listener and limit names come from the config file or discovery)
// goes through here, so none of them can open a tag or leave a quoted attribute.
// Pure: any thread.
#pragma once

#include <string>
#include <string_view>

namespace sluice::proxy::admin {

// `text` with & < > " ' replaced by their character references; everything else (UTF-8
// included) as is. Safe in element content and in single- or double-quoted attribute values.
std::string html_escape(std::string_view text);

}  // namespace sluice::proxy::admin
