# shellcheck shell=bash disable=SC2034 # constants here are used by the scripts that source it
# Shared helpers for the lab scripts and lab tests.  Source it; it sets no shell
# options itself (the caller runs with `set -euo pipefail`), and every helper is
# safe under them.
#
# Environment:
#   LAB_PREFIX  namespace/state prefix (default pm): ${LAB_PREFIX}-dockerhost,
#               ${LAB_PREFIX}-c1, ${LAB_PREFIX}-outside, /run/portmap-lab/${LAB_PREFIX}/
#   LAB_TCP     the portmap_lab_tcp binary (default $REPO/build/tests/lab/portmap_lab_tcp)
#   IPTABLES    iptables-nft (default) or iptables-legacy; fault.sh falls back to
#               the one `lab.sh up` used, so a legacy lab is never repaired with nft.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/../.." && pwd)
LAB_PREFIX=${LAB_PREFIX:-pm}
LAB_TCP=${LAB_TCP:-$REPO/build/tests/lab/portmap_lab_tcp}
LAB_STATE=/run/portmap-lab/$LAB_PREFIX

NS_HOST=$LAB_PREFIX-dockerhost
NS_C1=$LAB_PREFIX-c1
NS_OUT=$LAB_PREFIX-outside
LAB_NAMESPACES=("$NS_HOST" "$NS_C1" "$NS_OUT")

# Addresses: documentation ranges only (RFC 5737), so nothing here can ever be
# routed to a real host.
UPLINK_HOST_IP=198.51.100.1
UPLINK_OUT_IP=198.51.100.2
UPLINK_PREFIXLEN=24
BRIDGE=docker0
BRIDGE_IP=203.0.113.1
BRIDGE_NET=203.0.113.0/24
BRIDGE_PREFIXLEN=24
C1_IP=203.0.113.2
C1_VETH=veth-c1
REGISTRY_PORT=5000
# IPv6 (RFC 3849 documentation prefix), present only while a test asks for
# them (lab_ipv6_up): the same picture, one /64 per link.
UPLINK_HOST_IP6=2001:db8:100::1
UPLINK_OUT_IP6=2001:db8:100::2
UPLINK_PREFIXLEN6=64
BRIDGE_IP6=2001:db8:113::1
BRIDGE_NET6=2001:db8:113::/64
BRIDGE_PREFIXLEN6=64
C1_IP6=2001:db8:113::2

lab_log() { echo "lab[$LAB_PREFIX]: $*" >&2; }
lab_die() {
  echo "lab[$LAB_PREFIX]: error: $*" >&2
  exit 1
}

# Namespace names end up in /run/netns and in iptables comments; keep them plain.
if [[ ! $LAB_PREFIX =~ ^[a-z][a-z0-9]{0,7}$ ]]; then
  lab_die "LAB_PREFIX '$LAB_PREFIX' must be 1-8 of [a-z0-9], starting with a letter"
fi

# The iptables command: env first, then what `lab.sh up` recorded, then nft.
lab_iptables_cmd() {
  if [[ -n ${IPTABLES:-} ]]; then
    echo "$IPTABLES"
  elif [[ -r $LAB_STATE/iptables ]]; then
    cat "$LAB_STATE/iptables"
  else
    echo iptables-nft
  fi
}

# Exits 77 (ctest's SKIP_RETURN_CODE) with "SKIP: <why>" when the lab cannot run
# here; a skipped lab must never look like a passing one.
require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: the lab needs root (network namespaces, iptables)"
    exit 77
  fi
  if ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
    echo "SKIP: 'ip netns' is unusable here (iproute2 missing or no netns support)"
    exit 77
  fi
  # Listing works even where creating does not (e.g. without CAP_SYS_ADMIN in
  # a container), so try the real thing with a throwaway name.
  local probe=$LAB_PREFIX-probe$$
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "SKIP: cannot create a network namespace ('ip netns add' failed)"
    exit 77
  fi
  ip netns del "$probe" 2>/dev/null || true
}

# Microseconds since the epoch without a fork; the decimal separator of
# EPOCHREALTIME follows the locale.
lab_now_us() {
  local t=${EPOCHREALTIME/./}
  echo "${t/,/}"
}

# wait_for SECONDS DESCRIPTION CMD [ARG...]: runs CMD every 0.1 s until it
# succeeds or SECONDS pass.  Returns 1 (after saying what it waited for) on
# timeout.  The only way this lab waits for anything.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$(($(lab_now_us) + seconds * 1000000))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if (($(lab_now_us) >= deadline)); then
      lab_log "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

# wait_for_listen NS PORT [SECONDS]: a TCP listener on PORT exists in NS.
lab_has_listener() {
  [[ -n $(ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null) ]]
}
wait_for_listen() {
  wait_for "${3:-5}" "a listener on port $2 in $1" lab_has_listener "$1" "$2"
}

# wait_for_pid_exit PID [SECONDS].  A zombie counts as gone: lab processes are
# orphans once `lab.sh up` exits, and how soon they are reaped depends on
# whatever runs as pid 1 (in a container, often not an init at all).
lab_pid_gone() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [[ ${stat%% *} == Z ]]
}
wait_for_pid_exit() {
  wait_for "${2:-3}" "pid $1 to exit" lab_pid_gone "$1"
}

# tcp_probe NS HOST PORT [TIMEOUT_SECONDS]: one connect from inside NS, as an
# external client would make it (HOST: an IPv4 or IPv6 address, no brackets).
# Prints "OUTCOME ELAPSED_MS FIRST_LINE" where OUTCOME is
# connected|refused|unreachable|timeout|error (the probe collector's
# vocabulary).  Always returns 0; callers test the outcome.
tcp_probe() {
  local ns=$1 host=$2 port=$3 secs=${4:-2} out rc=0 start outcome
  start=$(lab_now_us)
  # bash's /dev/tcp needs nothing beyond bash; `timeout` bounds the SYN retries.
  # shellcheck disable=SC2016 # expanded by the inner bash
  out=$(ip netns exec "$ns" timeout "$secs" bash -c 'exec 3<>"/dev/tcp/$0/$1" && head -n1 <&3' \
    "$host" "$port" 2>&1) || rc=$?
  local elapsed_ms=$((($(lab_now_us) - start) / 1000))
  case $rc:$out in
    0:*) outcome=connected ;;
    124:*) outcome=timeout ;;
    *"Connection refused"*) outcome=refused ;;
    *"No route to host"* | *"Network is unreachable"*) outcome=unreachable ;;
    *"timed out"*) outcome=timeout ;;
    *) outcome=error ;;
  esac
  echo "$outcome $elapsed_ms ${out//$'\n'/ }"
}

# --- Trap-based cleanup for tests -------------------------------------------
# lab_defer CMD [ARG...] registers a cleanup step; lab_cleanup_trap installs
# traps that run the steps in reverse order on any exit, including errexit,
# Ctrl-C and a SIGTERM.  A failing step never hides the others.  A SIGKILL
# (ctest's TIMEOUT) skips all this; the next `lab.sh up` of the same prefix
# removes the leftovers, which is why every test starts with it.
LAB_CLEANUP=()
lab_defer() { LAB_CLEANUP+=("$(printf '%q ' "$@")"); }
lab_run_cleanup() {
  local rc=$? i
  # A second Ctrl-C or SIGTERM must not cut the cleanup short.
  trap - EXIT
  trap '' INT TERM
  for ((i = ${#LAB_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${LAB_CLEANUP[i]}" || lab_log "cleanup step failed: ${LAB_CLEANUP[i]}"
  done
  LAB_CLEANUP=()
  exit "$rc"
}
lab_cleanup_trap() {
  trap lab_run_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# --- Test assertions ----------------------------------------------------------
LAB_FAILURES=0
lab_ok() { echo "ok - $*"; }
lab_not_ok() {
  echo "not ok - $*"
  LAB_FAILURES=$((LAB_FAILURES + 1))
}
# expect_probe WANT DESCRIPTION NS HOST PORT [TIMEOUT]: WANT is an outcome, or
# "connected:REGEX" to also match the line the listener sent.  Echoes the
# probe result so the log shows timings.
expect_probe() {
  local want=$1 desc=$2
  shift 2
  local result outcome line
  result=$(tcp_probe "$@")
  outcome=${result%% *}
  line=${result#* }
  line=${line#* }
  if [[ $want == connected:* ]]; then
    if [[ $outcome == connected && $line =~ ${want#connected:} ]]; then
      lab_ok "$desc ($result)"
      return 0
    fi
  elif [[ $outcome == "$want" ]]; then
    lab_ok "$desc ($result)"
    return 0
  fi
  lab_not_ok "$desc: want $want, got ($result)"
}
lab_finish() {
  if ((LAB_FAILURES > 0)); then
    echo "FAIL: $LAB_FAILURES check(s) failed"
    return 1
  fi
  echo "PASS"
}

# --- Namespaces and processes ------------------------------------------------
lab_netns_exists() { [[ -e /run/netns/$1 ]]; }

# The nsfs inode of each of our namespaces that exists, one per line; lets a
# test find processes still inside a namespace after its name is gone.
lab_netns_inodes() {
  local ns
  for ns in "${LAB_NAMESPACES[@]}"; do
    if lab_netns_exists "$ns"; then stat -L -c %i "/run/netns/$ns" 2>/dev/null || true; fi
  done
}

# lab_pids_in_inodes INODE...: pids of processes whose netns is one of them.
lab_pids_in_inodes() {
  local link pid ino want
  for link in /proc/[0-9]*/ns/net; do
    ino=$(readlink "$link" 2>/dev/null) || continue
    ino=${ino#net:[}
    ino=${ino%]}
    for want in "$@"; do
      if [[ $ino == "$want" ]]; then
        pid=${link#/proc/}
        echo "${pid%%/*}"
      fi
    done
  done
}

# lab_pid_is_lab_tcp PID: PID is alive and runs portmap_lab_tcp (a recorded
# pid may have been reused since).
lab_pid_is_lab_tcp() {
  [[ $1 =~ ^[0-9]+$ ]] && ! lab_pid_gone "$1" &&
    grep -qa portmap_lab_tcp "/proc/$1/cmdline" 2>/dev/null
}

# lab_spawn NAME NS CMD [ARG...]: CMD in the background inside NS, its pid in
# $LAB_STATE/NAME.pid and its output in $LAB_STATE/NAME.log.  No descriptor of
# ours is inherited, so ctest never waits for a lab process to close its pipe.
lab_spawn() {
  local name=$1 ns=$2
  shift 2
  ip netns exec "$ns" "$@" </dev/null >"$LAB_STATE/$name.log" 2>&1 &
  echo $! >"$LAB_STATE/$name.pid"
}

# --- IPv6 ----------------------------------------------------------------------
# lab_ipv6_up: the IPv6 addresses above on the uplink (both ends), the bridge
# and the container, and the container's default route via the bridge; the
# outside, as for IPv4, has no route to the bridge network.  `nodad`: an address
# still in duplicate address detection is tentative, unusable for about a
# second, and nothing else on these links can hold them.  Then waits until no
# address in the three namespaces is tentative (the link-local ones of a lab
# that has just come up are).  Forwarding stays the caller's business
# (net.ipv6.conf.all.forwarding, off in a new namespace).  lab_ipv6_down
# removes it all and never fails.
lab_ipv6_settled() {
  local ns
  for ns in "${LAB_NAMESPACES[@]}"; do
    [[ -z $(ip -n "$ns" -6 addr show tentative) ]] || return 1
  done
}
lab_ipv6_up() {
  ip -n "$NS_HOST" addr add "$UPLINK_HOST_IP6/$UPLINK_PREFIXLEN6" dev eth0 nodad
  ip -n "$NS_OUT" addr add "$UPLINK_OUT_IP6/$UPLINK_PREFIXLEN6" dev eth0 nodad
  ip -n "$NS_HOST" addr add "$BRIDGE_IP6/$BRIDGE_PREFIXLEN6" dev "$BRIDGE" nodad
  ip -n "$NS_C1" addr add "$C1_IP6/$BRIDGE_PREFIXLEN6" dev eth0 nodad
  ip -n "$NS_C1" -6 route add default via "$BRIDGE_IP6"
  wait_for 5 "the lab's IPv6 addresses to leave the tentative state" lab_ipv6_settled
}
lab_ipv6_down() {
  ip -n "$NS_C1" -6 route del default via "$BRIDGE_IP6" 2>/dev/null || true
  ip -n "$NS_C1" addr del "$C1_IP6/$BRIDGE_PREFIXLEN6" dev eth0 2>/dev/null || true
  ip -n "$NS_HOST" addr del "$BRIDGE_IP6/$BRIDGE_PREFIXLEN6" dev "$BRIDGE" 2>/dev/null || true
  ip -n "$NS_OUT" addr del "$UPLINK_OUT_IP6/$UPLINK_PREFIXLEN6" dev eth0 2>/dev/null || true
  ip -n "$NS_HOST" addr del "$UPLINK_HOST_IP6/$UPLINK_PREFIXLEN6" dev eth0 2>/dev/null || true
}

# --- Docker-like rules ----------------------------------------------------------
lab_ipt() {
  local ipt
  ipt=$(lab_iptables_cmd)
  # -w: iptables-legacy's lock is one file for every namespace on the machine.
  ip netns exec "$NS_HOST" "$ipt" -w 5 "$@"
}

# What firewalld's iptables backend does on start and reload (ipXtables.py
# build_flush_rules): flush every chain, delete every user chain, zero the
# counters.  Policies are left alone: firewalld sets them in a separate step,
# which belongs to the firewalld fault, not to this one.
lab_rules_flush() {
  local table
  for table in nat filter; do
    lab_ipt -t "$table" -F
    lab_ipt -t "$table" -X
    lab_ipt -t "$table" -Z
  done
}

# The rules dockerd 20.10 writes for the default bridge and one container
# publishing 5000/tcp (`docker run -p 5000:5000`), in iptables-save order.
# Starts from a flushed ruleset, so it doubles as "restore" after any fault.
lab_rules_apply() {
  lab_rules_flush
  local p=$REGISTRY_PORT
  # nat
  lab_ipt -t nat -N DOCKER
  lab_ipt -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
  lab_ipt -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
  lab_ipt -t nat -A POSTROUTING -s "$BRIDGE_NET" ! -o "$BRIDGE" -j MASQUERADE
  # dockerd's hairpin rule for each published port.
  lab_ipt -t nat -A POSTROUTING -s "$C1_IP/32" -d "$C1_IP/32" -p tcp -m tcp --dport "$p" \
    -j MASQUERADE
  lab_ipt -t nat -A DOCKER -i "$BRIDGE" -j RETURN
  lab_ipt -t nat -A DOCKER ! -i "$BRIDGE" -p tcp -m tcp --dport "$p" \
    -j DNAT --to-destination "$C1_IP:$p"
  # filter
  local chain
  for chain in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER; do
    lab_ipt -t filter -N "$chain"
  done
  lab_ipt -t filter -P FORWARD DROP
  lab_ipt -t filter -A FORWARD -j DOCKER-USER
  lab_ipt -t filter -A FORWARD -j DOCKER-ISOLATION-STAGE-1
  lab_ipt -t filter -A FORWARD -o "$BRIDGE" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  lab_ipt -t filter -A FORWARD -o "$BRIDGE" -j DOCKER
  lab_ipt -t filter -A FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j ACCEPT
  lab_ipt -t filter -A FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  lab_ipt -t filter -A DOCKER -d "$C1_IP/32" ! -i "$BRIDGE" -o "$BRIDGE" -p tcp -m tcp \
    --dport "$p" -j ACCEPT
  lab_ipt -t filter -A DOCKER-ISOLATION-STAGE-1 -i "$BRIDGE" ! -o "$BRIDGE" \
    -j DOCKER-ISOLATION-STAGE-2
  lab_ipt -t filter -A DOCKER-ISOLATION-STAGE-1 -j RETURN
  lab_ipt -t filter -A DOCKER-ISOLATION-STAGE-2 -o "$BRIDGE" -j DROP
  lab_ipt -t filter -A DOCKER-ISOLATION-STAGE-2 -j RETURN
  lab_ipt -t filter -A DOCKER-USER -j RETURN
}

# lab_exporter_test_start EXPORTER: the checks every lab test of the exporter
# starts with — its one argument, root (else SKIP), the exporter and the lab's
# listener built; sets $exporter.
lab_exporter_test_start() {
  exporter=${1:-}
  [[ -n $exporter ]] || lab_die "usage: $0 PATH/TO/portmap_exporter"
  require_root
  [[ -x $exporter ]] || lab_die "exporter '$exporter' is not an executable"
  [[ -x $LAB_TCP ]] || lab_die "LAB_TCP=$LAB_TCP is not built"
}

# lab_require_tools TOOL...: skip the test (exit 77) naming the first tool
# that is missing.
lab_require_tools() {
  local tool
  for tool; do
    if ! command -v "$tool" >/dev/null; then
      echo "SKIP: $tool is not installed (scripts/install-deps.sh lab)"
      exit 77
    fi
  done
}

# lab_fetch NS URL FILE TIMEOUT_HEADER_SECONDS: GET URL from inside NS into
# FILE with that X-Prometheus-Scrape-Timeout-Seconds; the elapsed
# milliseconds into $fetch_ms.  Fails (curl's status) on an error or non-2xx.
fetch_ms=0
lab_fetch() {
  local start rc=0
  start=$(lab_now_us)
  ip netns exec "$1" curl -sSf --max-time 15 -H "X-Prometheus-Scrape-Timeout-Seconds: $4" \
    "$2" >"$3" || rc=$?
  fetch_ms=$((($(lab_now_us) - start) / 1000))
  return "$rc"
}

# --- reading a scrape -----------------------------------------------------------
# The lab tests save a /metrics body to the file named by LAB_METRICS and read
# it with these two.

# value NAME [LABEL="V"...]: the one sample of NAME carrying all those label
# pairs, whatever the label order (an unlabelled series when none are given);
# "missing" or "ambiguous" otherwise.
value() {
  local name=$1
  shift
  awk -v name="$name" -v want="$*" '
    BEGIN { n = split(want, pairs, " ") }
    index($0, name "{") == 1 || index($0, name " ") == 1 {
      for (i = 1; i <= n; i++) if (index($0, pairs[i]) == 0) next
      found++; v = $NF
    }
    END { print found == 1 ? v : (found ? "ambiguous" : "missing") }' "${LAB_METRICS:?set LAB_METRICS to the scraped file}"
}

# expect NAME LABELS WANT DESCRIPTION: one ok/not ok line.
expect() {
  local got
  got=$(value "$1" "$2")
  if [[ $got == "$3" ]]; then
    lab_ok "$4: $1{$2} = $got"
  else
    lab_not_ok "$4: $1{$2} = $got, want $3"
  fi
}

# --- the exporter under test -----------------------------------------------------
# lab_start_exporter NAME DIR EXPORTER [WRAPPER...] [-- ARGS...]
#   Runs EXPORTER inside $NS_HOST (or $LAB_EXPORTER_NS) on 127.0.0.1 with a kernel-chosen port,
#   behind WRAPPER (e.g. `env DBUS_SYSTEM_BUS_ADDRESS=...`, `setpriv ...`),
#   with ARGS; logs to DIR/NAME.stdout and DIR/NAME.stderr.  Waits (10 s) for
#   its "Listening on" line, sets ${NAME}_pid and ${NAME}_port, and stops it
#   at cleanup (TERM, then KILL after 5 s).
lab_start_exporter() {
  local name=$1 dir=$2 binary=$3
  shift 3
  local -a wrapper=()
  while (($#)) && [[ $1 != -- ]]; do
    wrapper+=("$1")
    shift
  done
  (($#)) && shift
  local ns=${LAB_EXPORTER_NS:-$NS_HOST}
  ip netns exec "$ns" "${wrapper[@]}" "$binary" --web.listen-address=127.0.0.1:0 "$@" \
    </dev/null >"$dir/$name.stdout" 2>"$dir/$name.stderr" &
  local pid=$!
  printf -v "${name}_pid" '%s' "$pid"
  lab_defer lab_stop_pid "$pid"
  local log=$dir/$name.stderr
  # shellcheck disable=SC2317  # called through wait_for
  lab_exporter_listening() { grep -q 'msg="Listening on"' "$1"; }
  if ! wait_for 10 "exporter $name to log its address" lab_exporter_listening "$log"; then
    sed 's/^/  exporter: /' "$log" >&2
    lab_die "exporter $name did not start (exited: $(lab_pid_gone "$pid" && echo yes || echo no))"
  fi
  local port
  port=$(sed -n 's/.*msg="Listening on".*address=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" |
    head -n1)
  [[ -n $port ]] || {
    sed 's/^/  exporter: /' "$log" >&2
    lab_die "no 127.0.0.1:PORT in exporter $name's 'Listening on' line"
  }
  printf -v "${name}_port" '%s' "$port"
  lab_ok "exporter $name in $ns listens on 127.0.0.1:$port"
}

# lab_stop_pid PID: TERM, then KILL if it has not exited within 5 s.
lab_stop_pid() {
  kill -TERM "$1" 2>/dev/null || return 0
  wait_for_pid_exit "$1" 5 || kill -KILL "$1" 2>/dev/null || true
}

# --- a real dockerd's published port ----------------------------------------------
# lab_docker_web_published VAR: waits (20 s) for `docker port web` (the
# container the dockerd tests run) to show its IPv4 mapping, then sets VAR to
# the portmap_published_port_info labels it implies (without backend).
# `docker port` also prints a ::: line for IPv6, which dockerd 20.10 serves
# with its userland proxy, not DNAT.  Its output is captured first: `docker
# port | grep -m1` would die of SIGPIPE under pipefail.
lab_docker_web_published() {
  local -n into=$1
  lab_docker_web_ports() { "$LAB_DIR/dockerd.sh" docker port web 2>/dev/null || true; }
  # shellcheck disable=SC2317  # called through wait_for
  lab_docker_web_mapped() { [[ $(lab_docker_web_ports) == *"-> 0.0.0.0:"* ]]; }
  if ! wait_for 20 "docker port web to show the IPv4 mapping" lab_docker_web_mapped; then
    "$LAB_DIR/dockerd.sh" docker ps -a >&2 || true
    "$LAB_DIR/dockerd.sh" docker logs web >&2 || true
    lab_die "docker port web: no IPv4 mapping"
  fi
  local line cip
  line=$(lab_docker_web_ports)
  line=$(grep -m1 -- '-> 0\.0\.0\.0:' <<<"$line")
  [[ $line =~ ^([0-9]+)/([a-z]+)\ -\>\ ([0-9.]+):([0-9]+)$ ]] || lab_die "docker port: '$line'"
  cip=$("$LAB_DIR/dockerd.sh" docker inspect -f '{{.NetworkSettings.IPAddress}}' web)
  into="proto=\"${BASH_REMATCH[2]}\" host_ip=\"${BASH_REMATCH[3]}\""
  into+=" host_port=\"${BASH_REMATCH[4]}\" container_ip=\"$cip\""
  into+=" container_port=\"${BASH_REMATCH[1]}\""
  lab_ok "docker port web: $line (container $cip)"
}
