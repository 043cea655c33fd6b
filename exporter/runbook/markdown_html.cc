#include "exporter/runbook/markdown_html.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace portmap {
namespace {

struct ParserDeleter {
  void operator()(cmark_parser* p) const { cmark_parser_free(p); }
};
struct NodeDeleter {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
};
struct IterDeleter {
  void operator()(cmark_iter* i) const { cmark_iter_free(i); }
};

// The text a reader sees in a heading: its text and code spans, in order.
std::string HeadingText(cmark_node* heading) {
  std::string text;
  std::unique_ptr<cmark_iter, IterDeleter> it(cmark_iter_new(heading));
  for (cmark_event_type ev; (ev = cmark_iter_next(it.get())) != CMARK_EVENT_DONE;) {
    if (ev != CMARK_EVENT_ENTER) continue;
    cmark_node* n = cmark_iter_get_node(it.get());
    const cmark_node_type type = cmark_node_get_type(n);
    if (type == CMARK_NODE_TEXT || type == CMARK_NODE_CODE) {
      const char* literal = cmark_node_get_literal(n);
      if (literal != nullptr) text += literal;
    }
  }
  return text;
}

// Every heading's unique slug, in document order.
std::vector<std::string> HeadingIds(cmark_node* doc) {
  std::vector<std::string> ids;
  std::map<std::string, int> seen;
  std::unique_ptr<cmark_iter, IterDeleter> it(cmark_iter_new(doc));
  for (cmark_event_type ev; (ev = cmark_iter_next(it.get())) != CMARK_EVENT_DONE;) {
    cmark_node* n = cmark_iter_get_node(it.get());
    if (ev != CMARK_EVENT_ENTER || cmark_node_get_type(n) != CMARK_NODE_HEADING) continue;
    std::string slug = HeadingSlug(HeadingText(n));
    const int count = seen[slug]++;
    if (count > 0) slug += "-" + std::to_string(count);
    ids.push_back(std::move(slug));
  }
  return ids;
}

}  // namespace

std::string HeadingSlug(std::string_view text) {
  std::string slug;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 'A' && u <= 'Z') {
      slug += static_cast<char>(u - 'A' + 'a');
    } else if ((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '_' ||
               u >= 0x80) {
      slug += c;
    } else if (u == ' ') {
      slug += '-';
    }
  }
  return slug;
}

Status RenderMarkdownHtml(std::string_view markdown, std::string* html) {
  cmark_gfm_core_extensions_ensure_registered();
  std::unique_ptr<cmark_parser, ParserDeleter> parser(cmark_parser_new(CMARK_OPT_DEFAULT));
  for (const char* name : {"table", "autolink", "strikethrough"}) {
    cmark_syntax_extension* ext = cmark_find_syntax_extension(name);
    if (ext == nullptr)
      return Status::Error(std::string("cmark-gfm has no '") + name + "' extension");
    cmark_parser_attach_syntax_extension(parser.get(), ext);
  }
  cmark_parser_feed(parser.get(), markdown.data(), markdown.size());
  std::unique_ptr<cmark_node, NodeDeleter> doc(cmark_parser_finish(parser.get()));
  if (!doc) return Status::Error("cmark-gfm could not parse the document");

  char* rendered = cmark_render_html(doc.get(), CMARK_OPT_DEFAULT,
                                     cmark_parser_get_syntax_extensions(parser.get()));
  if (rendered == nullptr) return Status::Error("cmark-gfm could not render the document");
  const std::string out(rendered);
  free(rendered);  // NOLINT(cppcoreguidelines-no-malloc): cmark's allocator is malloc

  // Safe mode escapes raw HTML, so the only "<hN>" in the output open the
  // document's headings, in document order.
  const std::vector<std::string> ids = HeadingIds(doc.get());
  html->clear();
  size_t next = 0;
  size_t pos = 0;
  for (;;) {
    const size_t at = out.find("<h", pos);
    if (at == std::string::npos) break;
    const bool heading =
        at + 3 < out.size() && out[at + 2] >= '1' && out[at + 2] <= '6' && out[at + 3] == '>';
    if (!heading) {
      html->append(out, pos, at + 2 - pos);
      pos = at + 2;
      continue;
    }
    if (next == ids.size()) return Status::Error("more headings rendered than parsed");
    html->append(out, pos, at - pos);
    *html += "<h";
    *html += out[at + 2];
    *html += " id=\"" + ids[next++] + "\">";
    pos = at + 4;
  }
  html->append(out, pos, std::string::npos);
  if (next != ids.size()) return Status::Error("fewer headings rendered than parsed");
  return Status::Ok();
}

}  // namespace portmap
