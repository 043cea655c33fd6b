// The x_tables reader: the loaded-table list, the two getsockopt calls, and
// a text form of a table for recorded test data.
#include "netlink/xtables.h"

// glibc's netinet/in.h before any linux/ header: the other order redefines
// struct in_addr.
// clang-format off
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netfilter_ipv4/ip_tables.h>
// clang-format on

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace portmap {

namespace {

// Closes the raw socket on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// One GET_INFO + GET_ENTRIES round; EAGAIN when the table changed in between.
NetlinkStatus ReadOnce(int fd, const std::string& table, XtTableBlob* blob) {
  ipt_getinfo info{};
  std::strncpy(info.name, table.c_str(), sizeof(info.name) - 1);
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len) < 0) {
    return NetlinkStatus::Errno(errno, "IPT_SO_GET_INFO " + table);
  }
  // ipt_get_entries is a header followed by the blob; keep it in one
  // aligned buffer (the kernel copies ipt_entry structs into it).
  const size_t total = offsetof(ipt_get_entries, entrytable) + info.size;
  std::vector<uint64_t> buf((total + sizeof(uint64_t) - 1) / sizeof(uint64_t));
  auto* entries = reinterpret_cast<ipt_get_entries*>(buf.data());
  std::strncpy(entries->name, table.c_str(), sizeof(entries->name) - 1);
  entries->size = info.size;
  len = static_cast<socklen_t>(total);
  if (::getsockopt(fd, IPPROTO_IP, IPT_SO_GET_ENTRIES, entries, &len) < 0) {
    return NetlinkStatus::Errno(errno, "IPT_SO_GET_ENTRIES " + table);
  }
  blob->name = table;
  blob->valid_hooks = info.valid_hooks;
  for (int h = 0; h < kXtNumHooks; ++h) {
    blob->hook_entry[h] = info.hook_entry[h];
    blob->underflow[h] = info.underflow[h];
  }
  blob->num_entries = info.num_entries;
  const auto* begin =
      reinterpret_cast<const uint8_t*>(buf.data()) + offsetof(ipt_get_entries, entrytable);
  blob->entries.assign(begin, begin + info.size);
  return NetlinkStatus::Ok();
}

}  // namespace

namespace {

// The names in <procfs>/self/net/<file>, one per line; a missing file (the
// module is not loaded) is an empty list.
NetlinkStatus ReadTableNames(const Paths& paths, const char* file_name,
                             std::vector<std::string>* tables) {
  tables->clear();
  const std::string file = paths.Proc(std::string("self/net/") + file_name);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec) && !ec) return NetlinkStatus::Ok();  // not loaded
  std::ifstream in(file);
  if (!in) return NetlinkStatus::Errno(errno != 0 ? errno : EIO, "read " + file);
  std::string name;
  while (std::getline(in, name)) {
    if (!name.empty()) tables->push_back(name);
  }
  return NetlinkStatus::Ok();
}

}  // namespace

NetlinkStatus XtLoadedTables(const Paths& paths, std::vector<std::string>* tables) {
  return ReadTableNames(paths, "ip_tables_names", tables);
}

NetlinkStatus XtLoadedIp6Tables(const Paths& paths, std::vector<std::string>* tables) {
  return ReadTableNames(paths, "ip6_tables_names", tables);
}

NetlinkStatus XtReadTable(const std::string& table, std::chrono::steady_clock::time_point deadline,
                          XtTableBlob* blob) {
  if (table.size() >= XT_TABLE_MAXNAMELEN) {
    return NetlinkStatus::Errno(ENAMETOOLONG, "x_tables table " + table);
  }
  Fd fd(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (fd.get() < 0) return NetlinkStatus::Errno(errno, "raw socket for x_tables");
  NetlinkStatus st;
  for (int attempt = 0; attempt < kXtReadAttempts; ++attempt) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return NetlinkStatus::Errno(ETIMEDOUT, "x_tables " + table);
    }
    st = ReadOnce(fd.get(), table, blob);
    if (st.err != EAGAIN) return st;
  }
  return st;
}

std::string XtTableBlobToText(const XtTableBlob& blob) {
  std::ostringstream out;
  out << "table " << blob.name << " hooks " << blob.valid_hooks << " entries " << blob.num_entries;
  for (int h = 0; h < kXtNumHooks; ++h) out << ' ' << blob.hook_entry[h];
  for (int h = 0; h < kXtNumHooks; ++h) out << ' ' << blob.underflow[h];
  out << '\n';
  static constexpr char kHex[] = "0123456789abcdef";
  for (uint8_t b : blob.entries) out << kHex[b >> 4] << kHex[b & 15];
  out << '\n';
  return out.str();
}

NetlinkStatus XtTableBlobFromText(const std::string& text, XtTableBlob* blob) {
  std::istringstream in(text);
  std::string line;
  // Comment lines ('#') may precede the header.
  while (std::getline(in, line) && (line.empty() || line[0] == '#')) {
  }
  std::istringstream head(line);
  std::string w1, w2, w3;
  head >> w1 >> blob->name >> w2 >> blob->valid_hooks >> w3 >> blob->num_entries;
  for (uint32_t& v : blob->hook_entry) head >> v;
  for (uint32_t& v : blob->underflow) head >> v;
  if (!head || w1 != "table" || w2 != "hooks" || w3 != "entries") {
    return NetlinkStatus::Errno(EINVAL, "x_tables text header");
  }
  std::string hex;
  std::getline(in, hex);
  if (hex.size() % 2 != 0) return NetlinkStatus::Errno(EINVAL, "x_tables text hex");
  blob->entries.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    if (std::sscanf(hex.c_str() + i, "%2x", &v) != 1) {
      return NetlinkStatus::Errno(EINVAL, "x_tables text hex");
    }
    blob->entries.push_back(static_cast<uint8_t>(v));
  }
  return NetlinkStatus::Ok();
}

}  // namespace portmap
