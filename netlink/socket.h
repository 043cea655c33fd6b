// NetlinkSocket: the project's one netlink socket, over libmnl.
//
// Every kernel reader (rtnetlink netconf, nf_tables) goes through this
// class: it owns the mnl_socket (closed in the destructor), runs a
// request/dump exchange to completion, and receives multicast events with a
// wake-up descriptor so a watcher thread can be stopped without signals or
// timeouts.  Decoding stays outside: callers pass a per-message callback and
// check attributes with libmnl's mnl_attr_parse (see netconf.cc).
//
//   NetlinkStatus st;
//   NetlinkSocket sock = NetlinkSocket::Open(NETLINK_ROUTE, &st);
//   if (!st.ok()) return ...;
//   st = sock.JoinGroup(RTNLGRP_IPV4_NETCONF);
//
// Errors are values carrying the errno (ENOBUFS means "events were lost,
// resynchronize"); nothing is printed.
//
// Thread safety: a socket is used by one thread at a time (the watcher thread
// that owns it, or the scrape that opened it for a dump).  Move-only.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace portmap {

struct NetlinkStatus {
  int err = 0;          // 0 on success, otherwise an errno value
  std::string message;  // what failed, for logs

  bool ok() const { return err == 0; }
  static NetlinkStatus Ok() { return {}; }
  static NetlinkStatus Errno(int err, std::string what);
};

// Called for every message of a datagram; returns MNL_CB_OK to continue,
// MNL_CB_STOP when the answer is complete, MNL_CB_ERROR to abort.
using NetlinkCallback = std::function<int(const nlmsghdr* nlh)>;

// Runs `cb` over every message in `buf` through mnl_cb_run (which handles
// NLMSG_DONE, NLMSG_ERROR and truncated messages).  `seq`/`portid` of 0 skip
// the sequence and sender checks (events, recorded bytes).  Returns the
// mnl_cb_run result (MNL_CB_OK/MNL_CB_STOP, or MNL_CB_ERROR with *status set).
int RunNetlinkCallbacks(const void* buf, size_t len, unsigned seq, unsigned portid,
                        const NetlinkCallback& cb, NetlinkStatus* status);

class NetlinkSocket {
 public:
  // Opens and binds a socket of `bus` (NETLINK_ROUTE, NETLINK_NETFILTER, ...)
  // in the caller's network namespace; non-blocking, close-on-exec.
  static NetlinkSocket Open(int bus, NetlinkStatus* status);

  NetlinkSocket() = default;
  NetlinkSocket(NetlinkSocket&& other) noexcept;
  NetlinkSocket& operator=(NetlinkSocket&& other) noexcept;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  ~NetlinkSocket();

  bool valid() const { return nl_ != nullptr; }
  int fd() const;
  unsigned portid() const;

  // Joins a multicast group by number (works above 32, unlike bind groups).
  NetlinkStatus JoinGroup(unsigned group);

  // Sets the receive buffer, forcing past rmem_max when privileged: a larger
  // buffer makes ENOBUFS (lost events) rarer during bursts.
  NetlinkStatus SetReceiveBuffer(int bytes);

  // Sends `request` (a complete message; its sequence number and NLM_F_ACK /
  // NLM_F_DUMP flags are the caller's) and feeds every reply to `cb` until
  // NLMSG_DONE, an acknowledgement, a callback stop, an error or `deadline`.
  NetlinkStatus Dump(nlmsghdr* request, const NetlinkCallback& cb,
                     std::chrono::steady_clock::time_point deadline);

  // Waits up to `timeout` (negative: forever) for an event datagram or for
  // `wake_fd` (an eventfd or pipe; -1 for none) to become readable.  On data,
  // reads every queued datagram and runs `cb` over them.  *woken is set when
  // `wake_fd` fired.  ENOBUFS is returned as such: the kernel dropped events.
  NetlinkStatus ReceiveEvents(int wake_fd, std::chrono::milliseconds timeout,
                              const NetlinkCallback& cb, bool* woken);

  // Reads and throws away every queued datagram (at most a few thousand, so
  // an endless stream cannot hold the caller).  After ENOBUFS the queue holds
  // only messages older than the ones the kernel dropped; a reader discards
  // them before re-reading the state, or it would apply stale values last.
  NetlinkStatus DiscardPending();

  // Next sequence number for a request on this socket.
  uint32_t NextSeq() { return ++seq_; }

 private:
  explicit NetlinkSocket(mnl_socket* nl) : nl_(nl) {}

  mnl_socket* nl_ = nullptr;
  uint32_t seq_ = 0;
  std::vector<char> buf_;  // MNL_SOCKET_BUFFER_SIZE, allocated on Open
};

}  // namespace portmap
