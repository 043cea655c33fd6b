#include "util/paths.h"

namespace portmap {

std::string Paths::Join(std::string_view root, std::string_view rel) {
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  std::string out(root);
  if (rel.empty()) return out;
  if (out.empty() || out.back() != '/') out += '/';
  out += rel;
  return out;
}

}  // namespace portmap
