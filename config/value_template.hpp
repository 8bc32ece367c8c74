// Header value templates: "%{client_ip}", "req=%{request_id}; 100%%". Parsed once when the
// config is read, so a worker only copies literals and looks variables up. A pure string
// parser (fuzzed: tests/fuzz/value_template_fuzz.cpp); any thread.
#pragma once

#include <optional>
#include <string_view>

#include "config/config.hpp"
#include "config/scalars.hpp"

namespace sluice::config {

// `%{name}` names a TemplateVariable, `%%` is a '%'; any other '%' is an error, as is a byte an
// HTTP field value cannot hold (CR, LF, NUL and the other controls but HTAB).
Parsed<ValueTemplate> parse_value_template(std::string_view text);

// "client_ip" -> TemplateVariable::client_ip; nullopt for a name that is none.
std::optional<TemplateVariable> template_variable(std::string_view name);
// The names, for messages and docs: "client_ip, request_id, ...".
std::string_view template_variable_names();

}  // namespace sluice::config
