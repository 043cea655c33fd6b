#include "exporter/privileges.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "config/probe_config.h"
#include "util/logging.h"
#include "util/status.h"

namespace portmap {

namespace {

constexpr std::string_view kDefaultBusSocket = "/run/dbus/system_bus_socket";

std::string CapName(int cap) {
  switch (cap) {
    case kCapNetAdmin:
      return "CAP_NET_ADMIN";
    case kCapNetRaw:
      return "CAP_NET_RAW";
    case kCapSysAdmin:
      return "CAP_SYS_ADMIN";
    default:
      return "capability " + std::to_string(cap);
  }
}

std::string SuccessZero(const std::string& collector) {
  return "portmap_scrape_collector_success{collector=\"" + collector + "\"} will be 0";
}

// The legacy table list, below procfs: root and group root only (0440).
std::string LegacyTableList(const Paths& paths) { return paths.Proc("self/net/ip_tables_names"); }

Requirement Cap(std::string collector, int cap, std::string consequence, bool fails) {
  Requirement r;
  r.collector = std::move(collector);
  r.kind = Requirement::Kind::kCapability;
  r.capability = cap;
  r.consequence = std::move(consequence);
  r.fails_collector = fails;
  return r;
}

Requirement PathNeed(std::string collector, Requirement::Kind kind, std::string path,
                     bool absent_ok, std::string consequence, bool fails) {
  Requirement r;
  r.collector = std::move(collector);
  r.kind = kind;
  r.path = std::move(path);
  r.absent_ok = absent_ok;
  r.consequence = std::move(consequence);
  r.fails_collector = fails;
  return r;
}

// 0 when `path` can be opened for reading (listed, for a directory).
int TryRead(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// 0 when a stream connection to the unix socket at `path` is accepted.  The
// peer (dbus-daemon, dockerd) sees a client that closes before saying
// anything, which both take as a routine disconnect.
int TryConnect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return ENAMETOOLONG;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

std::optional<uint64_t> EffectiveCaps() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  // glibc has no capget wrapper; libcap would be a dependency for two words.
  if (::syscall(SYS_capget, &header, data) != 0) return std::nullopt;
  return static_cast<uint64_t>(data[0].effective) |
         (static_cast<uint64_t>(data[1].effective) << 32);
}

}  // namespace

std::string SystemBusSocket(std::string_view address) {
  if (address.empty()) return std::string(kDefaultBusSocket);
  // A D-Bus address is ';'-separated entries, each "transport:key=value,...";
  // sd-bus uses the first it can.  Only a plain unix path is checked here.
  const std::string_view entry = address.substr(0, address.find(';'));
  constexpr std::string_view kPrefix = "unix:";
  if (entry.substr(0, kPrefix.size()) != kPrefix) return "";
  std::string_view params = entry.substr(kPrefix.size());
  while (!params.empty()) {
    const std::string_view kv = params.substr(0, params.find(','));
    if (kv.substr(0, 5) == "path=") return std::string(kv.substr(5));
    if (kv.size() == params.size()) break;
    params.remove_prefix(kv.size() + 1);
  }
  return "";
}

std::vector<Requirement> CollectorRequirements(const PrivilegeInputs& in) {
  using K = Requirement::Kind;
  const Paths& p = in.paths;
  std::vector<Requirement> r;
  // docker: the pid file, else a /proc scan; nothing privileged.
  r.push_back(PathNeed("docker", K::kRead, p.Root(in.docker_pidfile), true,
                       "dockerd is found by a /proc scan instead of its pid file", false));
  // firewalld: the system bus.  (Its zone queries also need a polkit rule for
  // a non-root caller; that is firewalld's decision per call, not checkable
  // here: the collector names it when refused.)
  if (!in.bus_socket.empty()) {
    r.push_back(PathNeed("firewalld", K::kConnect, in.bus_socket, false,
                         "firewalld cannot be asked anything over D-Bus", true));
  }
  // forwarding: world-readable sysctls and sysctl.d; rtnetlink's NETCONF
  // groups take any listener.
  r.push_back(PathNeed("forwarding", K::kRead, p.Proc("sys/net/ipv4/ip_forward"), true,
                       "net.ipv4.ip_forward cannot be read", true));
  r.push_back(PathNeed("forwarding", K::kRead, p.Root("etc/sysctl.d"), true,
                       "the boot-time value (portmap_ip_forward_persisted) may be wrong", false));
  // netfilter: nf_tables dumps and events need CAP_NET_ADMIN; the legacy
  // getsockopt reader also a raw socket, and the list of loaded tables.
  r.push_back(
      Cap("netfilter", kCapNetAdmin, "Docker's chains and published ports cannot be read", true));
  Requirement raw = Cap("netfilter", kCapNetRaw, "legacy iptables chains cannot be read", true);
  raw.only_with_legacy_tables = true;
  r.push_back(std::move(raw));
  r.push_back(PathNeed("netfilter", K::kRead, LegacyTableList(p), true,
                       "the loaded legacy iptables tables cannot be listed (the kernel makes this "
                       "file readable by root and group root only)",
                       true));
  // probe: connects need nothing; discovery does.
  if (in.probe_netfilter_discovery) {
    r.push_back(Cap("probe", kCapNetAdmin,
                    "Docker's published ports are not discovered: only configured targets are "
                    "probed",
                    false));
  }
  if (!in.probe_docker_socket.empty()) {
    r.push_back(PathNeed("probe", K::kConnect, in.probe_docker_socket, false,
                         "discovery.docker cannot list containers", true));
  }
  // verdict: traces through the ruleset as `trace` does: nf_tables over
  // netlink, legacy tables like netfilter; a container's listener is asked
  // inside its namespace (setns).
  r.push_back(Cap("verdict", kCapNetAdmin,
                  "the ruleset cannot be read, so no published port is judged", true));
  Requirement vraw = Cap("verdict", kCapNetRaw, "legacy iptables rules cannot be traced", true);
  vraw.only_with_legacy_tables = true;
  r.push_back(std::move(vraw));
  r.push_back(PathNeed("verdict", K::kRead, LegacyTableList(p), true,
                       "the loaded legacy iptables tables cannot be listed, so nothing is traced",
                       true));
  r.push_back(Cap("verdict", kCapSysAdmin,
                  "a container's own listener is not checked: a container port is assumed to "
                  "answer, so no_listener is never named",
                  false));
  return r;
}

AccessFacts ObserveAccess(const std::vector<Requirement>& requirements, const Paths& paths) {
  AccessFacts facts;
  facts.effective_caps = EffectiveCaps();
  for (const Requirement& r : requirements) {
    if (r.path.empty() || facts.path_errors.count(r.path) > 0) continue;
    facts.path_errors[r.path] =
        r.kind == Requirement::Kind::kConnect ? TryConnect(r.path) : TryRead(r.path);
  }
  const std::string list = LegacyTableList(paths);
  const int err = TryRead(list);
  if (err == ENOENT) {
    facts.legacy_tables_loaded = false;  // x_tables not loaded at all
  } else if (err == 0) {
    std::ifstream in(list);
    std::string name;
    bool any = false;
    while (std::getline(in, name)) any = any || !name.empty();
    facts.legacy_tables_loaded = any;
  }
  return facts;
}

std::vector<PrivilegeFinding> CheckPrivileges(std::span<const std::string> enabled,
                                              const std::vector<Requirement>& requirements,
                                              const AccessFacts& facts) {
  std::vector<PrivilegeFinding> findings;
  for (const std::string& collector : enabled) {
    PrivilegeFinding f{collector, "", ""};
    bool fails = false;
    for (const Requirement& r : requirements) {
      if (r.collector != collector) continue;
      std::string missing;
      if (r.kind == Requirement::Kind::kCapability) {
        if (r.only_with_legacy_tables && facts.legacy_tables_loaded == false) continue;
        const bool has =
            facts.effective_caps.has_value() && ((*facts.effective_caps >> r.capability) & 1U) != 0;
        if (has) continue;
        missing = "no " + CapName(r.capability);
      } else {
        auto it = facts.path_errors.find(r.path);
        const int err = it == facts.path_errors.end() ? 0 : it->second;
        if (err == 0 || (err == ENOENT && r.absent_ok)) continue;
        missing = (r.kind == Requirement::Kind::kConnect ? "cannot connect to " : "cannot read ") +
                  r.path + " (" + ErrnoText(err) + ")";
      }
      AppendError(&f.missing, missing);
      AppendError(&f.consequence, r.consequence);
      fails = fails || r.fails_collector;
    }
    if (f.missing.empty()) continue;
    AppendError(&f.consequence,
                fails ? SuccessZero(collector) : "the collector still succeeds with less data");
    findings.push_back(std::move(f));
  }
  return findings;
}

std::string CapabilityNames(std::optional<uint64_t> caps) {
  if (!caps) return "unknown";
  std::string names;
  for (int cap : {kCapNetAdmin, kCapNetRaw, kCapSysAdmin}) {
    if (((*caps >> cap) & 1U) == 0) continue;
    if (!names.empty()) names += ",";
    std::string name = CapName(cap);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    names += name;
  }
  return names.empty() ? "none" : names;
}

PrivilegeInputs PrivilegeInputsFor(const Paths& paths, const std::string& docker_pidfile,
                                   const ProbeConfig& probe) {
  PrivilegeInputs in;
  in.paths = paths;
  in.docker_pidfile = docker_pidfile;
  const char* bus = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");  // NOLINT(concurrency-mt-unsafe)
  in.bus_socket = SystemBusSocket(bus != nullptr ? bus : "");
  in.probe_netfilter_discovery = probe.netfilter.enabled;
  if (probe.docker.enabled) in.probe_docker_socket = probe.docker.socket;
  return in;
}

void LogPrivilegeCheck(const std::map<std::string, bool>& collectors, const PrivilegeInputs& in) {
  std::vector<std::string> enabled;
  for (const auto& [name, on] : collectors) {
    if (on) enabled.push_back(name);
  }
  const std::vector<Requirement> requirements = CollectorRequirements(in);
  const AccessFacts facts = ObserveAccess(requirements, in.paths);
  const std::vector<PrivilegeFinding> findings = CheckPrivileges(enabled, requirements, facts);
  for (const PrivilegeFinding& f : findings) {
    LogWarn("Collector lacks what it needs",
            {{"collector", f.collector}, {"missing", f.missing}, {"consequence", f.consequence}});
  }
  if (findings.empty()) {
    LogInfo("Every enabled collector has what it needs",
            {{"uid", std::to_string(::geteuid())},
             {"capabilities", CapabilityNames(facts.effective_caps)}});
  }
}

}  // namespace portmap
