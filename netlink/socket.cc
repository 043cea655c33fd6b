#include "netlink/socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "util/status.h"

namespace portmap {

namespace {

// Large enough for any datagram the kernel sends on a dump (newer libmnl's
// MNL_SOCKET_DUMP_SIZE); a short buffer would truncate big dump batches.
constexpr size_t kBufferSize = 32768;
// Datagrams read per wake-up: drains a burst, yet returns to the caller (and
// its stop check) even under an endless stream of events.
constexpr int kMaxBatch = 64;
// Datagrams DiscardPending() reads at most: more than a 1 MiB buffer holds.
constexpr int kMaxDiscard = 4096;

int Trampoline(const nlmsghdr* nlh, void* data) {
  return (*static_cast<const NetlinkCallback*>(data))(nlh);
}

// Milliseconds until `deadline`, for poll(); 0 once it has passed.
int MillisUntil(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return 0;
  return left.count() > 60000 ? 60000 : static_cast<int>(left.count());
}

// The end of the longest prefix of `buf` made of whole messages.  libmnl
// 1.0.4's mnl_nlmsg_ok() compares (int)nlmsg_len: a length of 2^31 or more
// turns negative, passes, and the next header is read far out of bounds
// (found by tests/fuzz/netconf_fuzz).  The kernel never sends that, but
// recorded and fuzzed bytes can, so libmnl only ever sees this prefix.
size_t WholeMessagesPrefix(const void* buf, size_t len) {
  const auto* bytes = static_cast<const unsigned char*>(buf);
  size_t off = 0;
  size_t end = 0;
  while (len - off >= sizeof(nlmsghdr)) {
    uint32_t msg_len = 0;
    std::memcpy(&msg_len, bytes + off, sizeof msg_len);
    if (msg_len < sizeof(nlmsghdr) || msg_len > len - off) break;
    end = off + msg_len;
    off += NLMSG_ALIGN(msg_len);
    if (off >= len) break;
  }
  return end;
}

}  // namespace

NetlinkStatus NetlinkStatus::Errno(int err, std::string what) {
  NetlinkStatus st;
  st.err = err == 0 ? EIO : err;
  st.message = std::move(what) + ": " + ErrnoText(st.err);
  return st;
}

int RunNetlinkCallbacks(const void* buf, size_t len, unsigned seq, unsigned portid,
                        const NetlinkCallback& cb, NetlinkStatus* status) {
  const size_t whole = WholeMessagesPrefix(buf, len);
  errno = 0;
  int ret = mnl_cb_run(buf, whole, seq, portid, &Trampoline,
                       const_cast<NetlinkCallback*>(&cb));  // NOLINT: C callback data
  if (ret == MNL_CB_ERROR) {
    *status = NetlinkStatus::Errno(errno, "netlink message");
    return ret;
  }
  // Bytes after the last whole message that could hold a header: a message
  // with a bad length.  (A shorter tail is padding, as libmnl treats it.)
  const size_t aligned = NLMSG_ALIGN(whole);
  if (ret == MNL_CB_OK && aligned <= len && len - aligned >= sizeof(nlmsghdr)) {
    *status = NetlinkStatus::Errno(EBADMSG, "netlink message length");
    return MNL_CB_ERROR;
  }
  return ret;
}

NetlinkSocket NetlinkSocket::Open(int bus, NetlinkStatus* status) {
  mnl_socket* nl = mnl_socket_open2(bus, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (nl == nullptr) {
    *status = NetlinkStatus::Errno(errno, "netlink socket (bus " + std::to_string(bus) + ")");
    return {};
  }
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    *status = NetlinkStatus::Errno(errno, "netlink bind");
    mnl_socket_close(nl);
    return {};
  }
  NetlinkSocket sock(nl);
  sock.buf_.resize(kBufferSize);
  *status = NetlinkStatus::Ok();
  return sock;
}

NetlinkSocket::NetlinkSocket(NetlinkSocket&& other) noexcept
    : nl_(std::exchange(other.nl_, nullptr)), seq_(other.seq_), buf_(std::move(other.buf_)) {}

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& other) noexcept {
  if (this != &other) {
    if (nl_ != nullptr) mnl_socket_close(nl_);
    nl_ = std::exchange(other.nl_, nullptr);
    seq_ = other.seq_;
    buf_ = std::move(other.buf_);
  }
  return *this;
}

NetlinkSocket::~NetlinkSocket() {
  if (nl_ != nullptr) mnl_socket_close(nl_);
}

int NetlinkSocket::fd() const { return nl_ != nullptr ? mnl_socket_get_fd(nl_) : -1; }

unsigned NetlinkSocket::portid() const { return nl_ != nullptr ? mnl_socket_get_portid(nl_) : 0; }

NetlinkStatus NetlinkSocket::JoinGroup(unsigned group) {
  int g = static_cast<int>(group);
  if (mnl_socket_setsockopt(nl_, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) < 0) {
    return NetlinkStatus::Errno(errno, "join netlink group " + std::to_string(group));
  }
  return NetlinkStatus::Ok();
}

NetlinkStatus NetlinkSocket::SetReceiveBuffer(int bytes) {
  // SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it the kernel caps at rmem_max.
  if (::setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) == 0) {
    return NetlinkStatus::Ok();
  }
  if (::setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) != 0) {
    return NetlinkStatus::Errno(errno, "netlink SO_RCVBUF");
  }
  return NetlinkStatus::Ok();
}

NetlinkStatus NetlinkSocket::Dump(nlmsghdr* request, const NetlinkCallback& cb,
                                  std::chrono::steady_clock::time_point deadline) {
  if (mnl_socket_sendto(nl_, request, request->nlmsg_len) < 0) {
    return NetlinkStatus::Errno(errno, "netlink send");
  }
  const unsigned seq = request->nlmsg_seq;
  for (;;) {
    pollfd pfd{fd(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, MillisUntil(deadline));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return NetlinkStatus::Errno(errno, "netlink poll");
    }
    if (ready == 0) return NetlinkStatus::Errno(ETIMEDOUT, "netlink dump");
    ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return NetlinkStatus::Errno(errno, "netlink receive");
    }
    NetlinkStatus st;
    int ret = RunNetlinkCallbacks(buf_.data(), static_cast<size_t>(n), seq, portid(), cb, &st);
    if (ret == MNL_CB_ERROR) return st;
    if (ret == MNL_CB_STOP) return NetlinkStatus::Ok();
  }
}

NetlinkStatus NetlinkSocket::DiscardPending() {
  for (int i = 0; i < kMaxDiscard; ++i) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
    if (n >= 0) continue;
    if (errno == EAGAIN) return NetlinkStatus::Ok();
    if (errno != EINTR && errno != ENOBUFS) return NetlinkStatus::Errno(errno, "netlink receive");
  }
  return NetlinkStatus::Ok();
}

NetlinkStatus NetlinkSocket::ReceiveEvents(int wake_fd, std::chrono::milliseconds timeout,
                                           const NetlinkCallback& cb, bool* woken) {
  *woken = false;
  std::array<pollfd, 2> pfds{pollfd{fd(), POLLIN, 0}, pollfd{wake_fd, POLLIN, 0}};
  const nfds_t nfds = wake_fd >= 0 ? 2 : 1;
  int ready = ::poll(pfds.data(), nfds, static_cast<int>(timeout.count()));
  if (ready < 0) {
    return errno == EINTR ? NetlinkStatus::Ok() : NetlinkStatus::Errno(errno, "netlink poll");
  }
  if (nfds == 2 && (pfds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
    *woken = true;
    return NetlinkStatus::Ok();
  }
  if ((pfds[0].revents & (POLLIN | POLLERR)) == 0) return NetlinkStatus::Ok();
  for (int i = 0; i < kMaxBatch; ++i) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return NetlinkStatus::Ok();
      return NetlinkStatus::Errno(errno, "netlink receive");
    }
    NetlinkStatus st;
    if (RunNetlinkCallbacks(buf_.data(), static_cast<size_t>(n), 0, 0, cb, &st) == MNL_CB_ERROR) {
      return st;
    }
  }
  return NetlinkStatus::Ok();
}

}  // namespace portmap
