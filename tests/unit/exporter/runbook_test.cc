// /runbook: alerts/runbook.md rendered with GitHub's heading anchors, so every
// runbook_url of the alert rules and every link inside the runbook lands on
// its section.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/runbook/markdown_html.h"
#include "exporter/runbook/runbook_page.h"

namespace portmap {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first group of every match of `re` in `text`, in order.
std::vector<std::string> Captures(const std::string& text, const std::regex& re) {
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

std::set<std::string> Ids(const std::string& html) {
  const std::vector<std::string> ids = Captures(html, std::regex(R"re(<h[1-6] id="([^"]*)">)re"));
  return {ids.begin(), ids.end()};
}

TEST(HeadingSlugTest, FollowsGithub) {
  EXPECT_EQ(HeadingSlug("PortmapIPForwardDisabled"), "portmapipforwarddisabled");
  EXPECT_EQ(HeadingSlug("Checks by hand (on the Docker host, as root)"),
            "checks-by-hand-on-the-docker-host-as-root");
  EXPECT_EQ(HeadingSlug("How to make fixes stick"), "how-to-make-fixes-stick");
  EXPECT_EQ(HeadingSlug("net.ipv4.ip_forward = 0"), "netipv4ip_forward--0");
  EXPECT_EQ(HeadingSlug("Zone \xc3\xa9t\xc3\xa9"), "zone-\xc3\xa9t\xc3\xa9");
}

TEST(RenderMarkdownHtmlTest, HeadingsGetIdsTablesRenderRawHtmlIsDropped) {
  std::string html;
  ASSERT_TRUE(RenderMarkdownHtml("# A title\n\n## Same\n\n## Same\n\n"
                                 "| a | b |\n|---|---|\n| `x` | <script>y</script> |\n\n"
                                 "```\n<h2>not a heading</h2>\n```\n",
                                 &html)
                  .ok());
  EXPECT_NE(html.find("<h1 id=\"a-title\">A title</h1>"), std::string::npos) << html;
  EXPECT_NE(html.find("<h2 id=\"same\">Same</h2>"), std::string::npos) << html;
  EXPECT_NE(html.find("<h2 id=\"same-1\">Same</h2>"), std::string::npos) << html;
  EXPECT_NE(html.find("<table>"), std::string::npos) << html;
  EXPECT_NE(html.find("<code>x</code>"), std::string::npos) << html;
  EXPECT_EQ(html.find("<script>"), std::string::npos) << html;
  EXPECT_NE(html.find("&lt;h2&gt;not a heading"), std::string::npos) << html;
}

// Every "#anchor" the runbook links to, and every section an alert's
// runbook_url names, is a heading id of the page the exporter serves.
TEST(RunbookPageTest, EveryAnchorOfTheRunbookAndTheRulesResolves) {
  const std::set<std::string> ids = Ids(std::string(kRunbookHtml));
  ASSERT_GT(ids.size(), 10u);

  const std::string markdown = ReadFile(PORTMAP_REPO "/alerts/runbook.md");
  const std::vector<std::string> links = Captures(markdown, std::regex(R"re(\]\(#([^)]+)\))re"));
  for (const std::string& anchor : links) {
    EXPECT_TRUE(ids.count(anchor)) << "runbook.md links to #" << anchor;
  }
  EXPECT_GT(links.size(), 5u);

  const std::string rules = ReadFile(PORTMAP_REPO "/alerts/portmap.rules.yml");
  const std::vector<std::string> urls =
      Captures(rules, std::regex(R"re(runbook_url: .*/runbook#([a-z0-9_-]+))re"));
  for (const std::string& anchor : urls) {
    EXPECT_TRUE(ids.count(anchor)) << "a runbook_url names #" << anchor;
  }
  EXPECT_GE(urls.size(), 13u);
}

TEST(RunbookPageTest, IsAWholeHtmlPageWithTheVersion) {
  HttpResponse r = RunbookPage();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(r.body.find("<h2 id=\"portmapipforwarddisabled\">"), std::string::npos);
  EXPECT_NE(r.body.find("revision "), std::string::npos);
  EXPECT_NE(r.body.find("</html>"), std::string::npos);
}

}  // namespace
}  // namespace portmap
