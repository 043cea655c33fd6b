#include "exporter/diagnose/diagnose_causes.h"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <vector>

#include "collectors/netfilter/nf_docker.h"
#include "collectors/verdict/causes.h"
#include "exporter/diagnose/diagnose_paths.h"

namespace portmap {

namespace {

// The order causes are printed in: a missing DNAT first, as the verdict
// lists it (the wipe is why firewalld's reject is met at all), then along
// the packet's way.
constexpr std::array<BlockCause, 12> kCauseOrder = {BlockCause::kIpForwardDisabled,
                                                    BlockCause::kDockerChainMissing,
                                                    BlockCause::kDnatRuleMissing,
                                                    BlockCause::kRpFilter,
                                                    BlockCause::kNoRoute,
                                                    BlockCause::kRawDrop,
                                                    BlockCause::kFirewalldPortClosed,
                                                    BlockCause::kDockerUserDrop,
                                                    BlockCause::kDockerRuleDrop,
                                                    BlockCause::kForwardPolicyDrop,
                                                    BlockCause::kForeignRuleDrop,
                                                    BlockCause::kNoListener};

constexpr char kSysctlFile[] = "/etc/sysctl.d/99-docker-ip-forward.conf";

std::optional<BlockCause> CauseOf(const std::string& label) {
  for (BlockCause c : kCauseOrder) {
    if (BlockCauseName(c) == label) return c;
  }
  return std::nullopt;
}

std::vector<const PathReport*> PathsOf(const PortReport& port, const std::string& cause) {
  std::vector<const PathReport*> out;
  for (const PathReport& p : port.paths) {
    if (p.cause == cause) out.push_back(&p);
  }
  return out;
}

bool Docker29(const Report& r) {
  return std::any_of(r.docker.chains.begin(), r.docker.chains.end(),
                     [](const ChainState& c) { return c.table == kDocker29Table; });
}

// Docker's nat chain, as the host names it.
std::string NatChain(const Report& r) {
  return Docker29(r) ? std::string(kDocker29Table) + " " + kDocker29DnatChain : "nat DOCKER";
}

// "echo 'K = 1' > FILE && sysctl --system", or printf for several keys.
std::string Persist(const std::vector<std::string>& keys, const std::string& value,
                    const std::string& file) {
  if (keys.size() == 1) {
    return "echo '" + keys[0] + " = " + value + "' > " + file + " && sysctl --system";
  }
  std::string lines;
  for (const std::string& k : keys) lines.append(" '").append(k).append(" = ").append(value) += "'";
  return "printf '%s\\n'" + lines + " > " + file + " && sysctl --system";
}

// The interface whose forwarding switch refused: the route lookup names it
// ("forwarding is off on docker0": the reply's way), else the uplink.
std::string RefusingInterface(const PathReport& p) {
  const std::string kOff = "forwarding is off on ";
  const size_t at = p.place.rfind(kOff);
  if (at == std::string::npos) return p.interface;
  const std::string rest = p.place.substr(at + kOff.size());
  return rest.substr(0, rest.find_first_of(" ;,)"));
}

void IpForward(const PortReport& port, const std::vector<const PathReport*>& paths, const Report& r,
               CauseReport* c) {
  const std::string what = port.proto == "udp" ? "datagram" : "SYN";
  std::vector<std::string> keys, why;
  auto add = [&](const std::string& key, const std::string& text) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) return;
    keys.push_back(key);
    why.push_back(text);
  };
  const std::string global = "net.ipv4.ip_forward is 0: the kernel drops the DNATed " + what +
                             " silently (other " + "hosts time out)";
  for (const PathReport* p : paths) {
    if (p->family == "ipv6") {
      add("net.ipv6.conf.all.forwarding",
          "net.ipv6.conf.all.forwarding is 0: the kernel drops the DNATed IPv6 " + what +
              " silently (other hosts time out)");
    } else if (r.forwarding.runtime == true) {
      const std::string key = "net.ipv4.conf." + RefusingInterface(*p) + ".forwarding";
      std::string text = key;
      text.append(
              " is 0 while net.ipv4.ip_forward is 1: the kernel forwards nothing that arrives on ")
          .append(RefusingInterface(*p))
          .append(", and drops it silently (other hosts time out)");
      add(key, text);
    } else {
      add("net.ipv4.ip_forward", global);
    }
  }
  if (keys.empty()) add("net.ipv4.ip_forward", global);  // no path series: the global switch
  c->why = Join(why, "; ");
  std::string fix;
  for (const std::string& k : keys) fix += " " + k + "=1";
  c->fix = "sysctl -w" + fix;
  const ForwardingSection& f = r.forwarding;
  const bool file_wins = !f.persisted_file.empty() && !f.persisted.value_or(true) &&
                         std::find(keys.begin(), keys.end(), "net.ipv4.ip_forward") != keys.end();
  std::vector<std::string> rest = keys;
  std::vector<std::string> stick;
  if (file_wins) {
    stick.push_back(IpForwardStick(r));
    rest.erase(std::find(rest.begin(), rest.end(), "net.ipv4.ip_forward"));
  }
  if (!rest.empty()) stick.push_back(Persist(rest, "1", kSysctlFile));
  c->stick = Join(stick, "; ");
}

void RpFilter(const std::vector<const PathReport*>& paths, CauseReport* c) {
  std::vector<std::string> from, keys = {"net.ipv4.conf.all.rp_filter"}, clients;
  bool martian = false;
  for (const PathReport* p : paths) {
    AddOnce(&from, p->client + " on " + p->interface);
    AddOnce(&keys, "net.ipv4.conf." + p->interface + ".rp_filter");
    AddOnce(&clients, p->client);
    martian = martian || p->place.find("martian") != std::string::npos;
  }
  if (paths.empty()) keys.push_back("net.ipv4.conf.IFACE.rp_filter");
  c->why = "reverse-path filtering drops what arrives from " + Join(from, ", ") +
           ": rp_filter is on (the higher of " + Join(keys, " and ") +
           " counts) and the route back to the client leaves by another interface (two uplinks, "
           "asymmetric or policy routing)";
  std::string loose;
  for (const std::string& k : keys) loose += " " + k + "=2";
  c->fix = "route the client's network back through the interface it arrives on (ip route get " +
           (clients.empty() ? std::string("CLIENT") : clients[0]) +
           " shows the way back now), or loose mode: sysctl -w" + loose;
  c->stick =
      "the route in the network configuration (netplan, NetworkManager, "
      "/etc/network/interfaces); or loose mode in a file that sorts after the distribution's: " +
      Persist(keys, "2", "/etc/sysctl.d/99-rp-filter.conf");
  if (martian) {
    c->note =
        "Linux 6.13 and later answer a martian source or a blackhole route the same way: "
        "ip route show type blackhole, and ip route get with the client, tell them apart";
  }
}

void NoRoute(const PortReport& port, const std::vector<const PathReport*>& paths, const Report& r,
             CauseReport* c) {
  const PublishedMapping* m = Container(r, port);
  std::vector<std::string> fixes;
  for (const PathReport* p : paths) {
    const std::string dst = m != nullptr ? m->container_ip : p->address;
    if (p->place.find("blackhole") != std::string::npos) {
      AddOnce(&fixes, "remove the blackhole route covering " + dst +
                          " (ip route show type blackhole; ip route del blackhole PREFIX)");
    } else if (p->place.find("no route back") != std::string::npos) {
      AddOnce(&fixes, "add a route back to " + p->client + "'s network (ip route get " + p->client +
                          " finds none)");
    } else {
      AddOnce(&fixes, "ip route get " + dst + " from " + p->client + " iif " + p->interface +
                          " shows the refusal: restore the route (systemctl restart docker when "
                          "Docker's bridge lost its address), or remove an unreachable or "
                          "prohibit route (ip route show type unreachable; type prohibit)");
    }
  }
  c->why = "no way through: " +
           (paths.empty() ? std::string("the route lookup refused it") : Places(paths));
  c->fix = fixes.empty() ? "ip route get CONTAINER_IP from CLIENT iif INTERFACE shows the refusal"
                         : Join(fixes, "; ");
  c->stick =
      "the routes in the network configuration (netplan, NetworkManager, "
      "/etc/network/interfaces), or in what adds the blackhole";
}

// raw_drop, docker_user_drop: a rule of the host's own, to delete or narrow.
void RemoveRule(const std::vector<const PathReport*>& paths, CauseReport* c) {
  std::vector<std::string> fixes;
  for (const PathReport* p : DistinctRules(paths)) {
    AddOnce(&fixes, RemoveCommand(*p) + " (look first: " + ListCommand(*p) + ")");
  }
  c->fix =
      fixes.empty() ? "delete or narrow the rule" : "delete or narrow it: " + Join(fixes, "; ");
}

// The zones in which `proto`/`port` is closed; when the collector judged no
// zone for it, the default zone.
std::vector<std::string> ClosedZones(const FirewalldSection& fw, const std::string& proto,
                                     int port) {
  std::set<std::string> zones;
  for (const PortInZone& p : fw.ports) {
    if (p.proto == proto && p.port == port && !p.allowed) zones.insert(p.zone);
  }
  if (zones.empty() && !fw.default_zone.empty()) zones.insert(fw.default_zone);
  return {zones.begin(), zones.end()};
}

void Firewalld(const PortReport& port, const std::vector<const PathReport*>& paths, const Report& r,
               CauseReport* c) {
  const std::string pp = std::to_string(port.port) + "/" + port.proto;
  std::string zones, fix, stick;
  for (const std::string& z : ClosedZones(r.firewalld, port.proto, port.port)) {
    zones += (zones.empty() ? "" : ", ") + z;
    std::string cmd = "firewall-cmd --zone=";
    cmd.append(z).append(" --add-port=").append(pp);
    fix += (fix.empty() ? "" : " && ") + cmd;
    stick += (stick.empty() ? "" : " && ") + cmd + " --permanent";
  }
  c->why = "firewalld does not allow " + pp + " in zone " + zones;
  if (!paths.empty()) c->why += " — " + Places(paths);
  c->fix = fix;
  // No --reload: the runtime change is already in force, and with the
  // iptables backend a reload flushes Docker's chains.
  c->stick = stick;
  c->note = r.firewalld.backend == "nftables"
                ? "no --reload needed: the runtime change is in force"
                : "no --reload needed; with the iptables backend a reload wipes Docker's chains";
}

void ForeignRule(const PortReport& port, const std::vector<const PathReport*>& paths,
                 const Report& r, CauseReport* c) {
  c->why = Places(paths) +
           " — a chain that is neither Docker's nor firewalld's (a hand-written "
           "/etc/nftables.conf, ufw, another tool's): Docker's accept ends only its own chain, "
           "and this one still decides";
  const PublishedMapping* m = Container(r, port);
  std::vector<std::string> fixes;
  bool nft = false;
  for (const PathReport* p : DistinctRules(paths)) {
    const bool dnat = Dnated(r, port, *p);
    if (p->chain.starts_with("ufw")) {
      AddOnce(&fixes, dnat && m != nullptr
                          ? "ufw route allow proto " + port.proto + " from any to " +
                                m->container_ip + " port " + std::to_string(m->container_port)
                          : "ufw allow " + std::to_string(port.port) + "/" + port.proto);
      continue;
    }
    nft = nft || !ByIptables(*p);
    AddOnce(&fixes, AcceptCommand(*p, port, dnat) + " (look first: " + ListCommand(*p) + ")");
  }
  c->fix = "accept the container's traffic before the drop: " +
           (fixes.empty() ? std::string("nft insert rule FAMILY TABLE CHAIN ct status dnat accept")
                          : Join(fixes, "; "));
  c->stick = nft ? "the same rule in /etc/nftables.conf (or the tool's configuration), before the "
                   "drop; that file starts with flush ruleset, so systemctl restart nftables "
                   "wipes Docker's rules too: restart docker after it"
                 : "where the rule is saved (iptables-persistent's /etc/iptables/rules.v4, ufw's "
                   "after.rules, a unit)";
}

}  // namespace

int CauseRank(const std::string& cause) {
  for (size_t i = 0; i < kCauseOrder.size(); ++i) {
    if (BlockCauseName(kCauseOrder[i]) == cause) return static_cast<int>(i);
  }
  return static_cast<int>(kCauseOrder.size());
}

std::string IpForwardStick(const Report& r) {
  const ForwardingSection& f = r.forwarding;
  if (!f.persisted_file.empty() && !f.persisted.value_or(true)) {
    return f.persisted_file + " sets it to " + f.persisted_value +
           " and wins at boot: set it to 1 there (or in a file that sorts after it), then "
           "sysctl --system";
  }
  return Persist({"net.ipv4.ip_forward"}, "1", kSysctlFile);
}

CauseReport Explain(const std::string& cause, const PortReport& port, const Report& r) {
  const std::string pp = std::to_string(port.port) + "/" + port.proto;
  const std::vector<const PathReport*> paths = PathsOf(port, cause);
  CauseReport c;
  c.cause = cause;
  const std::optional<BlockCause> known = CauseOf(cause);
  if (!known) {
    c.why = "blocked (" + cause + ")";
    return c;
  }
  switch (*known) {
    case BlockCause::kIpForwardDisabled:
      IpForward(port, paths, r, &c);
      break;
    case BlockCause::kRpFilter:
      RpFilter(paths, &c);
      break;
    case BlockCause::kNoRoute:
      NoRoute(port, paths, r, &c);
      break;
    case BlockCause::kRawDrop:
      c.why = Places(paths) +
              " — before connection tracking and Docker's DNAT: a rule of your own (a blocklist, "
              "a rate limit), as Docker's raw rules spare ports published for other hosts";
      RemoveRule(paths, &c);
      c.stick = std::all_of(paths.begin(), paths.end(),
                            [](const PathReport* p) { return ByIptables(*p); })
                    ? "where the rule is saved (iptables-persistent's /etc/iptables/rules.v4, "
                      "or the unit or script that adds it)"
                    : "in the file or tool that writes it (/etc/nftables.conf, or the tool's "
                      "configuration)";
      break;
    case BlockCause::kFirewalldPortClosed:
      Firewalld(port, paths, r, &c);
      break;
    case BlockCause::kDockerUserDrop:
      c.why = Places(paths) +
              " — DOCKER-USER runs after the DNAT, so its rules see the container's address and "
              "port, not " +
              pp;
      RemoveRule(paths, &c);
      c.stick =
          "in what writes DOCKER-USER (a unit, iptables-persistent, ufw-docker's after.rules)";
      c.note =
          "to filter by published port, match the original one (-m conntrack --ctorigdstport " +
          std::to_string(port.port) +
          " --ctdir ORIGINAL), and put -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN first";
      break;
    case BlockCause::kDockerRuleDrop:
      c.why = Places(paths) +
              " — Docker's own rules: the port's accept rule is missing, or the container's "
              "network is internal";
      c.fix = "docker restart $(docker ps -q --filter publish=" + pp + ")";
      c.stick =
          "systemctl restart docker rewrites every rule; if they go missing again, something "
          "rewrites Docker's chains (portmap_netfilter_last_change_info names it)";
      c.note =
          "a network created with --internal is never reachable from outside: docker network "
          "inspect NETWORK --format '{{.Internal}}'";
      break;
    case BlockCause::kForwardPolicyDrop: {
      const std::string at = paths.empty() ? "filter FORWARD drops by policy" : Places(paths);
      if (Docker29(r)) {
        c.why = at +
                " — Docker 29's nftables backend writes no iptables rules, and its accept in "
                "table docker-bridges does not spare iptables' FORWARD chain";
        const std::string ipt = paths.empty() ? "iptables" : Iptables(*paths[0]);
        c.fix = ipt + " -P FORWARD ACCEPT, if nothing else needs the drop policy; or " + ipt +
                " -I FORWARD -m conntrack --ctstate DNAT -j ACCEPT";
        c.stick = "where your iptables rules are saved (iptables-persistent, a unit)";
      } else {
        c.why = at + " — no Docker rule accepted it first (" +
                (paths.empty() ? std::string("iptables") : Iptables(*paths[0])) +
                " -S FORWARD should jump to DOCKER-USER and DOCKER-FORWARD, or DOCKER)";
        c.fix = "systemctl restart docker";
        c.stick = "keep site rules in DOCKER-USER; never flush FORWARD or DOCKER";
      }
      break;
    }
    case BlockCause::kForeignRuleDrop:
      ForeignRule(port, paths, r, &c);
      break;
    case BlockCause::kDockerChainMissing: {
      c.why = NatChain(r) + " is missing, so " + pp +
              " is not DNATed to its container and the host path is cut off";
      const FirewalldSection& fw = r.firewalld;
      if (fw.started_after_dockerd.value_or(false) && fw.backend != "nftables") {
        c.why += "; firewalld started at " + UtcTimestamp(*fw.start_time) + ", after dockerd (" +
                 UtcTimestamp(*fw.dockerd_start_time) + "): its start flushed Docker's chains";
      }
      c.fix = "systemctl restart docker";
      // firewalld's nftables backend leaves Docker's chains alone: not its start.
      c.stick = fw.up == true && fw.backend != "nftables"
                    ? "restart docker after every firewalld start or reload, or set "
                      "FirewallBackend=nftables in /etc/firewalld/firewalld.conf (it leaves "
                      "Docker's iptables chains alone)"
                    : "restart docker after anything that flushes the ruleset (systemctl restart "
                      "nftables: /etc/nftables.conf starts with flush ruleset; iptables -t nat -F)";
      break;
    }
    case BlockCause::kDnatRuleMissing:
      c.why = NatChain(r) + " has no DNAT rule for " + pp;
      c.fix = "docker restart $(docker ps -q --filter publish=" + pp + ")";
      c.stick = "if it vanishes again, something rewrites " + NatChain(r) +
                " (portmap_netfilter_last_change_info names it); systemctl restart docker "
                "rebuilds every rule";
      break;
    case BlockCause::kNoListener: {
      c.why = (paths.empty() ? std::string("nothing listens on the port") : Places(paths)) +
              "; the host's own connects to the port fail too";
      if (const PublishedMapping* m = Container(r, port)) {
        const std::string cp = std::to_string(m->container_port);
        c.fix = "docker logs $(docker ps -q --filter publish=" + pp +
                ") says why its service does not listen; then docker restart $(docker ps -q "
                "--filter publish=" +
                pp + ")";
        c.stick = "the service must listen on 0.0.0.0 (and ::) port " + cp +
                  " inside the container, the port the mapping names; or correct the mapping "
                  "(-p " +
                  std::to_string(port.port) + ":PORT)";
      } else {
        c.fix = "start the service that serves " + pp + " on this host (ss -l" +
                (port.proto == "udp" ? "u" : "t") + "np 'sport = :" + std::to_string(port.port) +
                "' shows none)";
        c.stick = "enable it at boot (systemctl enable SERVICE)";
      }
      break;
    }
  }
  return c;
}

}  // namespace portmap
