// Namespaces entered one by one, each on its own thread.
#include "pathtrace/netns_peer.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>
#include <utility>

#include "pathtrace/kernel_live.h"

namespace portmap::pathtrace {

namespace {

// In the namespace of `file`: does it hold addr, and does a socket listen?
// Runs on its own thread; the caller's thread never changes namespace.
PeerAnswer AskNamespace(const Paths& paths, const std::string& file, uint8_t nfproto,
                        uint8_t l4proto, const Addr& addr, uint16_t port) {
  PeerAnswer answer;
  std::thread t([&] {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const bool entered = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (!entered) return;
    Status st;
    auto kernel = LiveKernel::Open(paths, &st);
    if (kernel == nullptr) return;
    bool local = false;
    if (!kernel->IsLocalAddress(addr, 0, &local).ok() || !local) return;
    bool listening = false;
    if (!kernel->Listening(nfproto, l4proto, addr, port, &listening).ok()) return;
    answer.found = true;
    answer.listening = listening;
    answer.ns = file;
  });
  t.join();
  return answer;
}

}  // namespace

Status FindPeerListener(const Paths& paths, uint8_t nfproto, uint8_t l4proto, const Addr& addr,
                        uint16_t port, PeerAnswer* answer) {
  *answer = PeerAnswer{};
  struct stat self {};
  const bool have_self = ::stat(paths.Proc("self/ns/net").c_str(), &self) == 0;
  std::set<std::pair<dev_t, ino_t>> seen;  // /var/run is usually /run: each namespace once
  for (const char* dir : kNetnsDirs) {
    std::error_code ec;
    std::filesystem::directory_iterator it(paths.Root(dir), ec);
    if (ec) continue;  // no such directory: nothing of that kind here
    for (const auto& entry : it) {
      struct stat st {};
      if (::stat(entry.path().c_str(), &st) != 0) continue;
      if (!seen.insert({st.st_dev, st.st_ino}).second) continue;
      if (have_self && st.st_dev == self.st_dev && st.st_ino == self.st_ino) continue;
      PeerAnswer a = AskNamespace(paths, entry.path().string(), nfproto, l4proto, addr, port);
      if (a.found) {
        *answer = std::move(a);
        return Status::Ok();
      }
    }
  }
  return Status::Ok();
}

}  // namespace portmap::pathtrace
