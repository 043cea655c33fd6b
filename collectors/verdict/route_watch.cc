#include "collectors/verdict/route_watch.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <chrono>

namespace portmap {

namespace {

constexpr unsigned kGroups[] = {RTNLGRP_LINK,       RTNLGRP_IPV4_IFADDR,  RTNLGRP_IPV6_IFADDR,
                                RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,   RTNLGRP_IPV4_RULE,
                                RTNLGRP_IPV6_RULE,  RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF};

constexpr int kMaxDrains = 64;  // an endless stream cannot hold a scrape

}  // namespace

std::unique_ptr<RouteWatch> RouteWatch::Open(Status* status) {
  NetlinkStatus st;
  NetlinkSocket sock = NetlinkSocket::Open(NETLINK_ROUTE, &st);
  for (unsigned group : kGroups) {
    if (st.ok()) st = sock.JoinGroup(group);
  }
  if (!st.ok()) {
    *status = Status::Error("rtnetlink events: " + st.message);
    return nullptr;
  }
  *status = Status::Ok();
  return std::unique_ptr<RouteWatch>(new RouteWatch(std::move(sock)));
}

bool RouteWatch::Changed() {
  bool changed = first_;
  first_ = false;
  for (int i = 0; i < kMaxDrains; ++i) {
    int seen = 0;
    bool woken = false;
    const NetlinkStatus st = sock_.ReceiveEvents(
        -1, std::chrono::milliseconds(0),
        [&seen](const nlmsghdr*) {
          ++seen;
          return MNL_CB_OK;
        },
        &woken);
    if (!st.ok()) return true;  // ENOBUFS: events were lost
    if (seen == 0) return changed;
    changed = true;
  }
  return true;
}

}  // namespace portmap
