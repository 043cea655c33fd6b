# shellcheck shell=bash
# Rulesets for lab.trace (trace_scenarios.sh), written the way the real
# systems write them, as text that `iptables-restore` or `nft -f` loads in one
# transaction into the lab's dockerhost namespace.  Sourced after lib.sh.
#
# Sources, per generation (moby/moby):
#   docker20_save  dockerd 20.10 and 27.x (libnetwork/drivers/bridge
#                  setup_ip_tables.go, libnetwork/firewall_linux.go): FORWARD
#                  -> DOCKER-USER, DOCKER-ISOLATION-STAGE-1/2, DOCKER; nat
#                  DOCKER with the DNAT; FORWARD policy DROP (dockerd sets it when
#                  it enables ip_forward itself).  27.x writes the same layout
#                  (integration/network/bridge/iptablesdoc/generated/
#                  usernet-portmap.md).
#   docker28_save  dockerd 28.x (drivers/bridge/internal/iptabler, its golden
#                  files and iptablesdoc/generated/usernet-portmap-lo.md):
#                  FORWARD -> DOCKER-USER (empty), DOCKER-FORWARD -> DOCKER-CT,
#                  DOCKER-INTERNAL, DOCKER-BRIDGE -> DOCKER; the per-network
#                  DROP in DOCKER; raw PREROUTING drops of direct-routed access
#                  to the container address and of remote access to a port
#                  published on 127.0.0.1.
#   docker29_nft   dockerd 29.x nftables backend (drivers/bridge/internal/
#                  nftabler: nftabler.go, network.go, port.go, endpoint.go and
#                  its TestNftabler golden files): `table ip docker-bridges`,
#                  verdict maps keyed by interface, filter-FORWARD at priority
#                  filter + 1 with policy drop (FilterForwardDrop).
#   ufw_save       ufw 0.36 as `ufw enable` leaves it (before.rules, the
#                  ufw-* chain skeleton, default deny incoming and routed).
#   ufw_docker_save  chaifeng/ufw-docker's after.rules block, with the lab's
#                  bridge network in place of the RFC 1918 ranges.
#
# The published port is $REGISTRY_PORT on the host to the same port of
# $C1_IP unless a builder is told otherwise.

# ipt_restore IPTABLES [--noflush]: stdin into IPTABLES-restore in dockerhost.
ipt_restore() {
  local ipt=$1
  shift
  ip netns exec "$NS_HOST" "$ipt-restore" -w 5 "$@"
}

# nft_load: stdin into `nft -f -` in dockerhost.
nft_load() { ip netns exec "$NS_HOST" nft -f -; }

# ipt NAME ARGS...: one iptables command in dockerhost (IPTABLES=NAME binary).
ipt() {
  local ipt=$1
  shift
  ip netns exec "$NS_HOST" "$ipt" -w 5 "$@"
}

# as_inserted [keep-docker-user]: an iptables-save text rewritten the way
# dockerd adds its rules to a ruleset that already has others (firewalld's,
# ufw's), for `IPTABLES-restore --noflush`: FORWARD rules inserted at the top in
# order, other built-in chains' policies left alone.  keep-docker-user: a
# DOCKER-USER chain exists already (ufw-docker's); dockerd neither flushes it nor
# adds its RETURN (NewChain and AddReturnRule check first).
as_inserted() {
  awk -v keep="${1:-}" '/^:(INPUT|OUTPUT|PREROUTING|POSTROUTING) / { next }
    keep != "" && (/^:DOCKER-USER / || /^-A DOCKER-USER -j RETURN$/) { next }
    /^-A FORWARD / { sub(/^-A FORWARD /, "-I FORWARD " (++n) " ") }
    { print }'
}

# docker20_save [HOSTPORT [CPORT [PROTOS [HOSTIP]]]]: dockerd 20.10/27.
docker20_save() {
  local hport=${1:-$REGISTRY_PORT} cport=${2:-$REGISTRY_PORT} protos=${3:-tcp}
  local hostip=${4:-0.0.0.0} p d=""
  [[ $hostip == 0.0.0.0 ]] || d="-d $hostip/32 "
  printf '%s\n' '*nat' ':PREROUTING ACCEPT [0:0]' ':INPUT ACCEPT [0:0]' ':OUTPUT ACCEPT [0:0]' \
    ':POSTROUTING ACCEPT [0:0]' ':DOCKER - [0:0]' \
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER' \
    '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER' \
    "-A POSTROUTING -s $BRIDGE_NET ! -o $BRIDGE -j MASQUERADE"
  for p in $protos; do
    echo "-A POSTROUTING -s $C1_IP/32 -d $C1_IP/32 -p $p -m $p --dport $cport -j MASQUERADE"
  done
  echo "-A DOCKER -i $BRIDGE -j RETURN"
  for p in $protos; do
    echo "-A DOCKER ${d}! -i $BRIDGE -p $p -m $p --dport $hport -j DNAT --to-destination $C1_IP:$cport"
  done
  printf '%s\n' COMMIT '*filter' ':INPUT ACCEPT [0:0]' ':FORWARD DROP [0:0]' \
    ':OUTPUT ACCEPT [0:0]' ':DOCKER - [0:0]' ':DOCKER-ISOLATION-STAGE-1 - [0:0]' \
    ':DOCKER-ISOLATION-STAGE-2 - [0:0]' ':DOCKER-USER - [0:0]' \
    '-A FORWARD -j DOCKER-USER' '-A FORWARD -j DOCKER-ISOLATION-STAGE-1' \
    "-A FORWARD -o $BRIDGE -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" \
    "-A FORWARD -o $BRIDGE -j DOCKER" "-A FORWARD -i $BRIDGE ! -o $BRIDGE -j ACCEPT" \
    "-A FORWARD -i $BRIDGE -o $BRIDGE -j ACCEPT"
  for p in $protos; do
    echo "-A DOCKER -d $C1_IP/32 ! -i $BRIDGE -o $BRIDGE -p $p -m $p --dport $cport -j ACCEPT"
  done
  printf '%s\n' "-A DOCKER-ISOLATION-STAGE-1 -i $BRIDGE ! -o $BRIDGE -j DOCKER-ISOLATION-STAGE-2" \
    '-A DOCKER-ISOLATION-STAGE-1 -j RETURN' "-A DOCKER-ISOLATION-STAGE-2 -o $BRIDGE -j DROP" \
    '-A DOCKER-ISOLATION-STAGE-2 -j RETURN' '-A DOCKER-USER -j RETURN' COMMIT
}

# docker28_save [HOSTPORT [CPORT [PROTOS [HOSTIP]]]]: dockerd 28.
docker28_save() {
  local hport=${1:-$REGISTRY_PORT} cport=${2:-$REGISTRY_PORT} protos=${3:-tcp}
  local hostip=${4:-0.0.0.0} p d=""
  [[ $hostip == 0.0.0.0 ]] || d="-d $hostip/32 "
  printf '%s\n' '*raw' ':PREROUTING ACCEPT [0:0]' ':OUTPUT ACCEPT [0:0]' \
    "-A PREROUTING -d $C1_IP/32 ! -i $BRIDGE -j DROP"
  if [[ $hostip == 127.* ]]; then
    for p in $protos; do
      echo "-A PREROUTING -d $hostip/32 ! -i lo -p $p -m $p --dport $hport -j DROP"
    done
  fi
  printf '%s\n' COMMIT '*filter' ':INPUT ACCEPT [0:0]' ':FORWARD DROP [0:0]' \
    ':OUTPUT ACCEPT [0:0]' ':DOCKER - [0:0]' ':DOCKER-BRIDGE - [0:0]' ':DOCKER-CT - [0:0]' \
    ':DOCKER-FORWARD - [0:0]' ':DOCKER-INTERNAL - [0:0]' ':DOCKER-USER - [0:0]' \
    '-A FORWARD -j DOCKER-USER' '-A FORWARD -j DOCKER-FORWARD'
  for p in $protos; do
    echo "-A DOCKER -d $C1_IP/32 ! -i $BRIDGE -o $BRIDGE -p $p -m $p --dport $cport -j ACCEPT"
  done
  printf '%s\n' "-A DOCKER ! -i $BRIDGE -o $BRIDGE -j DROP" \
    "-A DOCKER-BRIDGE -o $BRIDGE -j DOCKER" \
    "-A DOCKER-CT -o $BRIDGE -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" \
    '-A DOCKER-FORWARD -j DOCKER-CT' '-A DOCKER-FORWARD -j DOCKER-INTERNAL' \
    '-A DOCKER-FORWARD -j DOCKER-BRIDGE' "-A DOCKER-FORWARD -i $BRIDGE -j ACCEPT" COMMIT \
    '*nat' ':PREROUTING ACCEPT [0:0]' ':INPUT ACCEPT [0:0]' ':OUTPUT ACCEPT [0:0]' \
    ':POSTROUTING ACCEPT [0:0]' ':DOCKER - [0:0]' \
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER' \
    '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER' \
    "-A POSTROUTING -s $BRIDGE_NET ! -o $BRIDGE -j MASQUERADE"
  for p in $protos; do
    echo "-A DOCKER ${d}! -i $BRIDGE -p $p -m $p --dport $hport -j DNAT --to-destination $C1_IP:$cport"
  done
  echo COMMIT
}

# docker29_nft [HOSTPORT [CPORT [PROTOS [PORT_ACCEPT]]]]: dockerd 29's nftables
# table.  PORT_ACCEPT=no leaves out the per-port accept in
# filter-forward-in__docker0 (what a published port without it looks like).
# Chains come before the maps whose elements jump to them, and maps before the
# base chains that use them: one `nft -f` transaction must define before use.
docker29_nft() {
  local hport=${1:-$REGISTRY_PORT} cport=${2:-$REGISTRY_PORT} protos=${3:-tcp}
  local accept=${4:-yes} p b=$BRIDGE
  echo "table ip docker-bridges {"
  echo "  chain filter-forward-in__$b {"
  echo "    ct state established,related counter accept"
  echo "    iifname \"$b\" counter accept comment \"ICC\""
  if [[ $accept == yes ]]; then
    for p in $protos; do echo "    ip daddr $C1_IP $p dport $cport counter accept"; done
  fi
  echo "    counter drop comment \"UNPUBLISHED PORT DROP\""
  echo "  }"
  echo "  chain filter-forward-out__$b {"
  echo "    ct state established,related counter accept"
  echo "    counter accept comment \"OUTGOING\""
  echo "  }"
  echo "  chain nat-postrouting-in__$b {"
  echo "  }"
  echo "  chain nat-postrouting-out__$b {"
  echo "    oifname != \"$b\" ip saddr $BRIDGE_NET counter masquerade comment \"MASQUERADE\""
  echo "  }"
  echo "  chain nat-prerouting-and-output {"
  for p in $protos; do
    echo "    iifname != \"$b\" $p dport $hport counter dnat to $C1_IP:$cport comment \"DNAT\""
  done
  echo "  }"
  local m
  for m in filter-forward-in filter-forward-out nat-postrouting-in nat-postrouting-out; do
    echo "  map $m-jumps {"
    echo "    type ifname : verdict"
    echo "    elements = { \"$b\" : jump ${m}__$b }"
    echo "  }"
  done
  cat <<EOF
  chain filter-FORWARD {
    type filter hook forward priority filter + 1; policy drop;
    oifname vmap @filter-forward-in-jumps
    iifname vmap @filter-forward-out-jumps
  }
  chain nat-OUTPUT {
    type nat hook output priority -100; policy accept;
    ip daddr != 127.0.0.0/8 fib daddr type local counter jump nat-prerouting-and-output
  }
  chain nat-POSTROUTING {
    type nat hook postrouting priority srcnat; policy accept;
    iifname vmap @nat-postrouting-out-jumps
    oifname vmap @nat-postrouting-in-jumps
  }
  chain nat-PREROUTING {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local counter jump nat-prerouting-and-output
  }
  chain raw-PREROUTING {
    type filter hook prerouting priority raw; policy accept;
    ip daddr $C1_IP iifname != { "$b" } counter drop comment "DROP DIRECT ACCESS"
  }
}
EOF
}

# docker20_save6 [HOSTPORT [CPORT [PROTOS]]]: what dockerd 20.10/27 with
# "ip6tables": true writes through ip6tables for the same container on the
# bridge's IPv6 network: the chains and rules of docker20_save, programmed by
# the same code for the other family (libnetwork iptables.go ProgramChain and
# the bridge driver), with the IPv6 addresses, DNAT to [ADDR]:PORT and ::1/128
# for the loopback exclusion of nat OUTPUT.  (No HOSTIP: a port published on
# an IPv6 host address is not among the scenarios.)
docker20_save6() {
  local text
  text=$(docker20_save "$@")
  text=${text//"--to-destination $C1_IP:"/"--to-destination [$C1_IP6]:"}
  text=${text//"$C1_IP/32"/"$C1_IP6/128"}
  text=${text//"$BRIDGE_NET"/"$BRIDGE_NET6"}
  text=${text//"127.0.0.0/8"/"::1/128"}
  printf '%s\n' "$text"
}

# docker29_nft6 [HOSTPORT [CPORT [PROTOS [PORT_ACCEPT]]]]: dockerd 29's
# `table ip6 docker-bridges` for the bridge's IPv6 network: docker29_nft's
# table with ip6 matches, ::1 for the loopback exclusion, DNAT to [ADDR]:PORT
# and, as nftabler writes it for IPv6 (its __ip6.golden files), the DNAT
# skipping link-local sources (`ip6 saddr != fe80::/10`).
docker29_nft6() {
  local text
  text=$(docker29_nft "$@")
  text=${text//"table ip "/"table ip6 "}
  text=${text//"ip daddr != 127.0.0.0/8"/"ip6 daddr != ::1"}
  text=${text//"ip daddr $C1_IP "/"ip6 daddr $C1_IP6 "}
  text=${text//"ip saddr $BRIDGE_NET"/"ip6 saddr $BRIDGE_NET6"}
  text=${text//"iifname != \"$BRIDGE\" "/"iifname != \"$BRIDGE\" ip6 saddr != fe80::/10 "}
  text=${text//"dnat to $C1_IP:"/"dnat to [$C1_IP6]:"}
  printf '%s\n' "$text"
}

# ufw_save: the filter table `ufw enable` leaves (iptables-save of ufw 0.36
# with default deny incoming, deny routed, allow outgoing and `ufw allow 22/tcp`).
ufw_save() {
  local c
  echo '*filter'
  printf '%s\n' ':INPUT DROP [0:0]' ':FORWARD DROP [0:0]' ':OUTPUT ACCEPT [0:0]'
  for c in after-forward after-input after-logging-forward after-logging-input \
    after-logging-output after-output before-forward before-input before-logging-forward \
    before-logging-input before-logging-output before-output logging-allow logging-deny \
    not-local reject-forward reject-input reject-output skip-to-policy-forward \
    skip-to-policy-input skip-to-policy-output track-forward track-input track-output \
    user-forward user-input user-limit user-limit-accept user-logging-forward \
    user-logging-input user-logging-output user-output; do
    echo ":ufw-$c - [0:0]"
  done
  local hook
  for hook in input forward output; do
    local up=${hook^^}
    for c in before-logging before after after-logging reject track; do
      echo "-A $up -j ufw-$c-$hook"
    done
  done
  cat <<'EOF'
-A ufw-after-input -p udp -m udp --dport 137 -j ufw-skip-to-policy-input
-A ufw-after-input -p udp -m udp --dport 138 -j ufw-skip-to-policy-input
-A ufw-after-input -p tcp -m tcp --dport 139 -j ufw-skip-to-policy-input
-A ufw-after-input -p tcp -m tcp --dport 445 -j ufw-skip-to-policy-input
-A ufw-after-input -p udp -m udp --dport 67 -j ufw-skip-to-policy-input
-A ufw-after-input -p udp -m udp --dport 68 -j ufw-skip-to-policy-input
-A ufw-after-input -m addrtype --dst-type BROADCAST -j ufw-skip-to-policy-input
-A ufw-after-logging-forward -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix "[UFW BLOCK] "
-A ufw-after-logging-input -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix "[UFW BLOCK] "
-A ufw-before-forward -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ufw-before-forward -p icmp -m icmp --icmp-type 3 -j ACCEPT
-A ufw-before-forward -p icmp -m icmp --icmp-type 11 -j ACCEPT
-A ufw-before-forward -p icmp -m icmp --icmp-type 12 -j ACCEPT
-A ufw-before-forward -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A ufw-before-forward -j ufw-user-forward
-A ufw-before-input -i lo -j ACCEPT
-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ufw-before-input -m conntrack --ctstate INVALID -j ufw-logging-deny
-A ufw-before-input -m conntrack --ctstate INVALID -j DROP
-A ufw-before-input -p icmp -m icmp --icmp-type 3 -j ACCEPT
-A ufw-before-input -p icmp -m icmp --icmp-type 11 -j ACCEPT
-A ufw-before-input -p icmp -m icmp --icmp-type 12 -j ACCEPT
-A ufw-before-input -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A ufw-before-input -p udp -m udp --sport 67 --dport 68 -j ACCEPT
-A ufw-before-input -j ufw-not-local
-A ufw-before-input -d 224.0.0.251/32 -p udp -m udp --dport 5353 -j ACCEPT
-A ufw-before-input -d 239.255.255.250/32 -p udp -m udp --dport 1900 -j ACCEPT
-A ufw-before-input -j ufw-user-input
-A ufw-before-output -o lo -j ACCEPT
-A ufw-before-output -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ufw-before-output -j ufw-user-output
-A ufw-logging-allow -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix "[UFW ALLOW] "
-A ufw-logging-deny -m conntrack --ctstate INVALID -m limit --limit 3/min --limit-burst 10 -j RETURN
-A ufw-logging-deny -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix "[UFW BLOCK] "
-A ufw-not-local -m addrtype --dst-type LOCAL -j RETURN
-A ufw-not-local -m addrtype --dst-type MULTICAST -j RETURN
-A ufw-not-local -m addrtype --dst-type BROADCAST -j RETURN
-A ufw-not-local -m limit --limit 3/min --limit-burst 10 -j ufw-logging-deny
-A ufw-not-local -j DROP
-A ufw-skip-to-policy-forward -j DROP
-A ufw-skip-to-policy-input -j DROP
-A ufw-skip-to-policy-output -j ACCEPT
-A ufw-track-output -p tcp -m conntrack --ctstate NEW -j ACCEPT
-A ufw-track-output -p udp -m conntrack --ctstate NEW -j ACCEPT
-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT
-A ufw-user-limit -m limit --limit 3/min -j LOG --log-prefix "[UFW LIMIT BLOCK] "
-A ufw-user-limit -j REJECT --reject-with icmp-port-unreachable
-A ufw-user-limit-accept -j ACCEPT
COMMIT
EOF
}

# ufw_docker_save [ROUTE_ALLOW]: ufw-docker's after.rules block (loaded with
# --noflush after ufw's), the lab's bridge network standing in for the private
# ranges it denies; ROUTE_ALLOW=yes adds what
# `ufw route allow proto tcp from any to C1 port 5000` writes.
ufw_docker_save() {
  echo '*filter'
  printf '%s\n' ':ufw-user-forward - [0:0]' ':ufw-docker-logging-deny - [0:0]' \
    ':DOCKER-USER - [0:0]' '-A DOCKER-USER -j ufw-user-forward' \
    "-A DOCKER-USER -j RETURN -s 10.0.0.0/8" "-A DOCKER-USER -j RETURN -s 172.16.0.0/12" \
    "-A DOCKER-USER -j RETURN -s 192.168.0.0/16" "-A DOCKER-USER -j RETURN -s $BRIDGE_NET" \
    '-A DOCKER-USER -p udp -m udp --sport 53 --dport 1024:65535 -j RETURN' \
    "-A DOCKER-USER -j ufw-docker-logging-deny -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -d $BRIDGE_NET" \
    "-A DOCKER-USER -j ufw-docker-logging-deny -p udp -m udp --dport 0:32767 -d $BRIDGE_NET" \
    '-A DOCKER-USER -j RETURN' \
    '-A ufw-docker-logging-deny -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix "[UFW DOCKER BLOCK] "' \
    '-A ufw-docker-logging-deny -j DROP'
  if [[ ${1:-no} == yes ]]; then
    echo "-A ufw-user-forward -d $C1_IP/32 -p tcp -m tcp --dport $REGISTRY_PORT -j ACCEPT"
  fi
  echo COMMIT
}
