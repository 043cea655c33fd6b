#!/usr/bin/env bash
# lab.firewalld.dockerd (FIREWALLD_BACKEND=iptables, the default) and
# lab.firewalld.dockerd.nft (FIREWALLD_BACKEND=nftables): a real firewalld
# (Debian 1.3) with that backend on a private bus in dockerhost
# (firewalld.sh), started FIRST, then a real dockerd (docker.io 20.10,
# dockerd.sh) whose DBUS_SYSTEM_BUS_ADDRESS is that private bus, so dockerd
# registers with firewalld: the `docker` zone, its iptables calls through
# firewalld's direct passthrough, and its chains rebuilt on firewalld's
# `Reloaded` signal.  One container publishes 80 on 8080.  The exporter (all default collectors) runs
# in dockerhost on the same bus with --docker.pidfile pointing at dockerd's.
#
# Then `firewall-cmd --reload`, and with bounded waits:
#   - portmap_firewalld_reloads_total +1;
#   - the wipe is still counted: portmap_netfilter_chain_deletions_total of
#     nat DOCKER, the four filter DOCKER* chains and the base chains nat
#     PREROUTING/OUTPUT and filter FORWARD moved by exactly as many deletions
#     as `nft monitor` saw (nf_tables DELCHAIN events, seen by the netfilter
#     event watcher even though the chains are back by the next scrape), and
#     `nft monitor` saw what was measured: each Docker chain and nat
#     PREROUTING/OUTPUT deleted once, filter FORWARD only flushed, on both
#     backends;
#   - dockerd rebuilt its chains: chain_present 1 again, and the published
#     port series is back;
#   - firewalld started before dockerd (the healthy order):
#     portmap_firewalld_start_time_seconds < portmap_dockerd_start_time_seconds;
#   - before and after: the probe collector, with targets from the Docker
#     Engine API only (the opt-in discovery; netfilter discovery off),
#     connects 8080 on 127.0.0.1 and the uplink address;
#   - before and after, the truth: 8080/tcp is not open in zone public, a
#     real connect from outside to the uplink address:8080 connects (the
#     iptables backend: Docker's FORWARD rules come first; the nftables
#     backend: filter_FORWARD's `ct status dnat accept`), and the verdict
#     (traced from eth0) predicts what the connect got, with no
#     portmap_published_port_blocked series for 8080;
#   - where the backends differ (measured, nft monitor): the iptables
#     backend's reload restores every table of ip, ip6 and ebtables (about 70
#     commits), declares nat PREROUTING/OUTPUT again itself and filter
#     FORWARD with policy ACCEPT; the nftables backend's touches only ip nat
#     and ip filter through iptables-restore (its direct interface) besides
#     its own `table inet firewalld` (about 30 commits), leaves FORWARD's
#     policy as it was (DROP here) and nat PREROUTING/OUTPUT missing until
#     dockerd's rebuild declares them.
# `nft monitor` runs in dockerhost across the reload; its log is summarised
# in the output as evidence of what really happened.
#
# Usage: [FIREWALLD_BACKEND=iptables|nftables] firewalld_dockerd_test.sh PATH/TO/portmap_exporter
set -euo pipefail

# shellcheck source=firewalld.sh
source "$(dirname "${BASH_SOURCE[0]}")/firewalld.sh"
lab_exporter_test_start "${1:-}" # sets $exporter
lab_require_tools firewalld firewall-cmd dbus-daemon dbus-send unshare nsenter curl
if [[ ! -x ${DOCKERD:-/usr/sbin/dockerd} || ! -x ${DOCKER_CLI:-/usr/bin/docker} ]]; then
  echo "SKIP: docker.io is not installed (scripts/install-deps.sh lab)"
  exit 77
fi
# dockerd writes with the iptables firewalld passes its rules through; the
# lab's own iptables (lab.sh, lab_ipt) must be the same one: Debian's
# firewalld runs /usr/sbin/iptables, iptables-nft by default.
export IPTABLES=iptables-nft
# The netfilter collector's backend label for iptables-nft's rules.
backend=nftables
# firewalld's own backend (firewalld.sh reads FIREWALLD_BACKEND).
fw_backend=$FIREWALLD_BACKEND
[[ $fw_backend == iptables || $fw_backend == nftables ]] ||
  lab_die "FIREWALLD_BACKEND is iptables or nftables, not '$fw_backend'"

lab_cleanup_trap
lab_defer "$LAB_DIR/lab.sh" down
"$LAB_DIR/lab.sh" up

work=$(mktemp -d /tmp/portmap-lab-fwdockerd.XXXXXX)
LAB_METRICS=$work/metrics
lab_defer rm -rf "$work"

# --- firewalld first -----------------------------------------------------------
stop_bus() {
  local pid
  pid=$(lab_fw_dbus_pid) || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_for_pid_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
}
lab_defer stop_bus
lab_defer lab_fw_stop
lab_fw_start
lab_ok "firewalld running on $(lab_fw_bus_address) in $NS_HOST"
# Its backend as the kernel shows it: the nftables backend's own table.
if ip netns exec "$NS_HOST" nft list table inet firewalld >/dev/null 2>&1; then
  fw_tables=nftables
else
  fw_tables=iptables
fi
if [[ $fw_tables == "$fw_backend" ]]; then
  lab_ok "firewalld runs its $fw_backend backend"
else
  lab_not_ok "firewalld was asked for its $fw_backend backend; the ruleset looks like $fw_tables"
fi

# --- then dockerd, on the same bus -----------------------------------------------
# Cleanup order (reverse): exporter, dockerd, firewalld, bus, lab.
lab_defer "$LAB_DIR/dockerd.sh" stop
DOCKERD_DBUS_SYSTEM_BUS_ADDRESS=$(lab_fw_bus_address) DOCKERD_FLUSH=no \
  "$LAB_DIR/dockerd.sh" start
docker_cli() { "$LAB_DIR/dockerd.sh" docker "$@"; }
docker_pidfile=$LAB_STATE/docker/docker.pid

# dockerd registered with firewalld: docker0 in the `docker` zone.
docker0_in_docker_zone() {
  [[ $(lab_fw_in_host firewall-cmd --get-zone-of-interface=docker0 2>/dev/null) == docker ]]
}
if wait_for 20 "docker0 in firewalld's docker zone" docker0_in_docker_zone; then
  lab_ok "dockerd registered with firewalld: docker0 is in zone docker"
else
  lab_not_ok "docker0 is not in firewalld's docker zone: $(lab_fw_in_host \
    firewall-cmd --get-zone-of-interface=docker0 2>&1 || true)"
  sed 's/^/  dockerd: /' "$LAB_STATE/docker/dockerd.log" >&2 || true
fi

docker_cli run -d --name web -p 8080:80 portmap-lab-busybox /bin/busybox httpd -f -p 80 \
  >/dev/null
published=""
lab_docker_web_published published
published+=" backend=\"$backend\""

# --- the exporter ----------------------------------------------------------------
# Probe targets from the Docker Engine API alone (the opt-in discovery):
# the netfilter discovery is off, so a probe of 8080 proves the API was read.
# The verdict traces from eth0, named: the lab's uplink is a veth, which the
# uplink detection leaves out.
cat >"$work/portmap.yml" <<EOF
discovery:
  netfilter: {enabled: false}
  docker: {enabled: true, socket: $LAB_STATE/docker/docker.sock}
verdict:
  interfaces: [eth0]
EOF
exporter_pid="" exporter_port="" # set by lab_start_exporter
lab_start_exporter exporter "$work" "$exporter" env DBUS_SYSTEM_BUS_ADDRESS="$(lab_fw_bus_address)" \
  -- --docker.pidfile="$docker_pidfile" --config.file="$work/portmap.yml" --probe.interval=0s
port=$exporter_port
show_exporter_log() { sed 's/^/  exporter: /' "$work/exporter.stderr" >&2; }

scrape() {
  ip netns exec "$NS_HOST" curl -sSf --max-time 15 "http://127.0.0.1:$port/metrics" \
    >"$work/metrics" || {
    show_exporter_log
    lab_die "scrape of 127.0.0.1:$port/metrics failed"
  }
}
scraped_is() {
  scrape
  [[ $(value "$1" "$2") == "$3" ]]
}
is_number() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$ ]]; }
chain_labels() { echo "backend=\"$backend\" family=\"ipv4\" table=\"$1\" chain=\"$2\""; }
deletion_labels() { echo "family=\"ipv4\" table=\"$1\" chain=\"$2\""; }
# Docker's chains, which firewalld's reload deletes (iptables -X), and base
# chains: nat PREROUTING and OUTPUT deleted too (both backends' restore of the
# nat table; the iptables backend declares them again in a later commit,
# dockerd re-creates them on the nftables backend), filter FORWARD only
# flushed.  Measured with nft monitor (firewalld 1.3.3, kernel 6.18).
watched=("nat DOCKER" "filter DOCKER" "filter DOCKER-USER" "filter DOCKER-ISOLATION-STAGE-1"
  "filter DOCKER-ISOLATION-STAGE-2")
base_chains=("nat PREROUTING" "nat OUTPUT" "filter FORWARD")
declare -A measured_deletions=([nat PREROUTING]=1 [nat OUTPUT]=1 [filter FORWARD]=0)
for tc in "${watched[@]}"; do measured_deletions[$tc]=1; done

echo "# firewalld first, then dockerd: the healthy state"
scrape
expect portmap_firewalld_up "" 1 "firewalld running"
expect portmap_dockerd_up "" 1 "dockerd found through --docker.pidfile"
expect portmap_scrape_collector_success 'collector="netfilter"' 1 "netfilter collector"
fw_start=$(value portmap_firewalld_start_time_seconds "")
dockerd_start=$(value portmap_dockerd_start_time_seconds "")
if is_number "$fw_start" && is_number "$dockerd_start" &&
  awk -v f="$fw_start" -v d="$dockerd_start" 'BEGIN { exit !(f > 0 && f < d) }'; then
  lab_ok "firewalld start $fw_start < dockerd start $dockerd_start (healthy order)"
else
  lab_not_ok "firewalld start '$fw_start' not before dockerd start '$dockerd_start'"
fi
for tc in "${watched[@]}"; do
  read -r table chain <<<"$tc"
  expect portmap_netfilter_chain_present "$(chain_labels "$table" "$chain")" 1 \
    "before reload: $table $chain"
done
expect portmap_published_port_info "$published" 1 "before reload: published port"
check_probes() {
  local t
  for t in "127.0.0.1:8080" "$UPLINK_HOST_IP:8080"; do
    expect portmap_probe_success "vantage=\"local\" target=\"$t\"" 1 \
      "$1: probe (Docker API discovery)"
  done
  expect portmap_scrape_collector_success 'collector="probe"' 1 "$1: probe collector"
}
# connect_probe NS HOST PORT SECS: tcp_probe's words for a connect alone
# (busybox httpd says nothing before the request, so tcp_probe's read of a
# first line would time out on a connection that was made).
connect_probe() {
  local out rc=0 start
  start=$(lab_now_us)
  # shellcheck disable=SC2016 # expanded by the inner bash
  out=$(ip netns exec "$1" timeout "$4" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>&1) || rc=$?
  local ms=$((($(lab_now_us) - start) / 1000))
  case $rc:$out in
    0:*) echo "connected $ms" ;;
    124:*) echo "timeout $ms" ;;
    *"Connection refused"*) echo "refused $ms" ;;
    *"No route to host"* | *"Network is unreachable"*) echo "unreachable $ms" ;;
    *) echo "error $ms ${out//$'\n'/ }" ;;
  esac
}
# check_truth WHEN: a real connect from outside to the uplink address:8080
# (not opened in zone public: dockerd opens nothing there) against the verdict.
check_truth() {
  local r outcome want_pred blocked
  if lab_fw_in_host firewall-cmd --zone=public --query-port=8080/tcp >/dev/null 2>&1; then
    lab_not_ok "$1: 8080/tcp is open in zone public; the truth below would not test the zone"
  else
    lab_ok "$1: 8080/tcp is not open in zone public"
  fi
  r=$(connect_probe "$NS_OUT" "$UPLINK_HOST_IP" 8080 3)
  outcome=${r%% *}
  # Measured on both backends: connected (the DNATed SYN is forwarded).
  if [[ $outcome == connected ]]; then
    lab_ok "$1: truth: outside -> $UPLINK_HOST_IP:8080 $r ms"
  else
    lab_not_ok "$1: truth: outside -> $UPLINK_HOST_IP:8080 $r, want connected ($fw_backend backend)"
  fi
  want_pred=0
  [[ $outcome != connected ]] || want_pred=1
  scrape
  expect portmap_scrape_collector_success 'collector="verdict"' 1 "$1: verdict collector"
  blocked=$(grep -c '^portmap_published_port_blocked{.*host_port="8080"' "$work/metrics" || true)
  if [[ $(value portmap_published_port_reachable_predicted 'proto="tcp" host_port="8080"') == \
    "$want_pred" && $blocked == 0 ]]; then
    lab_ok "$1: verdict: reachable_predicted{tcp,8080} = $want_pred as the truth ($outcome), no blocked series"
  else
    lab_not_ok "$1: verdict: reachable_predicted{tcp,8080} = $(value \
      portmap_published_port_reachable_predicted 'proto="tcp" host_port="8080"'), want $want_pred (truth $outcome); $blocked blocked series"
    grep '^portmap_published_port_\(reachable\|blocked\|prediction\)[^{]*{.*host_port="8080"' \
      "$work/metrics" | sed 's/^/    /' || true
    ip netns exec "$NS_HOST" "$exporter" trace --from "$UPLINK_OUT_IP" \
      --to "$UPLINK_HOST_IP:8080" --iif eth0 --format text 2>&1 | tail -n 12 |
      sed 's/^/    trace: /' || true
  fi
}
forward_policy() {
  ip netns exec "$NS_HOST" iptables-nft -w 5 -S FORWARD | awk '$1 == "-P" { print $3 }'
}
check_probes "before reload"
check_truth "before reload"
forward_policy0=$(forward_policy)
reloads0=$(value portmap_firewalld_reloads_total "")
declare -A deletions0
for tc in "${watched[@]}" "${base_chains[@]}"; do
  read -r table chain <<<"$tc"
  deletions0[$tc]=$(value portmap_netfilter_chain_deletions_total "$(deletion_labels "$table" "$chain")")
  is_number "${deletions0[$tc]}" || lab_not_ok "before reload: $table $chain deletions_total = ${deletions0[$tc]}"
done
is_number "$reloads0" || lab_die "portmap_firewalld_reloads_total = '$reloads0' before the reload"
echo "  before: reloads_total=$reloads0 deletions nat DOCKER=${deletions0[nat DOCKER]}" \
  "filter DOCKER=${deletions0[filter DOCKER]}"

# --- the reload ----------------------------------------------------------------
# nft monitor in dockerhost, across the reload: the evidence of what happened.
ip netns exec "$NS_HOST" timeout 60 nft monitor \
  </dev/null >"$work/nft-monitor.log" 2>&1 &
monitor_pid=$!
stop_monitor() {
  kill -TERM "$monitor_pid" 2>/dev/null || true
  wait "$monitor_pid" 2>/dev/null || true
}
lab_defer stop_monitor
sleep 0.5 # nft monitor subscribes asynchronously; no event to wait for

echo "# firewall-cmd --reload"
lab_fw_reload
reload_us=$(lab_now_us)
want_reloads=$((${reloads0%.*} + 1))
if wait_for 15 "reloads_total $want_reloads" scraped_is portmap_firewalld_reloads_total "" \
  "$want_reloads"; then
  lab_ok "Reloaded counted: reloads_total $reloads0 -> $want_reloads"
else
  lab_not_ok "reloads_total = $(value portmap_firewalld_reloads_total ""), want $want_reloads"
fi

# dockerd rebuilds on Reloaded, asynchronously: wait for the chains and the port.
rebuilt() {
  scrape
  [[ $(value portmap_netfilter_chain_present "$(chain_labels nat DOCKER)") == 1 &&
    $(value portmap_netfilter_chain_present "$(chain_labels filter DOCKER)") == 1 &&
    $(value portmap_published_port_info "$published") == 1 ]]
}
if wait_for 30 "dockerd to rebuild its chains and the DNAT" rebuilt; then
  lab_ok "dockerd rebuilt its chains after the reload ($((($(lab_now_us) - reload_us) / 1000)) ms after firewall-cmd --reload returned)"
else
  lab_not_ok "the chains or the published port did not come back"
fi
stop_monitor
# Pinned (nft monitor agrees): one reload deletes each of Docker's chains
# exactly once (firewalld's iptables-restore `-X`), and dockerd's rebuild
# creates them again (`create chain`, comm "iptables": dockerd 20.10 sends
# each rule through firewalld's direct.passthrough while firewalld runs; a ps
# sampled during development showed /usr/sbin/iptables -w10 ... as children
# of firewalld, not of dockerd).  The
# exporter started after dockerd's own start-up reload (the one that makes the
# docker zone), so the only wipe counted here is the test's.
deletions_moved() {
  local tc=$1 want=$2 table chain after
  read -r table chain <<<"$tc"
  after=$(value portmap_netfilter_chain_deletions_total "$(deletion_labels "$table" "$chain")")
  if is_number "$after" && awk -v a="$after" -v b="${deletions0[$tc]}" -v w="$want" \
    'BEGIN { exit !(a == b + w) }'; then
    lab_ok "$table $chain deletions_total ${deletions0[$tc]} -> $after (+$want)"
  else
    lab_not_ok "$table $chain deletions_total ${deletions0[$tc]} -> $after, want +$want"
  fi
}
# monitor_deletions TABLE CHAIN: the DELCHAIN events nft monitor printed.
monitor_deletions() {
  awk -v want="delete chain ip $1 $2" '$0 == want { n++ } END { print n + 0 }' \
    "$work/nft-monitor.log"
}
for tc in "${watched[@]}" "${base_chains[@]}"; do
  read -r table chain <<<"$tc"
  seen=$(monitor_deletions "$table" "$chain")
  if [[ $seen == "${measured_deletions[$tc]}" ]]; then
    lab_ok "nft monitor: ip $table $chain deleted $seen time(s) by the reload"
  else
    lab_not_ok "nft monitor: ip $table $chain deleted $seen time(s), measured ${measured_deletions[$tc]} ($fw_backend backend)"
  fi
  deletions_moved "$tc" "$seen"
done
for tc in "${watched[@]}"; do
  read -r table chain <<<"$tc"
  expect portmap_netfilter_chain_present "$(chain_labels "$table" "$chain")" 1 \
    "after reload: $table $chain back"
done
# filter FORWARD: the iptables backend's restore declares it with policy
# ACCEPT; the nftables backend's only flushes it, and the policy it had
# (DROP, which lab.sh up set as an earlier dockerd would) stays.
want_policy=ACCEPT
[[ $fw_backend == iptables ]] || want_policy=$forward_policy0
if [[ $(forward_policy) == "$want_policy" ]]; then
  lab_ok "filter FORWARD policy $forward_policy0 -> $(forward_policy) across the reload ($fw_backend backend)"
else
  lab_not_ok "filter FORWARD policy $forward_policy0 -> $(forward_policy), want $want_policy ($fw_backend backend)"
fi
# Who declares nat PREROUTING again (the commit's process): firewalld's own
# iptables-restore on the iptables backend; dockerd's rebuild (its iptables
# calls through firewalld's passthrough) on the nftables backend.
readded_by=$(awk '$0 ~ /^add chain ip nat PREROUTING( |$)/ { pending = 1 }
  /^# new generation/ { if (pending) { print $NF; exit } }' "$work/nft-monitor.log")
want_readder="(iptables)"
[[ $fw_backend == nftables ]] || want_readder="(iptables-restor)"
if [[ $readded_by == "$want_readder" ]]; then
  lab_ok "nat PREROUTING declared again by $readded_by ($fw_backend backend)"
else
  lab_not_ok "nat PREROUTING declared again by '$readded_by', want $want_readder ($fw_backend backend)"
fi
expect portmap_published_port_info "$published" 1 "after reload: published port back"
expect portmap_firewalld_up "" 1 "firewalld still running"
expect portmap_firewalld_restarts_total "" 0 "a reload is no restart"
check_probes "after reload"
check_truth "after reload"

# The port answers from outside again (DNAT rebuilt, docker zone in place).
code=$(ip netns exec "$NS_OUT" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
  "http://$UPLINK_HOST_IP:8080/" || true)
echo "  outside -> $UPLINK_HOST_IP:8080 after the reload: HTTP '$code'"

if [[ $code =~ ^[1-5][0-9][0-9]$ ]]; then
  lab_ok "outside reaches the published port again (HTTP $code)"
else
  lab_not_ok "outside to $UPLINK_HOST_IP:8080 after the reload: no HTTP answer ($code)"
fi
expect portmap_firewalld_interface_zone_info 'interface="docker0" zone="docker"' 1 \
  "after reload: docker0 still in zone docker"

echo "# nft monitor across the reload: Docker's and the base chains' events, in order, and who committed them"
# Each "# new generation N by process PID (COMM)" line follows its events.
awk '/^(add|create|delete) chain ip (nat|filter) (DOCKER[-A-Z0-9]*|PREROUTING|OUTPUT|FORWARD)( |$)/ {
    sub(/ \{.*/, ""); ev[n++] = $0
  }
  /^# new generation/ {
    for (i = 0; i < n; i++) printf "  %s  [%s]\n", ev[i], $NF
    n = 0
  }' "$work/nft-monitor.log"
echo "  ($(grep -c '^# new generation' "$work/nft-monitor.log" || true) generations in all)"

if lab_pid_gone "$exporter_pid"; then
  lab_not_ok "the exporter died during the test"
  show_exporter_log
else
  lab_ok "the exporter is still running"
fi
lab_finish
