// route_watch: has anything the kernel's routing decision depends on changed
// since the last look?  Interfaces, addresses, routes, policy rules and the
// forwarding / rp_filter switches (RTM_NEWNETCONF) all announce themselves on
// rtnetlink multicast groups; a socket joined to them and drained at each
// scrape says "changed" without a thread or a dump.
//
// Lost events (ENOBUFS) and a socket error count as a change: the caller
// re-reads instead of trusting a view that may be stale.
//
// The socket lives in the network namespace of the thread that opens it.
//
// Thread safety: used by one thread at a time.
#pragma once

#include <memory>

#include "netlink/socket.h"
#include "util/status.h"

namespace portmap {

class ChangeWatch {
 public:
  virtual ~ChangeWatch() = default;
  // True when something changed since the last call (the first call: true).
  virtual bool Changed() = 0;
};

class RouteWatch : public ChangeWatch {
 public:
  // Joins the groups; nullptr and *status set when the socket cannot be had.
  static std::unique_ptr<RouteWatch> Open(Status* status);

  bool Changed() override;

 private:
  explicit RouteWatch(NetlinkSocket sock) : sock_(std::move(sock)) {}

  NetlinkSocket sock_;
  bool first_ = true;
};

}  // namespace portmap
