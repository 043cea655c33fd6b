// The start-up privilege check: the requirement table and the pure check, on
// made-up observations; one ObserveAccess call on files this test owns.
#include "exporter/privileges.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace portmap {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kAdmin = uint64_t{1} << kCapNetAdmin;
constexpr uint64_t kRaw = uint64_t{1} << kCapNetRaw;
constexpr uint64_t kSys = uint64_t{1} << kCapSysAdmin;

const std::vector<std::string> kAll = {"docker",    "firewalld", "forwarding",
                                       "netfilter", "probe",     "verdict"};

PrivilegeInputs Inputs() {
  PrivilegeInputs in;
  in.paths.procfs = "/p";
  in.paths.rootfs = "/r";
  in.bus_socket = "/bus";
  return in;
}

// Everything readable and connectable, no legacy tables, every capability.
AccessFacts AllPresent(const std::vector<Requirement>& reqs) {
  AccessFacts f;
  f.effective_caps = kAdmin | kRaw | kSys;
  for (const Requirement& r : reqs) {
    if (!r.path.empty()) f.path_errors[r.path] = 0;
  }
  f.legacy_tables_loaded = false;
  return f;
}

const PrivilegeFinding* Find(const std::vector<PrivilegeFinding>& fs, const std::string& c) {
  for (const PrivilegeFinding& f : fs) {
    if (f.collector == c) return &f;
  }
  return nullptr;
}

TEST(PrivilegesTest, NothingMissingNoFindings) {
  const auto reqs = CollectorRequirements(Inputs());
  EXPECT_TRUE(CheckPrivileges(kAll, reqs, AllPresent(reqs)).empty());
}

TEST(PrivilegesTest, WithoutCapNetAdminNetfilterFailsProbeAndVerdictDegrade) {
  const auto reqs = CollectorRequirements(Inputs());
  AccessFacts f = AllPresent(reqs);
  f.effective_caps = 0;
  const auto findings = CheckPrivileges(kAll, reqs, f);
  ASSERT_EQ(findings.size(), 3U);
  const PrivilegeFinding* nf = Find(findings, "netfilter");
  ASSERT_NE(nf, nullptr);
  EXPECT_EQ(nf->missing, "no CAP_NET_ADMIN");  // no legacy tables: CAP_NET_RAW not needed
  EXPECT_EQ(nf->consequence,
            "Docker's chains and published ports cannot be read; "
            "portmap_scrape_collector_success{collector=\"netfilter\"} will be 0");
  const PrivilegeFinding* probe = Find(findings, "probe");
  ASSERT_NE(probe, nullptr);
  EXPECT_NE(probe->consequence.find("only configured targets"), std::string::npos);
  EXPECT_NE(probe->consequence.find("still succeeds"), std::string::npos);
  ASSERT_NE(Find(findings, "verdict"), nullptr);
  EXPECT_EQ(Find(findings, "docker"), nullptr);
  EXPECT_EQ(Find(findings, "forwarding"), nullptr);
  EXPECT_EQ(Find(findings, "firewalld"), nullptr);
}

TEST(PrivilegesTest, CapNetRawOnlyWhenLegacyTablesAreLoaded) {
  const auto reqs = CollectorRequirements(Inputs());
  AccessFacts f = AllPresent(reqs);
  f.effective_caps = kAdmin | kSys;
  EXPECT_TRUE(CheckPrivileges(kAll, reqs, f).empty());

  f.legacy_tables_loaded = true;
  auto findings = CheckPrivileges(kAll, reqs, f);
  ASSERT_EQ(findings.size(), 2U) << "netfilter and the verdict read legacy tables";
  EXPECT_EQ(findings[0].collector, "netfilter");
  EXPECT_EQ(findings[0].missing, "no CAP_NET_RAW");
  EXPECT_NE(findings[0].consequence.find("legacy iptables chains cannot be read"),
            std::string::npos);

  f.legacy_tables_loaded.reset();  // the list is unreadable: it may hold some
  f.path_errors["/p/self/net/ip_tables_names"] = EACCES;
  findings = CheckPrivileges(kAll, reqs, f);
  ASSERT_EQ(findings.size(), 2U);
  EXPECT_EQ(findings[0].missing,
            "no CAP_NET_RAW; cannot read /p/self/net/ip_tables_names (Permission denied)");
  EXPECT_NE(findings[0].consequence.find("root and group root only"), std::string::npos);
  EXPECT_NE(findings[0].consequence.find("will be 0"), std::string::npos);
}

TEST(PrivilegesTest, OnlyEnabledCollectorsAreChecked) {
  const auto reqs = CollectorRequirements(Inputs());
  AccessFacts f = AllPresent(reqs);
  f.effective_caps = 0;
  const std::vector<std::string> some = {"docker", "forwarding"};
  EXPECT_TRUE(CheckPrivileges(some, reqs, f).empty());
}

TEST(PrivilegesTest, UnknownCapabilitiesCountAsMissing) {
  const auto reqs = CollectorRequirements(Inputs());
  AccessFacts f = AllPresent(reqs);
  f.effective_caps.reset();
  const auto findings = CheckPrivileges(kAll, reqs, f);
  ASSERT_NE(Find(findings, "netfilter"), nullptr);
  EXPECT_EQ(CapabilityNames(std::nullopt), "unknown");
}

TEST(PrivilegesTest, BusAndDockerSocket) {
  PrivilegeInputs in = Inputs();
  in.probe_docker_socket = "/docker.sock";
  const auto reqs = CollectorRequirements(in);
  AccessFacts f = AllPresent(reqs);
  f.path_errors["/bus"] = ENOENT;  // absent is a lack for the bus
  f.path_errors["/docker.sock"] = EACCES;
  const auto findings = CheckPrivileges(kAll, reqs, f);
  ASSERT_EQ(findings.size(), 2U);
  EXPECT_EQ(findings[0].collector, "firewalld");
  EXPECT_EQ(findings[0].missing, "cannot connect to /bus (No such file or directory)");
  EXPECT_NE(findings[0].consequence.find("collector=\"firewalld\"} will be 0"), std::string::npos);
  EXPECT_EQ(findings[1].collector, "probe");
  EXPECT_EQ(findings[1].missing, "cannot connect to /docker.sock (Permission denied)");
  EXPECT_NE(findings[1].consequence.find("discovery.docker"), std::string::npos);
}

TEST(PrivilegesTest, AbsentOptionalFilesAreNotLacks) {
  const auto reqs = CollectorRequirements(Inputs());
  AccessFacts f = AllPresent(reqs);
  f.path_errors["/r/var/run/docker.pid"] = ENOENT;
  f.path_errors["/r/etc/sysctl.d"] = ENOENT;
  EXPECT_TRUE(CheckPrivileges(kAll, reqs, f).empty());
  f.path_errors["/r/etc/sysctl.d"] = EACCES;  // unreadable: the boot value may be wrong
  const auto findings = CheckPrivileges(kAll, reqs, f);
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].collector, "forwarding");
  EXPECT_NE(findings[0].consequence.find("still succeeds"), std::string::npos);
}

TEST(PrivilegesTest, ProbeWithoutNetfilterDiscoveryNeedsNoCapability) {
  PrivilegeInputs in = Inputs();
  in.probe_netfilter_discovery = false;
  const auto reqs = CollectorRequirements(in);
  AccessFacts f = AllPresent(reqs);
  f.effective_caps = 0;
  EXPECT_EQ(Find(CheckPrivileges(kAll, reqs, f), "probe"), nullptr);
}

TEST(PrivilegesTest, SystemBusSocket) {
  EXPECT_EQ(SystemBusSocket(""), "/run/dbus/system_bus_socket");
  EXPECT_EQ(SystemBusSocket("unix:path=/run/x/bus"), "/run/x/bus");
  EXPECT_EQ(SystemBusSocket("unix:guid=abc,path=/b;tcp:host=h"), "/b");
  EXPECT_EQ(SystemBusSocket("unix:abstract=/tmp/dbus-x"), "");
  EXPECT_EQ(SystemBusSocket("tcp:host=localhost,port=1"), "");
}

TEST(PrivilegesTest, CapabilityNames) {
  EXPECT_EQ(CapabilityNames(kAdmin | kRaw), "cap_net_admin,cap_net_raw");
  EXPECT_EQ(CapabilityNames(kRaw), "cap_net_raw");
  EXPECT_EQ(CapabilityNames(0), "none");
}

// The one impure part, on a tree and a socket of this test's own.
TEST(PrivilegesTest, ObserveAccessOpensAndConnects) {
  const fs::path root = fs::temp_directory_path() / ("privileges_test." + std::to_string(getpid()));
  fs::create_directories(root / "proc/sys/net/ipv4");
  std::ofstream(root / "proc/sys/net/ipv4/ip_forward") << "1\n";
  const std::string sock_path = (root / "bus").string();
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, sock_path.data(), sock_path.size());
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);

  PrivilegeInputs in;
  in.paths.procfs = (root / "proc").string();
  in.paths.rootfs = root.string();
  in.bus_socket = sock_path;
  in.probe_docker_socket = (root / "no-docker.sock").string();
  const auto reqs = CollectorRequirements(in);
  const AccessFacts f = ObserveAccess(reqs, in.paths);
  EXPECT_TRUE(f.effective_caps.has_value());
  EXPECT_EQ(f.path_errors.at((root / "proc/sys/net/ipv4/ip_forward").string()), 0);
  EXPECT_EQ(f.path_errors.at(sock_path), 0);
  EXPECT_EQ(f.path_errors.at((root / "no-docker.sock").string()), ENOENT);
  EXPECT_EQ(f.path_errors.at((root / "proc/self/net/ip_tables_names").string()), ENOENT);
  EXPECT_EQ(f.legacy_tables_loaded, false);  // no ip_tables_names in the fixture

  ::close(listener);
  fs::remove_all(root);
}

}  // namespace
}  // namespace portmap
