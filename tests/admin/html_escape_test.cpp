// html_escape: the five characters that could end text or an attribute value, nothing else.
#include "proxy/control/admin/html_escape.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy::admin {
namespace {

TEST(HtmlEscape, ReplacesTheFiveSpecialCharacters) {
  EXPECT_EQ(html_escape(R"(<a href="x" title='y'>&</a>)"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
}

TEST(HtmlEscape, LeavesEverythingElseAlone) {
  EXPECT_EQ(html_escape(""), "");
  EXPECT_EQ(html_escape("api-v2_eu.west:8080/x?y=1;z"), "api-v2_eu.west:8080/x?y=1;z");
  EXPECT_EQ(html_escape("Grüße 🚦"), "Grüße 🚦");  // UTF-8 passes through
  EXPECT_EQ(html_escape(std::string_view("a\0b", 3)), std::string("a\0b", 3));
}

TEST(HtmlEscape, EscapesAnAmpersandOnceEvenInAnEntity) {
  // A name that looks like an entity is text, not markup: it must show as written.
  EXPECT_EQ(html_escape("&lt;"), "&amp;lt;");
}

}  // namespace
}  // namespace sluice::proxy::admin
