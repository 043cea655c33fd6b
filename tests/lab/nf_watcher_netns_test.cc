// The nf_tables watcher against the real kernel, in a network namespace of its
// own (unshare(CLONE_NEWNET) on the test's thread; the watcher thread and the
// `nft` children inherit it): commits whose events overflow the watcher's
// socket are still counted, from the generation its resync reads.
//
// Needs root and nft(8); skips with a message otherwise.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "collectors/netfilter/nf_watcher.h"
#include "util/status.h"

namespace portmap {
namespace {

ino_t NetnsInode() {
  struct stat st {};
  if (::stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return st.st_ino;
}

const ino_t kHostNetns = NetnsInode();

// One `nft -f` run: one transaction, so one commit, with `rules` rules.
bool Commit(const std::string& dir, int n, int rules) {
  const std::string path = dir + "/commit" + std::to_string(n) + ".nft";
  {
    std::ofstream out(path);
    out << "add table ip watchtest\nadd chain ip watchtest c" << n << "\n";
    for (int i = 0; i < rules; ++i) {
      out << "add rule ip watchtest c" << n << " tcp dport " << (1000 + i % 60000)
          << " counter accept\n";
    }
  }
  const std::string cmd = "nft -f " + path;
  return std::system(cmd.c_str()) == 0;  // NOLINT(concurrency-mt-unsafe)
}

TEST(NfWatcherNetnsTest, CommitsLostToAnOverflowAreCounted) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: unshares a network namespace";
  if (std::system("nft --version >/dev/null 2>&1") != 0) {  // NOLINT(concurrency-mt-unsafe)
    GTEST_SKIP() << "needs nft(8)";
  }
  ASSERT_NE(kHostNetns, 0u);
  if (::unshare(CLONE_NEWNET) != 0) {
    GTEST_SKIP() << "unshare(CLONE_NEWNET) failed: " << ErrnoText(errno);
  }
  ASSERT_NE(NetnsInode(), kHostNetns) << "still in the host namespace; refusing to write";
  char dir_template[] = "/tmp/portmap-nfwatch.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;

  // The smallest buffer the kernel allows: a commit of 100k rules (one
  // NEWRULE event each) overflows it, as a 100k-rule restore overflows the
  // default 16 MiB.
  NetfilterWatcher watcher(/*receive_buffer=*/4096);
  ASSERT_TRUE(watcher.WaitListening(std::chrono::seconds(5))) << watcher.Snapshot().error;
  constexpr int kCommits = 3;
  constexpr int kRules = 100000;
  for (int n = 0; n < kCommits; ++n) ASSERT_TRUE(Commit(dir, n, kRules)) << "nft -f failed";

  // Bounded: the watcher reads, overflows, resyncs and reads on.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  NetfilterEventSnapshot snap = watcher.Snapshot();
  while ((snap.resyncs == 0 || snap.ruleset_changes < kCommits) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    snap = watcher.Snapshot();
  }
  EXPECT_GE(snap.resyncs, 1u) << "the buffer did not overflow; the test proves nothing (changes "
                              << snap.ruleset_changes << ")";
  EXPECT_EQ(snap.ruleset_changes, static_cast<uint64_t>(kCommits));
  // No double count from events queued behind the overflow.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(watcher.Snapshot().ruleset_changes, static_cast<uint64_t>(kCommits));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace portmap
