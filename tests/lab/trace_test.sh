#!/usr/bin/env bash
# lab.trace: `portmap_exporter trace` against the kernel, scenario by scenario.
# For each scenario of trace_scenarios.sh, trace_scenarios_firewalls.sh and
# trace_scenarios_ipv6.sh (rulesets from trace_rules.sh):
#   1. reset dockerhost: undo the last scenario (firewalld stopped, routes and
#      links removed, sysctls back), `nft flush ruleset`, every legacy table
#      emptied with ACCEPT policies, forwarding on and rp_filter off;
#   2. the scenario writes its rules and says what the kernel must answer;
#   3. the truth: a real connect from outside (tcp_probe, 2 s) or a UDP
#      datagram to the container's echo (python3, 2 s), with the kernel's own
#      nftrace recording where an nf_tables verdict dropped it; a truth other
#      than the scenario's expectation, or a deciding place other than the one
#      it names, is `not ok` (a broken setup never passes);
#   4. the trace, in dockerhost: `trace --from 198.51.100.2 --to HOST:PORT
#      --iif eth0 --proto P --format json` (IPv6 scenarios: --from
#      2001:db8:100::2 --to [HOST]:PORT);
#   5. its outcome against the truth, its exit status against its outcome, its
#      path (forwarded or local) against the peer the container saw, and its
#      stop against the deciding place; a mismatch prints both answers and the
#      trace's `--format text`;
#   6. the verdict: one scrape of the exporter that runs in dockerhost for the
#      whole run (`verdict: {interfaces: [eth0], ports: [5000/tcp, 5000/udp],
#      sources: [the lab's client]}`,
#      primed at the start with Docker's rules for 5000 in both families, so
#      it remembers the port's DNAT, and checked to trace from the lab's
#      client); for a target on the uplink address, the verdict for the
#      scenario's family, proto, port and client (blocked: a blocked_info
#      series names the client; unknown: an unknown_info series names the
#      family on eth0; else reachable) against the truth (or the trace's
#      by-design answer), its causes against want_cause, its outcome label
#      against the truth, its rule against the deciding place and, for IPv4,
#      portmap_published_port_reachable_predicted.
# Without the trace command (the exporter knows no `trace`) or without an
# exporter argument, only the truths run: the corpus is still checked.
#
# Usage: trace_test.sh [PATH/TO/portmap_exporter]
# Environment: TRACE_ONLY=REGEX runs the scenarios whose names match;
# TRACE_KEEP=1 keeps the work directory (logs, rulesets of failures, each
# scenario's scrape as NAME.metrics);
# TRACE_SHOW=1 prints every trace as text (what README shows).
set -euo pipefail

# shellcheck source=firewalld.sh
source "$(dirname "${BASH_SOURCE[0]}")/firewalld.sh"
# shellcheck source=trace_rules.sh
source "$LAB_DIR/trace_rules.sh"

exporter=${1:-}
if [[ -n $exporter ]]; then
  lab_exporter_test_start "$exporter"
else
  require_root
  [[ -x $LAB_TCP ]] || lab_die "LAB_TCP=$LAB_TCP is not built"
fi
lab_require_tools nft iptables-nft iptables-legacy iptables-nft-restore \
  iptables-legacy-restore python3 jq ss timeout
have_firewalld=yes
for tool in firewalld firewall-cmd dbus-daemon dbus-send unshare; do
  command -v "$tool" >/dev/null || have_firewalld=no
done
trace_help=""
[[ -z $exporter ]] || trace_help=$("$exporter" trace --help 2>&1 || true)
if [[ $trace_help == *--from* ]]; then
  have_trace=yes
else
  have_trace=no
  echo "# no trace command (${exporter:-no exporter given}): truths only"
fi

export IPTABLES=iptables-nft
lab_cleanup_trap
lab_defer "$LAB_DIR/lab.sh" down
"$LAB_DIR/lab.sh" up
work=$(mktemp -d /tmp/portmap-lab-trace.XXXXXX)
[[ ${TRACE_KEEP:-} == 1 ]] || lab_defer rm -rf "$work"

# The UDP side of the container: an echo that names the peer it saw, like the
# TCP registry's --peer line.
# shellcheck disable=SC2016 # python
UDP_ECHO='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(("portmap-lab %s/udp peer %s\n" % (sys.argv[1], peer[0])).encode(), peer)
'
# One datagram from a connected socket: the echo -> delivered; ECONNREFUSED (an
# ICMP port unreachable came back) and EHOSTUNREACH/ENETUNREACH -> unreachable,
# the UDP vocabulary having no "refused"; nothing within SECS -> timeout.
UDP_CLIENT='
import errno, socket, sys, time
host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
start = time.monotonic()
def done(outcome, detail):
    print("%s %d %s" % (outcome, (time.monotonic() - start) * 1000, detail))
    sys.exit(0)
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(secs)
try:
    s.connect((host, port))
    s.send(b"portmap-lab\n")
    done("delivered", s.recv(2048).decode(errors="replace").strip())
except socket.timeout:
    done("timeout", "no answer")
except ConnectionRefusedError:
    done("unreachable", "ECONNREFUSED (ICMP port unreachable)")
except OSError as e:
    if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        done("unreachable", errno.errorcode[e.errno])
    done("error", repr(e))
'
lab_spawn udpecho "$NS_C1" python3 -c "$UDP_ECHO" "$REGISTRY_PORT"
udp_listening() { [[ -n $(ip netns exec "$NS_C1" ss -Hlun "sport = :$REGISTRY_PORT") ]]; }
wait_for 5 "the container's UDP echo" udp_listening || lab_die "udp echo did not start"
# The container's IPv6 side (portmap_lab_tcp is IPv4 only): [::]:5000, TCP and
# UDP, IPV6_V6ONLY so the IPv4 registry and echo keep 0.0.0.0:5000; each
# answer names the peer, as theirs do.
# shellcheck disable=SC2016 # python
REGISTRY6='
import selectors, socket, sys
port = int(sys.argv[1])
def bound(kind):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    return s
tcp, udp = bound(socket.SOCK_STREAM), bound(socket.SOCK_DGRAM)
tcp.listen(64)
sel = selectors.DefaultSelector()
sel.register(tcp, selectors.EVENT_READ)
sel.register(udp, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is tcp:
            c, peer = tcp.accept()
            c.sendall(("portmap-lab %d peer %s\n" % (port, peer[0])).encode())
            c.close()
        else:
            data, peer = udp.recvfrom(2048)
            udp.sendto(("portmap-lab %d/udp peer %s\n" % (port, peer[0])).encode(), peer)
'
lab_spawn registry6 "$NS_C1" python3 -c "$REGISTRY6" "$REGISTRY_PORT"
registry6_listening() { [[ -n $(ip netns exec "$NS_C1" ss -6 -Hlun "sport = :$REGISTRY_PORT") ]]; }
wait_for 5 "the container's IPv6 listener" registry6_listening ||
  lab_die "the IPv6 listener did not start: $(cat "$LAB_STATE/registry6.log")"

# --- the host's listener (docker-proxy's stand-in), switched only when needed ---------
listener_now=any # lab.sh up started it on 0.0.0.0
set_host_listener() {
  local want=$1 addr
  [[ $want == "$listener_now" ]] && return 0
  if [[ -r $LAB_STATE/proxy.pid ]] && lab_pid_is_lab_tcp "$(<"$LAB_STATE/proxy.pid")"; then
    lab_stop_pid "$(<"$LAB_STATE/proxy.pid")"
  fi
  listener_now=none
  case $want in
    none) return 0 ;;
    any) addr=0.0.0.0 ;;
    loopback) addr=127.0.0.1 ;;
    *) lab_die "host_listener takes any|loopback|none, not '$want'" ;;
  esac
  lab_spawn proxy "$NS_HOST" "$LAB_TCP" proxy "$addr:$REGISTRY_PORT" "$C1_IP:$REGISTRY_PORT"
  wait_for_listen "$NS_HOST" "$REGISTRY_PORT" 5 || lab_die "proxy on $addr did not start"
  listener_now=$want
}

# --- the scenario API (trace_scenarios.sh's header documents it) --------------------
# Scenarios run in a background subshell with errexit (see run_scenario), so
# these set that subshell's SC_* variables, dumped to $work/sc.vars at its exit;
# undo steps go to a file the reset reads.
want() {
  SC_WANT=$1
  SC_VIA=${2:-}
}
want_stop() { SC_STOP=$1; }
want_cause() { SC_CAUSES="$*"; }
want_trace() {
  SC_TRACE_WANT=$1
  SC_TRACE_WHY=$2
}
target() { SC_TARGET=$1; }
# family 6: an IPv6 scenario.  The lab gets its IPv6 addresses (lib.sh
# lab_ipv6_up) and dockerhost IPv6 forwarding for this scenario; the client is
# the outside's IPv6 address and, unless `target` says otherwise, the target
# [uplink IPv6 address]:5000.
family() {
  [[ $1 == 6 ]] || lab_die "family takes 6 (IPv4 is the default), not '$1'"
  SC_FROM=$UPLINK_OUT_IP6
  [[ $SC_TARGET != "$UPLINK_HOST_IP:$REGISTRY_PORT" ]] ||
    SC_TARGET="[$UPLINK_HOST_IP6]:$REGISTRY_PORT"
  undo lab_ipv6_down
  lab_ipv6_up
  host_sysctl net.ipv6.conf.all.forwarding=1
}
proto() { SC_PROTO=$1; }
host_listener() { SC_LISTENER=$1; }
skip() {
  SC_SKIP=$1
  exit 0
}
undo() { printf '%q ' "$@" >>"$work/undo" && echo >>"$work/undo"; }
host_sysctl() {
  local key=${1%%=*} old
  old=$(ip netns exec "$NS_HOST" sysctl -n "$key")
  undo ip netns exec "$NS_HOST" sysctl -qw "$key=$old"
  ip netns exec "$NS_HOST" sysctl -qw "$1"
}
# The outside client routes the bridge network via the host (direct routing
# to the container address, which dockerd 28+ drops in raw PREROUTING).
client_route_to_bridge() {
  ip -n "$NS_OUT" route add "$BRIDGE_NET" via "$UPLINK_HOST_IP"
  undo ip -n "$NS_OUT" route del "$BRIDGE_NET"
}
# A second link between the host and outside (eth1, no addresses), and the
# host's route to the client through it: the SYN comes in on eth0, the way
# back leaves by eth1.
asymmetric_route_to_client() {
  ip -n "$NS_HOST" link add eth1 type veth peer name eth1 netns "$NS_OUT"
  undo ip -n "$NS_HOST" link del eth1
  ip -n "$NS_HOST" link set eth1 up
  ip -n "$NS_OUT" link set eth1 up
  ip -n "$NS_HOST" route add "$UPLINK_OUT_IP/32" dev eth1
}
fw_start() {
  [[ $have_firewalld == yes ]] || skip "firewalld is not installed"
  FIREWALLD_BACKEND=$1
  undo lab_fw_stop
  lab_fw_start
}
fw() { lab_fw_in_host firewall-cmd "$@" >/dev/null; }
# fw_docker_zone [no-policy]: what dockerd (libnetwork/iptables/firewalld.go)
# sets up over D-Bus: zone docker with target ACCEPT holding the bridge, and
# (dockerd 27+) the docker-forwarding policy (ingress ANY, egress docker,
# ACCEPT).  Permanent, then a reload (which flushes iptables: write Docker's
# rules after this), then the interface.
fw_docker_zone() {
  fw --permanent --new-zone=docker
  fw --permanent --zone=docker --set-target=ACCEPT
  if [[ ${1:-} != no-policy ]]; then
    fw --permanent --new-policy=docker-forwarding
    fw --permanent --policy=docker-forwarding --add-ingress-zone=ANY
    fw --permanent --policy=docker-forwarding --add-egress-zone=docker
    fw --permanent --policy=docker-forwarding --set-target=ACCEPT
  fi
  fw --reload
  fw --zone=docker --add-interface="$BRIDGE"
}

scenario_files=("$LAB_DIR/trace_scenarios.sh" "$LAB_DIR/trace_scenarios_firewalls.sh"
  "$LAB_DIR/trace_scenarios_ipv6.sh")
# shellcheck source=trace_scenarios.sh
source "${scenario_files[0]}"
# shellcheck source=trace_scenarios_firewalls.sh
source "${scenario_files[1]}"
# shellcheck source=trace_scenarios_ipv6.sh
source "${scenario_files[2]}"

# --- reset ---------------------------------------------------------------------------
: >"$work/undo"
run_undo() {
  local -a steps=()
  mapfile -t steps <"$work/undo"
  : >"$work/undo"
  local i
  for ((i = ${#steps[@]} - 1; i >= 0; i--)); do
    eval "${steps[i]}" || lab_log "undo failed: ${steps[i]}"
  done
}
lab_defer run_undo
# Every legacy table instantiated in dockerhost (ip_tables and ip6_tables),
# emptied: restore flushes the table, deletes its chains and sets the built-in
# policies.
legacy_reset() {
  legacy_reset_family ip_tables_names iptables-legacy
  legacy_reset_family ip6_tables_names ip6tables-legacy
}
legacy_reset_family() {
  local table chains c text=""
  for table in $(ip netns exec "$NS_HOST" cat "/proc/net/$1" 2>/dev/null); do
    case $table in
      filter | security) chains="INPUT FORWARD OUTPUT" ;;
      nat) chains="PREROUTING INPUT OUTPUT POSTROUTING" ;;
      mangle) chains="PREROUTING INPUT FORWARD OUTPUT POSTROUTING" ;;
      raw) chains="PREROUTING OUTPUT" ;;
      *) continue ;;
    esac
    text+="*$table"$'\n'
    for c in $chains; do text+=":$c ACCEPT [0:0]"$'\n'; done
    text+="COMMIT"$'\n'
  done
  [[ -z $text ]] || ipt_restore "$2" <<<"$text"
}
trace_reset() {
  run_undo
  ip netns exec "$NS_HOST" nft flush ruleset
  legacy_reset
  local dev
  ip netns exec "$NS_HOST" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.default.rp_filter=0
  for dev in default eth0 "$BRIDGE" "$C1_VETH"; do
    ip netns exec "$NS_HOST" sysctl -qw "net.ipv4.conf.$dev.forwarding=1" \
      "net.ipv4.conf.$dev.rp_filter=0"
  done
}

# --- truth and trace -------------------------------------------------------------------
# measure PROTO HOST:PORT: sets truth, truth_ms, truth_detail, truth_via, truth_errno.
measure() {
  local host=${2%:*} port=${2##*:} r
  host=${host#[}
  host=${host%]}
  if [[ $1 == udp ]]; then
    r=$(ip netns exec "$NS_OUT" python3 -c "$UDP_CLIENT" "$host" "$port" 2)
  else
    r=$(tcp_probe "$NS_OUT" "$host" "$port" 2)
  fi
  truth=${r%% *}
  r=${r#* }
  truth_ms=${r%% *}
  truth_detail=${r#* }
  # ICMPv6 administratively prohibited reaches connect() as EACCES
  # (icmpv6_err_convert), which tcp_probe files under error: it is the
  # trace's `unreachable` with errno EACCES.
  truth_errno=""
  if [[ $truth == error && $truth_detail == *"Permission denied"* ]]; then
    truth=unreachable truth_errno=EACCES
  fi
  case $truth_detail in
    *"peer $UPLINK_OUT_IP"* | *"peer $UPLINK_OUT_IP6"*) truth_via=client ;;
    *"peer $BRIDGE_IP"* | *"peer $BRIDGE_IP6"*) truth_via=proxy ;;
    *) truth_via="" ;;
  esac
}

# The kernel's own account of where an nf_tables verdict dropped the client's
# packets or their replies: `meta nftrace set 1` on both directions, before
# every other chain (priority raw - 10), and `nft monitor trace` across the
# connect, for the client's IPv4 and IPv6 addresses.  The first `(verdict
# drop)` or `policy drop` of a probe packet (not an ICMP or ICMPv6 one: a
# reject's answer, neighbour discovery) is "nf_tables FAMILY TABLE CHAIN
# [policy]"; x_tables (legacy) and routing drops leave no trace line, so kstop
# stays empty.  The table is removed before the
# trace runs, which would otherwise see it.  The marker that shows the monitor
# is listening (a datagram to the discard port) is dropped right there: an ICMP
# port unreachable for it would spend the host's ICMP rate limit towards the
# client (a burst of 6, then one a second), and a REJECT scenario's ICMP could
# then be suppressed.
KTRACE_TABLE="table inet pmtrace {
  chain pre {
    type filter hook prerouting priority raw - 10; policy accept;
    ip saddr $UPLINK_OUT_IP udp dport 9 meta nftrace set 1 drop
    ip saddr $UPLINK_OUT_IP meta nftrace set 1
    ip daddr $UPLINK_OUT_IP meta nftrace set 1
    ip6 saddr $UPLINK_OUT_IP6 meta nftrace set 1
    ip6 daddr $UPLINK_OUT_IP6 meta nftrace set 1
  }
  chain out {
    type filter hook output priority raw - 10; policy accept;
    ip daddr $UPLINK_OUT_IP meta nftrace set 1
    ip6 daddr $UPLINK_OUT_IP6 meta nftrace set 1
  }
}"
ktrace_pid=""
ktrace_marker_seen() {
  ip netns exec "$NS_OUT" bash -c "echo >/dev/udp/$UPLINK_HOST_IP/9" 2>/dev/null || true
  grep -q 'udp dport 9 ' "$work/ktrace.log"
}
ktrace_start() {
  nft_load <<<"$KTRACE_TABLE"
  : >"$work/ktrace.log"
  ip netns exec "$NS_HOST" nft monitor trace </dev/null >"$work/ktrace.log" 2>&1 &
  ktrace_pid=$!
  wait_for 5 "nft monitor trace to subscribe" ktrace_marker_seen ||
    lab_log "nft monitor trace saw no marker; the kernel's stop is unknown"
}
# ktrace_stop: sets kstop.
ktrace_stop() {
  kill -TERM "$ktrace_pid" 2>/dev/null || true
  wait "$ktrace_pid" 2>/dev/null || true
  ip netns exec "$NS_HOST" nft delete table inet pmtrace 2>/dev/null || true
  kstop=$(awk '/ packet: / && (/udp dport 9 / || / icmp / || / icmpv6 /) { skip[$3] = 1 }
    skip[$3] { next }
    / policy drop *$/ { print "nf_tables", $4, $5, $6, "policy"; exit }
    /\(verdict drop\)$/ { print "nf_tables", $4, $5, $6; exit }' "$work/ktrace.log")
}

# run_trace PROTO HOST:PORT: sets got, got_stop, got_rc, got_reason, got_errno, got_path,
# got_ms; the JSON in $work/trace.json.
run_trace() {
  local start
  start=$(lab_now_us)
  got_rc=0 got_errno=""
  ip netns exec "$NS_HOST" timeout 30 "$exporter" trace --from "$SC_FROM" --to "$2" \
    --iif eth0 --proto "$1" --format json >"$work/trace.json" 2>"$work/trace.err" || got_rc=$?
  got_ms=$((($(lab_now_us) - start) / 1000))
  if ! got=$(jq -er 'select(.schema_version == 1) | .outcome' "$work/trace.json" 2>/dev/null); then
    got="(no JSON, exit $got_rc: $(head -c 300 "$work/trace.err" "$work/trace.json" | tr '\n' ' '))"
    got_stop="" got_reason="" got_path=""
    return 0
  fi
  got_stop=$(jq -r 'if .stopped_at == null then "" else ([.stopped_at.backend,
    .stopped_at.family, .stopped_at.table, .stopped_at.chain]
    + (if .stopped_at.policy then ["policy"] else [] end) | join(" ")) end' "$work/trace.json")
  got_reason=$(jq -r '.reason // ""' "$work/trace.json")
  got_errno=$(jq -r '.errno // ""' "$work/trace.json")
  # The client packet's routing decision (the first routing step; the reply's
  # is "reply routing"): forwarded or delivered locally.
  got_path=$(jq -r '[.steps[] | select(.phase == "routing") | .text][0] // ""
    | if test("forward") then "client" elif test("local") then "proxy" else "" end' \
    "$work/trace.json")
}
show_trace_text() {
  ip netns exec "$NS_HOST" timeout 30 "$exporter" trace --from "$SC_FROM" --to "$2" \
    --iif eth0 --proto "$1" --format text 2>&1 | sed 's/^/    trace: /' || true
}
# stop_matches WANT GOT: WANT may leave out the backend.
stop_matches() {
  [[ $2 == "$1" ]] && return 0
  [[ $1 != nf_tables* && $1 != x_tables* && ${2#* } == "$1" ]]
}
want_rc() {
  case $1 in
    connected | delivered) echo 0 ;;
    refused | unreachable | timeout) echo 1 ;;
    *) echo 2 ;;
  esac
}

# --- the verdict on /metrics -------------------------------------------------------------
# One exporter in dockerhost for the whole run (the probe and firewalld
# collectors off: the first dials out, the second talks to a system bus),
# judging 5000/tcp and 5000/udp from eth0 whether or not a rule publishes them.
# After each scenario's truth and trace, one scrape; the verdict for the
# scenario's path (family, proto, port, client) is blocked when a
# portmap_published_port_blocked_info series names the client, unknown when a
# portmap_published_port_prediction_unknown_info series names the family on
# eth0, else reachable; its causes are the blocked_info series' cause labels.
# VERDICT_READ FILE PROTO PORT FAMILY CLIENT prints "state S", "causes C...",
# "agg V" (reachable_predicted, "missing" when absent), "success V" (the
# verdict collector's), "outcome O..." and "stop BACKEND FAMILY TABLE CHAIN
# [policy]" (the client's blocked_info series' outcome and rule labels) and the
# port's blocked_info/unknown_info lines as "series LINE"; VERDICT_READ FILE clients FAMILY prints the client label of
# every blocked_info series of that family on eth0.
# shellcheck disable=SC2016 # python
VERDICT_READ='
import re, sys
pair = re.compile(r"(\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"")
def unescape(v):
    return re.sub(r"\\\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)
series = []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("#") or "{" not in line:
        continue
    name, rest = line.split("{", 1)
    labels, value = rest.rsplit("}", 1)
    series.append((name, {k: unescape(v) for k, v in pair.findall(labels)}, value.strip(), line))
BLOCKED, UNKNOWN = "portmap_published_port_blocked_info", "portmap_published_port_prediction_unknown_info"
if sys.argv[2] == "clients":
    for name, l, v, line in series:
        if name == BLOCKED and l.get("family") == sys.argv[3] and l.get("interface") == "eth0":
            print(l.get("client", ""), l.get("proto", ""), l.get("cause", ""))
    sys.exit(0)
proto, port, family, client = sys.argv[2:6]
state, causes, agg, success, lines = "reachable", set(), "missing", "missing", []
outcomes, stops = set(), set()
for name, l, v, line in series:
    if name == "portmap_scrape_collector_success" and l.get("collector") == "verdict":
        success = v
    if l.get("proto") != proto or l.get("host_port") != port:
        continue
    if name == "portmap_published_port_reachable_predicted":
        agg = v
    elif name == BLOCKED and l.get("family") == family and l.get("client") == client:
        state = "blocked"
        causes.add(l.get("cause", ""))
        outcomes.add(l.get("outcome", ""))
        if l.get("chain"):
            stops.add(" ".join([l.get("backend", ""), l.get("table_family", ""), l.get("table", ""),
                                l.get("chain", "")] + ([] if l.get("handle") else ["policy"])))
        lines.append(line)
    elif name == UNKNOWN and l.get("family") == family and l.get("interface") == "eth0":
        if state != "blocked":
            state = "unknown"
        lines.append(line)
print("state", state)
print("causes", *sorted(causes))
print("agg", agg)
print("success", success)
print("outcome", *sorted(outcomes))
print("stop", "|".join(sorted(stops)))
for line in lines:
    print("series", line)
'
verdict_port="" # set by lab_start_exporter
verdict_scrape() {
  local start rc=0
  start=$(lab_now_us)
  ip netns exec "$NS_HOST" curl -sS --max-time 15 "http://127.0.0.1:$verdict_port/metrics" \
    >"$work/metrics" 2>"$work/metrics.err" || rc=$?
  scrape_ms=$((($(lab_now_us) - start) / 1000))
  return "$rc"
}
if [[ $have_trace == yes ]]; then
  cat >"$work/portmap.yml" <<'EOF'
verdict:
  interfaces: [eth0]
  ports: ["5000/tcp", "5000/udp"]
  # The lab's real client, also where the host routes its replies elsewhere
  # (an asymmetric route: the default client then differs, rp_filter judges it).
  sources: ["198.51.100.2", "2001:db8:100::2"]
EOF
  lab_start_exporter verdict "$work" "$exporter" -- --no-collector.probe \
    --no-collector.firewalld --config.file="$work/portmap.yml"
fi

# verdict_prime: Docker's rules for 5000/tcp and 5000/udp in both families, each
# family's DOCKER-USER dropping what comes in on eth0, and one scrape.  The
# exporter remembers the ports' DNAT (and their 0.0.0.0 and :: host addresses)
# from then on, so every scenario is judged the same way whichever ran before
# it (TRACE_ONLY too): a port not DNATed and stopped on the host is
# docker_chain_missing or dnat_rule_missing.  The blocked paths name the
# verdict's default client on eth0, which must be the lab's outside address,
# the client every scenario connects from.
verdict_prime() {
  docker20_save "$P" "$P" "tcp udp" | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER -i eth0 -j DROP
  docker20_save6 "$P" "$P" "tcp udp" | ipt_restore ip6tables-nft
  ipt ip6tables-nft -I DOCKER-USER -i eth0 -j DROP
  undo lab_ipv6_down
  lab_ipv6_up
  host_sysctl net.ipv6.conf.all.forwarding=1
  if ! verdict_scrape; then
    sed 's/^/  exporter: /' "$work/verdict.stderr" >&2
    lab_die "the first scrape of the verdict's exporter failed: $(cat "$work/metrics.err")"
  fi
  local family client proto got want
  for family in ipv4 ipv6; do
    client=$UPLINK_OUT_IP
    [[ $family == ipv4 ]] || client=$UPLINK_OUT_IP6
    for proto in tcp udp; do
      got=$(python3 -c "$VERDICT_READ" "$work/metrics" clients "$family" | sort -u |
        awk -v p="$proto" '$2 == p { print $1 "/" $3 }' | paste -sd' ')
      want="$client/docker_user_drop"
      if [[ $got == "$want" ]]; then
        lab_ok "the verdict's client on eth0 ($family, $proto) is $client"
      else
        lab_not_ok "the verdict's blocked $family $proto paths on eth0 are '$got', want $want"
        grep '^portmap_published_port_\(blocked_info\|prediction_unknown\)' "$work/metrics" |
          sed 's/^/    /'
        lab_die "the verdict does not trace from the lab's client: every verdict check would be wrong"
      fi
    done
  done
  trace_reset
}

# check_verdict NAME WHERE: the verdict for the scenario's path against the
# kernel's truth (or, for a want_trace scenario, what the trace must say): its
# state, its causes against want_cause, its outcome label against the truth,
# the rule it names against WHERE (the deciding place, as for the trace) and,
# for IPv4, reachable_predicted; sets verdict_col.
verdict_state_of() {
  case $1 in
    connected | delivered) echo reachable ;;
    refused | unreachable | timeout) echo blocked ;;
    unknown) echo unknown ;;
    *) echo "?" ;;
  esac
}
check_verdict() {
  local name=$1 where=$2 host=${SC_TARGET%:*} port=${SC_TARGET##*:} family=ipv4
  host=${host#[}
  host=${host%]}
  [[ $SC_FROM != *:* ]] || family=ipv6
  verdict_col="-"
  if [[ $host != "$UPLINK_HOST_IP" && $host != "$UPLINK_HOST_IP6" ]]; then
    echo "# $name: verdict: not a published-port path"
    verdict_col="not a published-port path"
    [[ -z $SC_CAUSES ]] || lab_not_ok "$name: want_cause on a path that is not a published port's"
    return 0
  fi
  if ! verdict_scrape; then
    lab_not_ok "$name: verdict: the scrape failed: $(cat "$work/metrics.err")"
    verdict_col="scrape failed"
    return 0
  fi
  local -a out=()
  mapfile -t out < <(python3 -c "$VERDICT_READ" "$work/metrics" "$SC_PROTO" "$port" "$family" \
    "$SC_FROM")
  local state=${out[0]#state } causes=${out[1]#causes} agg=${out[2]#agg } success=${out[3]#success }
  local outcome=${out[4]#outcome} vstop=${out[5]#stop}
  causes=${causes# } outcome=${outcome# } vstop=${vstop# }
  [[ ${TRACE_KEEP:-} != 1 ]] || cp "$work/metrics" "$work/$name.metrics"
  local want expect=${SC_TRACE_WANT:-$truth} bad="" want_causes=""
  want=$(verdict_state_of "$expect")
  [[ -z $SC_CAUSES ]] || want_causes=$(tr ' ' '\n' <<<"$SC_CAUSES" | sort -u | paste -sd' ')
  verdict_col=$state
  [[ -z $causes ]] || verdict_col+=" ($causes)"
  [[ $success == 1 ]] || bad+=" collector-success($success)"
  [[ $state == "$want" ]] || bad+=" state(want $want)"
  if [[ $want == blocked ]]; then
    if [[ -z $SC_CAUSES ]]; then
      bad+=" no-want_cause(a blocked scenario names the causes it expects)"
    elif [[ $state == blocked && $causes != "$want_causes" ]]; then
      bad+=" causes(want $want_causes)"
    fi
  elif [[ -n $SC_CAUSES ]]; then
    bad+=" want_cause($SC_CAUSES, on a path the kernel does not block)"
  fi
  if [[ $want == blocked && $state == blocked && -z $SC_TRACE_WANT ]]; then
    [[ $outcome == "$truth" ]] || bad+=" outcome($outcome)"
    [[ -z $where ]] || stop_matches "$where" "$vstop" || bad+=" stop($vstop, want $where)"
  fi
  # IPv4 scenarios: eth0 has no IPv6 address, the port's only traced path is
  # this one, and the aggregate must say the same.
  if [[ $family == ipv4 ]]; then
    local want_agg=missing
    case $want in reachable) want_agg=1 ;; blocked) want_agg=0 ;; esac
    [[ $agg == "$want_agg" ]] || bad+=" reachable_predicted($agg, want $want_agg)"
  fi
  local label="verdict $verdict_col for $SC_PROTO/$port from $SC_FROM ($scrape_ms ms scrape)"
  if [[ -z $bad ]]; then
    lab_ok "$name: $label"
  else
    lab_not_ok "$name:$bad: $label; kernel says $truth${SC_TRACE_WANT:+, trace by design $SC_TRACE_WANT}"
    local line
    for line in "${out[@]:6}"; do echo "    ${line#series }"; done
    grep "^portmap_published_port_reachable_predicted{.*host_port=\"$port\"" "$work/metrics" |
      sed 's/^/    /' || true
    show_trace_text "$SC_PROTO" "$SC_TARGET"
  fi
}

# --- the run ---------------------------------------------------------------------------------
table=()
run_scenario() {
  local name=$1 t0 t1 t2 rc=0
  SC_WANT="" SC_VIA="" SC_STOP="" SC_TARGET="$UPLINK_HOST_IP:$REGISTRY_PORT" SC_PROTO=tcp
  SC_FROM=$UPLINK_OUT_IP
  SC_LISTENER=none SC_SKIP="" SC_TRACE_WANT="" SC_TRACE_WHY="" SC_CAUSES="" kstop=""
  t0=$(lab_now_us)
  trace_reset
  # A background subshell keeps errexit (a `||` around a plain subshell would
  # switch it off inside): a failing setup command ends the scenario, not the run.
  (
    set -euo pipefail
    trap 'declare -p SC_WANT SC_VIA SC_STOP SC_TARGET SC_FROM SC_PROTO SC_LISTENER SC_SKIP \
      SC_TRACE_WANT SC_TRACE_WHY SC_CAUSES >"$work/sc.vars"' EXIT
    "$name"
  ) >"$work/$name.setup.log" 2>&1 </dev/null &
  wait $! || rc=$?
  # shellcheck disable=SC1091 # written above
  source "$work/sc.vars"
  if ((rc != 0)); then
    lab_not_ok "$name: setup failed (exit $rc)"
    sed 's/^/    setup: /' "$work/$name.setup.log"
    table+=("$name|$SC_WANT|setup failed|")
    return 0
  fi
  if [[ -n $SC_SKIP ]]; then
    lab_ok "$name # SKIP $SC_SKIP"
    table+=("$name|$SC_WANT|skipped|")
    return 0
  fi
  set_host_listener "$SC_LISTENER"
  ktrace_start
  t1=$(lab_now_us)
  measure "$SC_PROTO" "$SC_TARGET"
  t2=$(lab_now_us)
  ktrace_stop
  local shown=$truth
  [[ -z $truth_via ]] || shown+=" via $truth_via"
  if [[ $truth == "$SC_WANT" && (-z $SC_VIA || $truth_via == "$SC_VIA") ]]; then
    lab_ok "$name: kernel $shown ($truth_ms ms)"
  else
    lab_not_ok "$name: kernel $shown, want $SC_WANT${SC_VIA:+ via $SC_VIA} ($truth_ms ms: $truth_detail)"
    ip netns exec "$NS_HOST" nft list ruleset >"$work/$name.ruleset" 2>&1 || true
  fi
  # The scenario's deciding place against the kernel's, where nftrace sees it.
  local where=${SC_STOP:-$kstop}
  if [[ -n $SC_STOP && ($SC_STOP == nf_tables* || -n $kstop) ]]; then
    if stop_matches "$SC_STOP" "$kstop"; then
      lab_ok "$name: kernel stopped at $kstop"
    else
      lab_not_ok "$name: kernel stopped at '${kstop:-no nf_tables drop}', want $SC_STOP"
      cp "$work/ktrace.log" "$work/$name.ktrace.log"
    fi
  fi
  [[ $truth != connected && $truth != delivered ]] || where=""
  local traced="-"
  if [[ $have_trace == yes ]]; then
    run_trace "$SC_PROTO" "$SC_TARGET"
    [[ ${TRACE_SHOW:-} != 1 ]] || show_trace_text "$SC_PROTO" "$SC_TARGET"
    traced=$got
    [[ -z $got_stop ]] || traced+=" at $got_stop"
    local bad="" expect=${SC_TRACE_WANT:-$truth} why=""
    [[ -z $SC_TRACE_WANT ]] || why="; kernel says $truth: $SC_TRACE_WHY"
    [[ $got == "$expect" ]] || bad+=" outcome"
    [[ -z $truth_errno || $got_errno == "$truth_errno" ]] || bad+=" errno($got_errno, kernel $truth_errno)"
    [[ $got_rc == "$(want_rc "$got")" ]] || bad+=" exit-status($got_rc)"
    # Connected the right way: forwarded where the container saw the client,
    # delivered to the host's listener where it saw the proxy.
    if [[ -n $truth_via && $got == "$truth" && -z $SC_TRACE_WANT ]]; then
      if [[ -z $got_path ]]; then
        echo "# $name: the trace's routing step names neither forward nor local"
      elif [[ $got_path != "$truth_via" ]]; then
        bad+=" path(trace: $([[ $got_path == client ]] && echo forwarded || echo local))"
      fi
    fi
    [[ -z $where ]] || stop_matches "$where" "$got_stop" || bad+=" stop(want $where)"
    [[ -z $SC_TRACE_WANT ]] || traced+=" (by design)"
    if [[ -z $bad ]]; then
      lab_ok "$name: trace $traced ($got_ms ms$why)"
    else
      lab_not_ok "$name: trace$bad: trace says $traced, kernel says $truth${SC_TRACE_WANT:+ (trace should say $SC_TRACE_WANT: $SC_TRACE_WHY)}; reason: $got_reason"
      show_trace_text "$SC_PROTO" "$SC_TARGET"
    fi
  fi
  local verdict_col="-"
  [[ $have_trace != yes ]] || check_verdict "$name" "$where"
  table+=("$name|$SC_WANT|$shown${kstop:+ at $kstop}|$traced|$verdict_col")
  echo "# $name: $((($(lab_now_us) - t0) / 1000)) ms (setup $(((t1 - t0) / 1000))," \
    "connect $(((t2 - t1) / 1000)))"
}

mapfile -t scenarios < <(grep -ho '^sc_[a-z0-9_]*()' "${scenario_files[@]}" | tr -d '()')
run_start=$(lab_now_us)
[[ $have_trace != yes ]] || verdict_prime
n=0
for name in "${scenarios[@]}"; do
  [[ -z ${TRACE_ONLY:-} || $name =~ $TRACE_ONLY ]] || continue
  run_scenario "$name"
  n=$((n + 1))
done
run_undo

echo "# $n scenarios in $((($(lab_now_us) - run_start) / 1000)) ms"
for row in "${table[@]}"; do
  IFS='|' read -r name w k t v <<<"$row"
  printf '# %s\n#     want %s; kernel %s; trace %s; verdict %s\n' "$name" "$w" "$k" "$t" "${v:--}"
done
lab_finish
