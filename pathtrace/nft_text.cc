// nft --debug=netlink's words for each expression: libnftnl 1.2.4's
// src/expr/*.c snprintf functions, on the model's fields.
#include "pathtrace/nft_text.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <variant>

namespace portmap::pathtrace {

namespace {

template <typename... Args>
std::string Format(const char* fmt, Args... args) {
  std::array<char, 512> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), fmt, args...);
  if (n < 0) return "";
  return std::string(buf.data(), std::min(static_cast<size_t>(n), buf.size() - 1));
}

// A value as 32-bit words in host order, zero-padded: "0x00005000 ".
std::string Words(const Bytes& value) {
  std::string out;
  for (size_t i = 0; i < value.size(); i += 4) {
    uint32_t word = 0;
    std::memcpy(&word, value.data() + i, std::min<size_t>(4, value.size() - i));
    out += Format("0x%.8x ", word);
  }
  return out;
}

const char* VerdictWord(int32_t code) {
  switch (code) {
    case NF_ACCEPT:
      return "accept";
    case NF_DROP:
      return "drop";
    case NF_STOLEN:
      return "stolen";
    case NF_QUEUE:
      return "queue";
    case NF_REPEAT:
      return "repeat";
    case NF_STOP:
      return "stop";
    case NFT_RETURN:
      return "return";
    case NFT_JUMP:
      return "jump";
    case NFT_GOTO:
      return "goto";
    case NFT_CONTINUE:
      return "continue";
    case NFT_BREAK:
      return "break";
    default:
      return "unknown";
  }
}

std::string DataText(const NftData& d) {
  if (!d.verdict.has_value()) return Words(d.value);
  std::string out = std::string(VerdictWord(d.verdict->code)) + " ";
  if (d.verdict->code == NFT_JUMP || d.verdict->code == NFT_GOTO) {
    out += "-> " + d.verdict->chain + " ";
  }
  return out;
}

const char* CmpWord(uint32_t op) {
  static constexpr const char* kOps[] = {"eq", "neq", "lt", "lte", "gt", "gte"};
  if (op < std::size(kOps)) return kOps[op];
  return "unknown";
}

const char* BaseWord(uint32_t base) {
  static constexpr const char* kBases[] = {"link", "network", "transport", "inner"};
  if (base < std::size(kBases)) return kBases[base];
  return "unknown";
}

const char* MetaKeyWord(uint32_t key) {
  static constexpr const char* kKeys[] = {
      "len",         "protocol",  "priority", "mark",     "iif",         "oif",
      "iifname",     "oifname",   "iiftype",  "oiftype",  "skuid",       "skgid",
      "nftrace",     "rtclassid", "secmark",  "nfproto",  "l4proto",     "bri_iifname",
      "bri_oifname", "pkttype",   "cpu",      "iifgroup", "oifgroup",    "cgroup",
      "prandom",     "secpath",   "iifkind",  "oifkind",  "bri_iifpvid", "bri_iifvproto",
      "time",        "day",       "hour",     "sdif",     "sdifname"};
  if (key < std::size(kKeys)) return kKeys[key];
  return "unknown";
}

const char* CtKeyWord(uint32_t key) {
  static constexpr const char* kKeys[] = {
      "state",     "direction",  "status",  "mark",    "secmark",  "expiration",
      "helper",    "l3protocol", "src",     "dst",     "protocol", "proto_src",
      "proto_dst", "label",      "packets", "bytes",   "avgpkt",   "zone",
      "event",     "src_ip",     "dst_ip",  "src_ip6", "dst_ip6",  "id"};
  if (key < std::size(kKeys)) return kKeys[key];
  return "unknown";
}

const char* FamilyWord(uint32_t family) {
  switch (family) {
    case NFPROTO_INET:
      return "inet";
    case NFPROTO_IPV4:
      return "ip";
    case NFPROTO_ARP:
      return "arp";
    case NFPROTO_NETDEV:
      return "netdev";
    case NFPROTO_BRIDGE:
      return "bridge";
    case NFPROTO_IPV6:
      return "ip6";
    default:
      return "unknown";
  }
}

std::string OptReg(const char* what, const std::optional<uint32_t>& r) {
  return r.has_value() ? Format("%s reg %u ", what, *r) : "";
}

std::string Args(const ImmediateExpr& e) { return Format("reg %u ", e.dreg) + DataText(e.data); }
std::string Args(const CmpExpr& e) {
  return Format("%s reg %u ", CmpWord(e.op), e.sreg) + Words(e.data);
}
std::string Args(const BitwiseExpr& e) {
  if (e.op == NFT_BITWISE_BOOL) {
    return Format("reg %u = ( reg %u & ", e.dreg, e.sreg) + Words(e.mask) + ") ^ " +
           Words(e.xor_value);
  }
  const char* op = e.op == NFT_BITWISE_LSHIFT ? "<<" : ">>";
  return Format("reg %u = ( reg %u %s ", e.dreg, e.sreg, op) + Words(e.shift) + ") ";
}
std::string Args(const ByteorderExpr& e) {
  const char* op = e.op == NFT_BYTEORDER_NTOH   ? "ntoh"
                   : e.op == NFT_BYTEORDER_HTON ? "hton"
                                                : "unknown";
  return Format("reg %u = %s(reg %u, %u, %u) ", e.dreg, op, e.sreg, e.size, e.len);
}
std::string Args(const RangeExpr& e) {
  const char* op = e.op == NFT_RANGE_EQ ? "eq" : e.op == NFT_RANGE_NEQ ? "neq" : "unknown";
  return Format("%s reg %u ", op, e.sreg) + Words(e.from) + Words(e.to);
}
std::string Args(const PayloadExpr& e) {
  if (e.sreg.has_value()) {
    return Format("write reg %u => %ub @ %s header + %u ", *e.sreg, e.len, BaseWord(e.base),
                  e.offset);
  }
  return Format("load %ub @ %s header + %u => reg %u ", e.len, BaseWord(e.base), e.offset,
                e.dreg.value_or(0));
}
std::string Args(const MetaExpr& e) {
  if (e.sreg.has_value()) return Format("set %s with reg %u ", MetaKeyWord(e.key), *e.sreg);
  if (e.dreg.has_value()) return Format("load %s => reg %u ", MetaKeyWord(e.key), *e.dreg);
  return "";
}
std::string Args(const CtExpr& e) {
  std::string out;
  if (e.sreg.has_value()) out += Format("set %s with reg %u ", CtKeyWord(e.key), *e.sreg);
  if (e.dreg.has_value()) out += Format("load %s => reg %u ", CtKeyWord(e.key), *e.dreg);
  if (e.direction.has_value()) {
    const char* dir = *e.direction == 0 ? "original" : *e.direction == 1 ? "reply" : "unknown";
    out += Format(", dir %s ", dir);
  }
  return out;
}
std::string Args(const LookupExpr& e) {
  // The kernel always dumps NFTA_LOOKUP_FLAGS, so libnftnl always prints them.
  return Format("reg %u set %s ", e.sreg, e.set.c_str()) +
         (e.dreg.has_value() ? Format("dreg %u ", *e.dreg) : "") +
         Format("0x%x ", e.invert ? static_cast<unsigned>(NFT_LOOKUP_F_INV) : 0U);
}
std::string Args(const NatExpr& e) {
  std::string out;
  if (e.kind == NatExpr::Kind::kNat) {
    const char* type = e.type == NFT_NAT_SNAT   ? "snat"
                       : e.type == NFT_NAT_DNAT ? "dnat"
                                                : "unknown";
    out = Format("%s %s ", type, FamilyWord(e.family)) + OptReg("addr_min", e.reg_addr_min) +
          OptReg("addr_max", e.reg_addr_max);
  }
  out += OptReg("proto_min", e.reg_proto_min) + OptReg("proto_max", e.reg_proto_max);
  // The kernel dumps the flags only when they are not zero.
  if (e.flags != 0) out += Format("flags 0x%x ", e.flags);
  return out;
}
std::string Args(const RejectExpr& e) { return Format("type %u code %u ", e.type, e.code); }
std::string Args(const FibExpr& e) {
  constexpr struct {
    uint32_t bit;
    const char* name;
  } kFlags[] = {{NFTA_FIB_F_SADDR, "saddr"},
                {NFTA_FIB_F_DADDR, "daddr"},
                {NFTA_FIB_F_MARK, "mark"},
                {NFTA_FIB_F_IIF, "iif"},
                {NFTA_FIB_F_OIF, "oif"}};
  uint32_t flags = e.flags & ~static_cast<uint32_t>(NFTA_FIB_F_PRESENT);
  std::string out;
  for (const auto& f : kFlags) {
    if ((flags & f.bit) == 0) continue;
    out += std::string(f.name) + " ";
    flags &= ~f.bit;
    if (flags != 0) out += ". ";
  }
  if (flags != 0) out += Format("unknown 0x%x", flags);
  static constexpr const char* kResults[] = {"unspec", "oif", "oifname", "type"};
  const char* result = e.result < std::size(kResults) ? kResults[e.result] : "unknown";
  const bool present = (e.flags & NFTA_FIB_F_PRESENT) != 0;
  return out + Format("%s%s => reg %d ", result, present ? " present" : "", e.dreg);
}
std::string Args(const XtExpr& e) { return Format("name %s rev %u ", e.name.c_str(), e.rev); }

template <typename T>
const char* NameOf() {
  if constexpr (std::is_same_v<T, ImmediateExpr>) return "immediate";
  if constexpr (std::is_same_v<T, CmpExpr>) return "cmp";
  if constexpr (std::is_same_v<T, BitwiseExpr>) return "bitwise";
  if constexpr (std::is_same_v<T, ByteorderExpr>) return "byteorder";
  if constexpr (std::is_same_v<T, RangeExpr>) return "range";
  if constexpr (std::is_same_v<T, PayloadExpr>) return "payload";
  if constexpr (std::is_same_v<T, MetaExpr>) return "meta";
  if constexpr (std::is_same_v<T, CtExpr>) return "ct";
  if constexpr (std::is_same_v<T, LookupExpr>) return "lookup";
  if constexpr (std::is_same_v<T, RejectExpr>) return "reject";
  if constexpr (std::is_same_v<T, FibExpr>) return "fib";
  return "";
}

const char* HookWord(uint8_t family, uint32_t hook) {
  if (family == NFPROTO_NETDEV) return hook == 0 ? "ingress" : hook == 1 ? "egress" : "unknown";
  if (family == NFPROTO_ARP) {
    return hook == 0 ? "input" : hook == 1 ? "output" : hook == 2 ? "forward" : "unknown";
  }
  static constexpr const char* kHooks[] = {"prerouting", "input",       "forward",
                                           "output",     "postrouting", "ingress"};
  if (hook < std::size(kHooks)) return kHooks[hook];
  return "unknown";
}

}  // namespace

std::string NftExprText(const NftExpr& expr) {
  return std::visit(
      [](const auto& e) -> std::string {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, NatExpr>) {
          const char* name = e.kind == NatExpr::Kind::kNat    ? "nat"
                             : e.kind == NatExpr::Kind::kMasq ? "masq"
                                                              : "redir";
          return std::string("[ ") + name + " " + Args(e) + "]";
        } else if constexpr (std::is_same_v<T, XtExpr>) {
          return std::string("[ ") + (e.target ? "target" : "match") + " " + Args(e) + "]";
        } else if constexpr (std::is_same_v<T, PassiveExpr> || std::is_same_v<T, UnknownExpr>) {
          return "[ " + e.name + " ]";
        } else if constexpr (std::is_same_v<T, NotrackExpr>) {
          return "[ notrack ]";
        } else {
          return std::string("[ ") + NameOf<T>() + " " + Args(e) + "]";
        }
      },
      expr);
}

std::string NftRuleText(const NftRuleModel& rule) {
  std::string out;
  for (const NftExpr& e : rule.exprs) {
    if (!out.empty()) out += ' ';
    out += NftExprText(e);
  }
  return out;
}

std::string NftChainText(const NftChainModel& chain) {
  if (!chain.base()) return "";
  std::string out = "type " + (chain.type.empty() ? std::string("filter") : chain.type) + " hook " +
                    HookWord(chain.family, *chain.hook) + " ";
  if (!chain.device.empty()) {
    if (chain.device.find(',') == std::string::npos) {
      out += "device \"" + chain.device + "\" ";
    } else {
      std::string devs = chain.device;
      for (size_t i = devs.find(','); i != std::string::npos; i = devs.find(',', i + 2)) {
        devs.replace(i, 1, ", ");
      }
      out += "devices = { " + devs + " } ";
    }
  }
  out += "priority " + std::to_string(chain.priority) + "; policy ";
  out += chain.policy == NF_ACCEPT ? "accept"
         : chain.policy == NF_DROP ? "drop"
                                   : std::to_string(chain.policy);
  return out + ";";
}

}  // namespace portmap::pathtrace
