// /runbook: alerts/runbook.md rendered with GitHub's heading anchors, so every
// runbook_url of the alert rules and every link inside the runbook lands on
// its section.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

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

std::set<std::string> Ids(const std::string& html) {
  std::set<std::string> ids;
  const std::regex id(R"re(<h[1-6] id="([^"]*)">)re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), id); it != std::sregex_iterator();
       ++it) {
    ids.insert((*it)[1]);
  }
  return ids;
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
  const std::regex link(R"re(\]\(#([^)]+)\))re");
  int links = 0;
  for (auto it = std::sregex_iterator(markdown.begin(), markdown.end(), link);
       it != std::sregex_iterator(); ++it, ++links) {
    EXPECT_TRUE(ids.count((*it)[1])) << "runbook.md links to #" << (*it)[1];
  }
  EXPECT_GT(links, 5);

  const std::string rules = ReadFile(PORTMAP_REPO "/alerts/portmap.rules.yml");
  const std::regex runbook_url(R"re(runbook_url: .*/runbook#([a-z0-9_-]+))re");
  int urls = 0;
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), runbook_url);
       it != std::sregex_iterator(); ++it, ++urls) {
    EXPECT_TRUE(ids.count((*it)[1])) << "a runbook_url names #" << (*it)[1];
  }
  EXPECT_GE(urls, 13);
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
