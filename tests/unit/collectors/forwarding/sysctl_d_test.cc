// The systemd-sysctl precedence rules, one fixture tree per rule.  Trees are
// built in a temporary directory (symlinks, unreadable entries and CRLF are
// awkward to keep in git).
#include "collectors/forwarding/sysctl_d.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace portmap {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIpv4[] = {"net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"};
constexpr std::string_view kIpv6[] = {"net.ipv6.conf.all.forwarding"};

class SysctlTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sysctl_d_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(root_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(root_, ec);
  }

  void Write(const std::string& rel, const std::string& text) {
    fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  void Link(const std::string& rel, const std::string& target) {
    fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    fs::create_symlink(target, p);
  }
  SysctlResolution Resolve(std::span<const std::string_view> keys = kIpv4) {
    config_ = LoadSysctlConfig(root_.string());
    return ResolveSysctl(config_, keys);
  }

  fs::path root_;
  SysctlConfig config_;
};

TEST(NormalizeSysctlKeyTest, DotsSlashesAndInterfaceNamesWithDots) {
  EXPECT_EQ(NormalizeSysctlKey("net.ipv4.ip_forward"), "net/ipv4/ip_forward");
  EXPECT_EQ(NormalizeSysctlKey("net/ipv4/ip_forward"), "net/ipv4/ip_forward");
  EXPECT_EQ(NormalizeSysctlKey("/net//ipv4/./ip_forward"), "net/ipv4/ip_forward");
  // The first separator decides: with '.', a '/' stands for a dot in a name.
  EXPECT_EQ(NormalizeSysctlKey("net.ipv4.conf.eth0/1.forwarding"),
            "net/ipv4/conf/eth0.1/forwarding");
  EXPECT_EQ(NormalizeSysctlKey("net/ipv4/conf/eth0.1/forwarding"),
            "net/ipv4/conf/eth0.1/forwarding");
}

TEST_F(SysctlTreeTest, MissingDirectoriesMeanUnset) {
  SysctlResolution r = Resolve();
  EXPECT_FALSE(r.set);
  EXPECT_EQ(r.file, "");
  EXPECT_TRUE(config_.problems.empty());
}

TEST_F(SysctlTreeTest, SameNameInEarlierDirectoryMasksLater) {
  Write("usr/lib/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward = 1\n");
  Write("etc/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward = 0\n");
  SysctlResolution r = Resolve();
  EXPECT_TRUE(r.set);
  EXPECT_EQ(r.value, "0");
  EXPECT_EQ(r.file, "/etc/sysctl.d/50-fwd.conf");
}

TEST_F(SysctlTreeTest, RunAndUsrLocalSitBetweenEtcAndUsrLib) {
  Write("usr/lib/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward = 0\n");
  Write("usr/local/lib/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward = 1\n");
  EXPECT_EQ(Resolve().file, "/usr/local/lib/sysctl.d/50-fwd.conf");
  Write("run/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward = 0\n");
  EXPECT_EQ(Resolve().file, "/run/sysctl.d/50-fwd.conf");
}

TEST_F(SysctlTreeTest, SymlinkToDevNullMasksAway) {
  Write("usr/lib/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward = 1\n");
  Link("etc/sysctl.d/50-fwd.conf", "/dev/null");  // no dev/null under the root
  SysctlResolution r = Resolve();
  EXPECT_FALSE(r.set);
  EXPECT_TRUE(config_.problems.empty());
}

TEST_F(SysctlTreeTest, FilesOrderedByNameAcrossDirectories) {
  // /usr/lib's 60- sorts after /etc's 50-, so it is read later and wins.
  Write("etc/sysctl.d/50-a.conf", "net.ipv4.ip_forward = 1\n");
  Write("usr/lib/sysctl.d/60-b.conf", "net.ipv4.ip_forward = 0\n");
  SysctlResolution r = Resolve();
  EXPECT_EQ(r.value, "0");
  EXPECT_EQ(r.file, "/usr/lib/sysctl.d/60-b.conf");
}

TEST_F(SysctlTreeTest, LastAssignmentWinsWithLine) {
  Write("etc/sysctl.d/10-x.conf", "net.ipv4.ip_forward = 1\n\nnet.ipv4.ip_forward = 0\n");
  SysctlResolution r = Resolve();
  EXPECT_EQ(r.value, "0");
  EXPECT_EQ(r.line, 3u);
}

TEST_F(SysctlTreeTest, SameValueAgainKeepsTheEarlierOrigin) {
  Write("etc/sysctl.d/10-x.conf", "net.ipv4.ip_forward = 1\n");
  Write("etc/sysctl.d/20-y.conf", "net.ipv4.ip_forward=1\n");
  EXPECT_EQ(Resolve().file, "/etc/sysctl.d/10-x.conf");
}

TEST_F(SysctlTreeTest, SysctlConfReadLastWhenNoFileLeadsToIt) {
  Write("etc/sysctl.d/99-zzz.conf", "net.ipv4.ip_forward = 1\n");
  Write("etc/sysctl.conf", "net.ipv4.ip_forward = 0\n");
  SysctlResolution r = Resolve();
  EXPECT_EQ(r.value, "0");
  EXPECT_EQ(r.file, "/etc/sysctl.conf");
}

TEST_F(SysctlTreeTest, DebianSymlinkReadsSysctlConfInItsPlace) {
  // Debian's systemd ships /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf and
  // systemd 252 does not read /etc/sysctl.conf otherwise: a later name wins.
  Write("etc/sysctl.conf", "net.ipv4.ip_forward = 0\n");
  Link("etc/sysctl.d/99-sysctl.conf", "../sysctl.conf");
  Write("usr/lib/sysctl.d/99-zzz.conf", "net.ipv4.ip_forward = 1\n");
  SysctlResolution r = Resolve();
  EXPECT_EQ(r.value, "1");
  EXPECT_EQ(r.file, "/usr/lib/sysctl.d/99-zzz.conf");

  fs::remove(root_ / "usr/lib/sysctl.d/99-zzz.conf");
  r = Resolve();
  EXPECT_EQ(r.value, "0");
  EXPECT_EQ(r.file, "/etc/sysctl.d/99-sysctl.conf");
}

TEST_F(SysctlTreeTest, AbsoluteSymlinkIsFollowedBelowTheRoot) {
  Write("opt/fwd.conf", "net.ipv4.ip_forward = 1\n");
  Link("etc/sysctl.d/50-fwd.conf", "/opt/fwd.conf");
  EXPECT_EQ(Resolve().value, "1");
}

TEST_F(SysctlTreeTest, DanglingSymlinkIsIgnoredButStillMasks) {
  Write("usr/lib/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward = 1\n");
  Link("etc/sysctl.d/50-fwd.conf", "/nowhere.conf");
  EXPECT_FALSE(Resolve().set);
}

TEST_F(SysctlTreeTest, GlobSetsTheSwitch) {
  Write("etc/sysctl.d/50-fwd.conf", "net.ipv4.conf.*.forwarding = 1\n");
  SysctlResolution r = Resolve();
  EXPECT_TRUE(r.set);
  EXPECT_EQ(r.value, "1");
  EXPECT_FALSE(Resolve(kIpv6).set);  // the IPv4 glob leaves IPv6 alone
  // '*' stays within one path component.
  Write("etc/sysctl.d/50-fwd.conf", "net.*.forwarding = 1\n");
  EXPECT_FALSE(Resolve().set);
}

TEST_F(SysctlTreeTest, ExplicitKeyShieldsItFromGlobsWhateverTheOrder) {
  Write("etc/sysctl.d/10-all.conf", "net.ipv6.conf.all.forwarding = 0\n");
  Write("etc/sysctl.d/20-glob.conf", "net.ipv6.conf.*.forwarding = 1\n");
  EXPECT_EQ(Resolve(kIpv6).value, "0");
}

TEST_F(SysctlTreeTest, NegativeMatchExcludesFromGlob) {
  Write("etc/sysctl.d/50-fwd.conf",
        "net.ipv6.conf.*.forwarding = 1\n-net.ipv6.conf.all.forwarding\n");
  EXPECT_FALSE(Resolve(kIpv6).set);
}

TEST_F(SysctlTreeTest, GlobOnAliasOverridesEarlierIpForward) {
  // ip_forward and conf.all.forwarding are one kernel value: a later glob
  // write to conf/all/forwarding switches ip_forward off again.
  Write("etc/sysctl.d/10-docker.conf", "net.ipv4.ip_forward = 1\n");
  Write("etc/sysctl.d/90-harden.conf", "net.ipv4.conf.*.forwarding = 0\n");
  SysctlResolution r = Resolve();
  EXPECT_EQ(r.value, "0");
  EXPECT_EQ(r.file, "/etc/sysctl.d/90-harden.conf");
}

TEST_F(SysctlTreeTest, AllForwardingIsTheSameSwitch) {
  Write("etc/sysctl.d/10-a.conf", "net.ipv4.ip_forward = 0\n");
  Write("etc/sysctl.d/20-b.conf", "net.ipv4.conf.all.forwarding = 1\n");
  EXPECT_EQ(Resolve().value, "1");
}

TEST_F(SysctlTreeTest, DashPrefixOnlyIgnoresFailures) {
  Write("etc/sysctl.d/50-fwd.conf", "-net.ipv4.ip_forward = 1\n");
  EXPECT_EQ(Resolve().value, "1");
}

TEST_F(SysctlTreeTest, SlashSeparatedKeys) {
  Write("etc/sysctl.d/50-fwd.conf", "net/ipv4/ip_forward=1\n");
  EXPECT_EQ(Resolve().value, "1");
}

TEST_F(SysctlTreeTest, CommentsAndBlankLines) {
  Write("etc/sysctl.d/50-fwd.conf",
        "# net.ipv4.ip_forward = 0\n  ; net.ipv4.ip_forward = 0\n\n   \nnet.ipv4.ip_forward = 1\n");
  SysctlResolution r = Resolve();
  EXPECT_EQ(r.value, "1");
  EXPECT_EQ(r.line, 5u);
  EXPECT_TRUE(config_.problems.empty());
}

TEST_F(SysctlTreeTest, CrlfAndLoneCrEndLines) {
  Write("etc/sysctl.d/50-fwd.conf", "# from Windows\r\nnet.ipv4.ip_forward = 1\r\n");
  SysctlResolution r = Resolve();
  EXPECT_EQ(r.value, "1");
  EXPECT_EQ(r.line, 2u);
  Write("etc/sysctl.d/60-cr.conf", "# old Mac\rnet.ipv4.ip_forward = 0\r");
  r = Resolve();
  EXPECT_EQ(r.value, "0");
  EXPECT_EQ(r.line, 2u);
}

TEST_F(SysctlTreeTest, OnlyVisibleDotConfFilesCount) {
  Write("etc/sysctl.d/50-fwd.conf.dpkg-old", "net.ipv4.ip_forward = 1\n");
  Write("etc/sysctl.d/.50-hidden.conf", "net.ipv4.ip_forward = 1\n");
  Write("etc/sysctl.d/README", "net.ipv4.ip_forward = 1\n");
  EXPECT_FALSE(Resolve().set);
}

TEST_F(SysctlTreeTest, MalformedLineIsReportedAndSkipped) {
  Write("etc/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward 1\nnet.ipv4.ip_forward = 1\n");
  SysctlResolution r = Resolve();
  EXPECT_EQ(r.value, "1");
  ASSERT_EQ(config_.problems.size(), 1u);
  EXPECT_EQ(config_.problems[0].file, "/etc/sysctl.d/50-fwd.conf");
  EXPECT_EQ(config_.problems[0].line, 1u);
  EXPECT_EQ(config_.problems[0].kind, SysctlProblem::Kind::kNotAssignment);
}

TEST_F(SysctlTreeTest, UnreadableFileIsReportedAndTheRestStillCounts) {
  // A directory named like a file fails to read even for root.
  fs::create_directories(root_ / "etc/sysctl.d/20-dir.conf");
  Write("etc/sysctl.d/10-fwd.conf", "net.ipv4.ip_forward = 1\n");
  SysctlResolution r = Resolve();
  EXPECT_EQ(r.value, "1");
  ASSERT_EQ(config_.problems.size(), 1u);
  EXPECT_EQ(config_.problems[0].file, "/etc/sysctl.d/20-dir.conf");
  EXPECT_EQ(config_.problems[0].line, 0u);
  EXPECT_EQ(config_.problems[0].kind, SysctlProblem::Kind::kUnreadable);
}

TEST_F(SysctlTreeTest, PermissionDeniedFileIsReported) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads mode-000 files; covered by the directory case";
  Write("etc/sysctl.d/10-fwd.conf", "net.ipv4.ip_forward = 1\n");
  fs::permissions(root_ / "etc/sysctl.d/10-fwd.conf", fs::perms::none);
  EXPECT_FALSE(Resolve().set);
  ASSERT_EQ(config_.problems.size(), 1u);
  EXPECT_EQ(config_.problems[0].kind, SysctlProblem::Kind::kUnreadable);
}

TEST_F(SysctlTreeTest, SeparateLibDirectoryIsReadButNotAMergedOne) {
  Write("lib/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward = 1\n");
  EXPECT_EQ(Resolve().file, "/lib/sysctl.d/50-fwd.conf");
  // /usr/lib's copy of the same name comes first.
  Write("usr/lib/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward = 0\n");
  EXPECT_EQ(Resolve().file, "/usr/lib/sysctl.d/50-fwd.conf");
}

TEST_F(SysctlTreeTest, MergedUsrLibIsListedOnce) {
  Write("usr/lib/sysctl.d/50-fwd.conf", "net.ipv4.ip_forward = 1\n");
  Link("lib", "usr/lib");
  Resolve();
  EXPECT_EQ(config_.files.size(), 1u);
}

TEST(ParseSysctlConfTest, OverlongLineStopsTheFile) {
  SysctlConfig config;
  std::string text = "net.ipv4.ip_forward = 1\n" + std::string(1024 * 1024 + 1, 'x') +
                     "\nnet.ipv4.ip_forward = 0\n";
  ParseSysctlConf("/etc/sysctl.d/big.conf", text, &config);
  SysctlResolution r = ResolveSysctl(config, kIpv4);
  EXPECT_EQ(r.value, "1");
  ASSERT_EQ(config.problems.size(), 1u);
  EXPECT_EQ(config.problems[0].kind, SysctlProblem::Kind::kLineTooLong);
  EXPECT_EQ(config.problems[0].line, 2u);
}

}  // namespace
}  // namespace portmap
