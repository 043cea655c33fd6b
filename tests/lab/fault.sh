#!/usr/bin/env bash
# Faults injected into a running lab (tests/lab/lab.sh up), each one a way a
# published port ends up answering on the Docker host but not from outside.
#
# Usage: tests/lab/fault.sh FAULT ARG
#   ip_forward off|on   net.ipv4.ip_forward in dockerhost (run time, like dockerd)
#   chain flush         what firewalld's iptables backend does on start/reload:
#                       flush every chain and delete every user chain (nat and
#                       filter), which takes Docker's DOCKER* chains and jumps
#   rules restore       re-write the Docker-like rules, as restarting dockerd does
#   firewalld start|reload|stop
#                       a real firewalld on a private bus in dockerhost
#                       (firewalld.sh); start wipes the DOCKER chains
#   port closed|open    5000/tcp removed from / added to the zone of the
#                       uplink eth0 (runtime only, firewall-cmd)
#
# One function per fault, fault_<name> ARG; the dispatcher below finds them,
# so a new fault (firewalld start|reload, port closed in zone) is one function.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fault_ip_forward() {
  local value
  case ${1:-} in
    off) value=0 ;;
    on) value=1 ;;
    *) lab_die "ip_forward takes off|on" ;;
  esac
  ip netns exec "$NS_HOST" sysctl -qw "net.ipv4.ip_forward=$value"
}

fault_chain() {
  [[ ${1:-} == flush ]] || lab_die "chain takes flush"
  lab_rules_flush
}

fault_rules() {
  [[ ${1:-} == restore ]] || lab_die "rules takes restore"
  lab_rules_apply
}

fault_firewalld() {
  # shellcheck source=firewalld.sh
  source "$LAB_DIR/firewalld.sh"
  case ${1:-} in
    start) lab_fw_start ;;
    reload) lab_fw_reload ;;
    stop) lab_fw_stop ;;
    *) lab_die "firewalld takes start|reload|stop" ;;
  esac
}

# The zone firewalld handles the uplink's traffic in (the default zone when
# eth0 is bound to none).
fault_port() {
  # shellcheck source=firewalld.sh
  source "$LAB_DIR/firewalld.sh"
  local zone op
  case ${1:-} in
    closed) op=--remove-port ;;
    open) op=--add-port ;;
    *) lab_die "port takes closed|open" ;;
  esac
  zone=$(lab_fw_in_host firewall-cmd --get-zone-of-interface=eth0 2>/dev/null) ||
    zone=$(lab_fw_in_host firewall-cmd --get-default-zone)
  lab_fw_in_host firewall-cmd --zone="$zone" "$op=$REGISTRY_PORT/tcp" >/dev/null
}

usage() {
  sed -n '5,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

(($# == 2)) || usage
declare -F "fault_$1" >/dev/null || usage
[[ $(id -u) -eq 0 ]] || lab_die "faults need root"
lab_netns_exists "$NS_HOST" || lab_die "no lab with LAB_PREFIX=$LAB_PREFIX; run lab.sh up first"
"fault_$1" "$2"
lab_log "fault: $*"
