#include "pathtrace/nft_live.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <array>
#include <cerrno>

#include "netlink/nftables.h"

namespace portmap::pathtrace {

namespace {

const char* RequestName(uint16_t msg_type) {
  switch (msg_type) {
    case NFT_MSG_GETTABLE:
      return "nf_tables GETTABLE";
    case NFT_MSG_GETCHAIN:
      return "nf_tables GETCHAIN";
    case NFT_MSG_GETRULE:
      return "nf_tables GETRULE";
    case NFT_MSG_GETSET:
      return "nf_tables GETSET";
    case NFT_MSG_GETSETELEM:
      return "nf_tables GETSETELEM";
    default:
      return "nf_tables request";
  }
}

Status FromNetlink(const NetlinkStatus& st, const std::string& what) {
  if (st.err == ENOENT) return Status::NoData(what + ": not found");
  return Status::Error(what + ": " + st.message);
}

}  // namespace

NftLiveRuleset NftLiveRuleset::Open(NetlinkStatus* status, std::chrono::milliseconds timeout) {
  NetlinkSocket sock = NetlinkSocket::Open(NETLINK_NETFILTER, status);
  if (!status->ok()) return {};
  return NftLiveRuleset(std::move(sock), timeout);
}

Status NftLiveRuleset::Pinned() const {
  if (!valid()) return Status::Error("nf_tables: no netlink socket");
  if (!pinned_) return Status::Error("nf_tables: no generation pinned (Begin first)");
  return Status::Ok();
}

Status NftLiveRuleset::ReadGeneration(Deadline deadline, uint32_t* generation) {
  if (!valid()) return Status::Error("nf_tables: no netlink socket");
  NftRequestBuf buf{};
  nlmsghdr* nlh =
      PutNftRequest(&buf, NFT_MSG_GETGEN, NLM_F_REQUEST, NFPROTO_UNSPEC, sock_.NextSeq());
  bool got = false;
  Status decoded;
  NetlinkStatus st = Exchange(
      nlh,
      [&](const nlmsghdr* m) {
        if (tap_) tap_(m);
        if (NFNL_MSG_TYPE(m->nlmsg_type) != NFT_MSG_NEWGEN) return MNL_CB_OK;
        decoded = DecodeNftGen(m, generation);
        got = decoded.ok();
        return decoded.ok() ? MNL_CB_STOP : MNL_CB_ERROR;  // GETGEN has no NLMSG_DONE
      },
      deadline);
  if (!decoded.ok()) return decoded;
  if (!st.ok()) return FromNetlink(st, "nf_tables GETGEN");
  if (!got) return Status::Error("nf_tables GETGEN: no answer");
  return Status::Ok();
}

Status NftLiveRuleset::Request(uint16_t msg_type, uint8_t family, const Attrs& attrs, bool dump,
                               Deadline deadline, NftModelMessages* out) {
  NftRequestBuf buf{};
  // A single get is acknowledged, so the exchange ends the same way whether
  // the object exists (message, ack) or not (an error).
  const uint16_t flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK);
  nlmsghdr* nlh = PutNftRequest(&buf, msg_type, flags, family, sock_.NextSeq());
  for (const auto& [type, value] : attrs) {
    if (!mnl_attr_put_strz_check(nlh, sizeof buf, type, value.c_str())) {
      return Status::Error("nf_tables request: name too long");
    }
  }
  const auto low = static_cast<uint16_t>(generation_ & 0xffff);
  // Problems are noted and the answer read to its end, so the socket holds
  // nothing of it for the next request.
  Status decoded;
  bool changed = false;
  uint16_t stamp = low;
  NetlinkStatus st = Exchange(
      nlh,
      [&](const nlmsghdr* m) {
        if (tap_) tap_(m);
        if (NFNL_SUBSYS_ID(m->nlmsg_type) != NFNL_SUBSYS_NFTABLES || changed || !decoded.ok()) {
          return MNL_CB_OK;
        }
        if (NftMessageStamp(m) != low) {
          changed = true;
          stamp = NftMessageStamp(m);
          return MNL_CB_OK;
        }
        decoded = DecodeNftModelMessage(m, out);
        return MNL_CB_OK;
      },
      deadline);
  if (changed) {
    return Status::Error(std::string(kNftRulesetChanged) + " (generation " +
                         std::to_string(generation_) + " pinned, an answer from " +
                         std::to_string(stamp) + " mod 65536)");
  }
  if (!decoded.ok()) return decoded;
  if (!st.ok()) return FromNetlink(st, RequestName(msg_type));
  return Status::Ok();
}

NetlinkStatus NftLiveRuleset::Exchange(nlmsghdr* request, const NetlinkCallback& cb,
                                       Deadline deadline) {
  // What an interrupted exchange left queued (a timeout, a failed callback)
  // carries an old sequence number the next exchange would fail on.
  if (dirty_) {
    NetlinkStatus st = sock_.DiscardPending();
    if (!st.ok()) return st;
    dirty_ = false;
  }
  NetlinkStatus st = sock_.Dump(request, cb, deadline);
  if (!st.ok() && st.err != ENOENT) dirty_ = true;
  return st;
}

Status NftLiveRuleset::Begin(uint32_t* generation) {
  uint32_t gen = 0;
  if (Status st = ReadGeneration(NextDeadline(), &gen); !st.ok()) return st;
  if (!pinned_ || gen != generation_) {
    cache_.Clear();
    tables_read_ = false;
    families_read_.clear();
    other_chains_.clear();
    rules_read_.clear();
    elems_read_.clear();
  }
  pinned_ = true;
  generation_ = gen;
  cache_.set_generation(gen);
  *generation = gen;
  return Status::Ok();
}

Status NftLiveRuleset::StillCurrent(bool* current) {
  if (Status st = Pinned(); !st.ok()) return st;
  uint32_t gen = 0;
  if (Status st = ReadGeneration(NextDeadline(), &gen); !st.ok()) return st;
  *current = gen == generation_;
  return Status::Ok();
}

Status NftLiveRuleset::EnsureTables(Deadline deadline) {
  if (tables_read_) return Status::Ok();
  NftModelMessages msgs;
  if (Status st = Request(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, {}, true, deadline, &msgs); !st.ok()) {
    return st;
  }
  for (NftTableModel& t : msgs.tables) cache_.AddTable(std::move(t));
  tables_read_ = true;
  return Status::Ok();
}

Status NftLiveRuleset::EnsureFamily(uint8_t family, Deadline deadline) {
  if (families_read_.count(family) != 0) return Status::Ok();
  NftModelMessages msgs;
  if (Status st = Request(NFT_MSG_GETCHAIN, family, {}, true, deadline, &msgs); !st.ok()) {
    return st;
  }
  for (NftChainModel& c : msgs.chains) {
    if (c.family != family) continue;  // the kernel filters; guard anyway
    if (c.base()) {
      cache_.AddChain(std::move(c));
    } else {
      other_chains_.insert(Key{c.family, c.table, c.name});
    }
  }
  families_read_.insert(family);
  return Status::Ok();
}

Status NftLiveRuleset::EnsureRules(const NftChainModel& chain, Deadline deadline) {
  Key key{chain.family, chain.table, chain.name};
  if (rules_read_.count(key) != 0) return Status::Ok();
  NftModelMessages msgs;
  Status st = Request(NFT_MSG_GETRULE, chain.family,
                      {{NFTA_RULE_TABLE, chain.table}, {NFTA_RULE_CHAIN, chain.name}}, true,
                      deadline, &msgs);
  if (!st.ok()) return st;
  for (NftRuleMessage& r : msgs.rules) {
    // The kernel filters; this guards against one that ignores the filter.
    if (r.table == chain.table && r.chain == chain.name) cache_.AddRule(std::move(r));
  }
  rules_read_.insert(std::move(key));
  return Status::Ok();
}

Status NftLiveRuleset::BaseChains(uint8_t nfproto, uint32_t hook,
                                  std::vector<const NftChainModel*>* chains) {
  if (Status st = Pinned(); !st.ok()) return st;
  const Deadline deadline = NextDeadline();
  if (Status st = EnsureTables(deadline); !st.ok()) return st;
  for (uint8_t family : {nfproto, static_cast<uint8_t>(NFPROTO_INET)}) {
    if (Status st = EnsureFamily(family, deadline); !st.ok()) return st;
  }
  std::vector<const NftChainModel*> found = cache_.SortedBaseChains(nfproto, hook);
  for (const NftChainModel* c : found) {
    if (Status st = EnsureRules(*c, deadline); !st.ok()) return st;
  }
  *chains = std::move(found);
  return Status::Ok();
}

Status NftLiveRuleset::Chain(uint8_t family, const std::string& table, const std::string& name,
                             const NftChainModel** chain) {
  if (Status st = Pinned(); !st.ok()) return st;
  *chain = nullptr;
  const Deadline deadline = NextDeadline();
  const NftChainModel* c = cache_.FindChain(family, table, name);
  if (c == nullptr) {
    // A family already dumped says, without asking, which chains exist.
    if (families_read_.count(family) != 0 && other_chains_.count(Key{family, table, name}) == 0) {
      return Status::NoData("no chain " + table + " " + name);
    }
    NftModelMessages msgs;
    Status st =
        Request(NFT_MSG_GETCHAIN, family, {{NFTA_CHAIN_TABLE, table}, {NFTA_CHAIN_NAME, name}},
                false, deadline, &msgs);
    if (!st.ok()) return st;
    if (msgs.chains.empty()) return Status::NoData("no chain " + table + " " + name);
    cache_.AddChain(std::move(msgs.chains.front()));
    c = cache_.FindChain(family, table, name);
    if (c == nullptr) return Status::Error("nf_tables GETCHAIN: answered another chain");
  }
  if (Status st = EnsureRules(*c, deadline); !st.ok()) return st;
  *chain = c;
  return Status::Ok();
}

Status NftLiveRuleset::Set(uint8_t family, const std::string& table, const std::string& name,
                           uint32_t id, const NftSetModel** set) {
  if (Status st = Pinned(); !st.ok()) return st;
  *set = nullptr;
  const Deadline deadline = NextDeadline();
  const NftSetModel* s = cache_.FindSet(family, table, name, id);
  if (s == nullptr && !name.empty()) {
    NftModelMessages msgs;
    Status st = Request(NFT_MSG_GETSET, family, {{NFTA_SET_TABLE, table}, {NFTA_SET_NAME, name}},
                        false, deadline, &msgs);
    if (!st.ok() && st.code() != Status::Code::kNoData) return st;
    for (NftSetModel& m : msgs.sets) cache_.AddSet(std::move(m));
    s = cache_.FindSet(family, table, name, id);
  }
  if (s == nullptr && id != 0) {
    NftModelMessages msgs;
    Status st = Request(NFT_MSG_GETSET, family, {{NFTA_SET_TABLE, table}}, true, deadline, &msgs);
    if (!st.ok()) return st;
    for (NftSetModel& m : msgs.sets) {
      if (cache_.FindSet(m.family, m.table, m.name, 0) == nullptr) cache_.AddSet(std::move(m));
    }
    s = cache_.FindSet(family, table, name, id);
  }
  if (s == nullptr) {
    return Status::NoData("no set " + table + " " +
                          (name.empty() ? "id " + std::to_string(id) : name));
  }
  Key key{s->family, s->table, s->name};
  if (elems_read_.count(key) == 0) {
    NftModelMessages msgs;
    Status st = Request(NFT_MSG_GETSETELEM, s->family,
                        {{NFTA_SET_ELEM_LIST_TABLE, s->table}, {NFTA_SET_ELEM_LIST_SET, s->name}},
                        true, deadline, &msgs);
    if (!st.ok()) return st;
    for (NftSetElemsMessage& e : msgs.elems) {
      if (e.table == s->table && e.set == s->name) cache_.AddSetElems(std::move(e));
    }
    elems_read_.insert(std::move(key));
  }
  *set = s;
  return Status::Ok();
}

}  // namespace portmap::pathtrace
