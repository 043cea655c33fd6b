# shellcheck shell=bash
# The lab.trace corpus, IPv6 (trace_scenarios.sh has the scenario API).  Each
# scenario starts with `family 6`: for that scenario the lab has its IPv6
# addresses (lib.sh lab_ipv6_up: uplink 2001:db8:100::1 and ::2, bridge
# 2001:db8:113::1, container 2001:db8:113::2), dockerhost forwards IPv6
# (net.ipv6.conf.all.forwarding=1), the client is 2001:db8:100::2 and the
# target [2001:db8:100::1]:5000.  The container answers on [::]:5000, TCP and
# UDP; the host's listener (host_listener any) is IPv4 only, like a
# docker-proxy without IPv6.
# Sourced after trace_scenarios_firewalls.sh and run after it, in file order.
# The ip6tables-legacy scenario stays last: a legacy table, once loaded, lives
# as long as the namespace, and with one present the trace answers unknown for
# every IPv6 packet.

# --- Docker 20.10 / 27 with ip6tables, iptables-nft -------------------------------------
sc_ipv6_docker_nft_connected() {
  family 6
  want connected client
  docker20_save6 | ipt_restore ip6tables-nft
}
sc_ipv6_docker_nft_udp_delivered() {
  family 6
  proto udp
  want delivered client
  docker20_save6 "$P" "$P" udp | ipt_restore ip6tables-nft
}
sc_ipv6_docker_nft_forwarding_off() {
  # ip6_forward drops what it may not forward without a word: silence.
  family 6
  want timeout
  want_cause ip_forward_disabled
  docker20_save6 | ipt_restore ip6tables-nft
  host_sysctl net.ipv6.conf.all.forwarding=0
}
sc_ipv6_docker_nft_uplink_forwarding_off() {
  # Unlike IPv4, an interface's own forwarding switch does not decide:
  # ip6_forward reads net.ipv6.conf.all.forwarding (and force_forwarding).
  family 6
  want connected client
  docker20_save6 | ipt_restore ip6tables-nft
  host_sysctl net.ipv6.conf.eth0.forwarding=0
}
# force_forwarding (kernel 6.17+): forwarding for what comes in on that one
# interface while all.forwarding is 0.
need_force_forwarding() {
  ip netns exec "$NS_HOST" test -e /proc/sys/net/ipv6/conf/eth0/force_forwarding ||
    skip "no net.ipv6.conf.*.force_forwarding (kernel before 6.17)"
}
sc_ipv6_docker_nft_force_forwarding_uplink_only() {
  # The SYN (in on eth0) is forwarded; the SYN-ACK comes in on docker0, which
  # does not forward: the reply dies.
  family 6
  need_force_forwarding
  want timeout
  want_cause ip_forward_disabled
  docker20_save6 | ipt_restore ip6tables-nft
  host_sysctl net.ipv6.conf.all.forwarding=0
  host_sysctl net.ipv6.conf.eth0.force_forwarding=1
}
sc_ipv6_docker_nft_force_forwarding_both() {
  family 6
  need_force_forwarding
  want connected client
  docker20_save6 | ipt_restore ip6tables-nft
  host_sysctl net.ipv6.conf.all.forwarding=0
  host_sysctl net.ipv6.conf.eth0.force_forwarding=1
  host_sysctl "net.ipv6.conf.$BRIDGE.force_forwarding=1"
}
sc_ipv6_docker_nft_filter_docker_flushed() {
  family 6
  want timeout
  want_cause forward_policy_drop
  want_stop "nf_tables ip6 filter FORWARD policy"
  docker20_save6 | ipt_restore ip6tables-nft
  ipt ip6tables-nft -t filter -F DOCKER
}
sc_ipv6_docker_nft_docker_user_drop() {
  family 6
  want timeout
  want_cause docker_user_drop
  want_stop "nf_tables ip6 filter DOCKER-USER"
  docker20_save6 | ipt_restore ip6tables-nft
  ipt ip6tables-nft -I DOCKER-USER -i eth0 -j DROP
}
sc_ipv6_docker_nft_docker_user_reject_default() {
  # ip6tables' REJECT default is icmp6-port-unreachable: ECONNREFUSED.
  family 6
  want refused
  want_cause docker_user_drop
  want_stop "nf_tables ip6 filter DOCKER-USER"
  docker20_save6 | ipt_restore ip6tables-nft
  ipt ip6tables-nft -I DOCKER-USER -p tcp --dport "$P" -j REJECT
}
sc_ipv6_docker_nft_docker_user_reject_addr_unreachable() {
  family 6
  want unreachable
  want_cause docker_user_drop
  want_stop "nf_tables ip6 filter DOCKER-USER"
  docker20_save6 | ipt_restore ip6tables-nft
  ipt ip6tables-nft -I DOCKER-USER -p tcp --dport "$P" -j REJECT --reject-with icmp6-addr-unreachable
}
sc_ipv6_docker_nft_docker_user_reject_adm_prohibited() {
  # ICMPv6 administratively prohibited is EACCES to the client
  # (icmpv6_err_convert), where IPv4's prohibited codes are EHOSTUNREACH; the
  # probe's vocabulary files EACCES under error; the test reads it as
  # unreachable and checks the trace's errno is EACCES.
  family 6
  want unreachable
  want_cause docker_user_drop
  want_stop "nf_tables ip6 filter DOCKER-USER"
  docker20_save6 | ipt_restore ip6tables-nft
  ipt ip6tables-nft -I DOCKER-USER -p tcp --dport "$P" -j REJECT --reject-with icmp6-adm-prohibited
}
sc_ipv6_ipv4_docker_user_drop_misses() {
  # Both families' rules; DOCKER-USER drops everything in ip filter only,
  # which an IPv6 packet never meets.
  family 6
  want connected client
  docker20_save | ipt_restore iptables-nft
  docker20_save6 | ipt_restore ip6tables-nft
  ipt iptables-nft -I DOCKER-USER -j DROP
}

# --- foreign inet tables ------------------------------------------------------------------
sc_ipv6_inet_filter_forward_drop() {
  family 6
  want timeout
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter forward policy"
  docker20_save6 | ipt_restore ip6tables-nft
  nft_load <<'EOF'
table inet filter {
  chain forward { type filter hook forward priority filter; policy drop; }
}
EOF
}
sc_ipv6_inet_filter_reject_icmpx_admin_prohibited() {
  # firewalld's catch-all reject; for IPv6 it sends ICMPv6 administratively
  # prohibited: EACCES, as above.
  family 6
  want unreachable
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter forward"
  docker20_save6 | ipt_restore ip6tables-nft
  nft_load <<EOF
table inet filter {
  chain forward { type filter hook forward priority filter; policy accept; tcp dport $P reject with icmpx admin-prohibited; }
}
EOF
}
sc_ipv6_inet_filter_forward_drop_ipv4_only() {
  # The drop is for IPv4 alone (meta nfproto); IPv6 passes the inet chain.
  family 6
  want connected client
  docker20_save6 | ipt_restore ip6tables-nft
  nft_load <<'EOF'
table inet filter {
  chain forward { type filter hook forward priority filter; meta nfproto ipv4 drop; }
}
EOF
}

# --- local delivery -----------------------------------------------------------------------
sc_ipv6_docker_nft_nat_docker_flushed() {
  # ip6 nat DOCKER is there but empty: the SYN is the host's own, and nothing
  # listens on IPv6 (no proxy).  The IPv6 chain lacks the DNAT rule; there is
  # no IPv4 nat DOCKER in this scenario.
  family 6
  want refused
  want_cause dnat_rule_missing
  docker20_save6 | ipt_restore ip6tables-nft
  ipt ip6tables-nft -t nat -F DOCKER
}
sc_ipv6_host_no_listener() {
  family 6
  want refused
  want_cause docker_chain_missing
}
sc_ipv6_host_ipv4_listener_only() {
  # A listener on 0.0.0.0:5000 takes IPv4 only: the host's stack resets an
  # IPv6 SYN to that port.
  family 6
  want refused
  want_cause docker_chain_missing
  host_listener any
}

# --- Docker 29, nftables backend ------------------------------------------------------------
sc_ipv6_docker29_connected() {
  family 6
  want connected client
  docker29_nft6 | nft_load
}
sc_ipv6_docker29_port_accept_missing() {
  family 6
  want timeout
  want_cause docker_rule_drop
  want_stop "nf_tables ip6 docker-bridges filter-forward-in__$BRIDGE"
  docker29_nft6 "$P" "$P" tcp no | nft_load
}
sc_ipv6_docker29_ip_table_only() {
  # Docker's IPv4 table alone: nothing DNATs IPv6, the SYN is the host's own,
  # and nothing listens on it.  An IPv6 packet meets no Docker nat chain (the
  # ip table's is IPv4's; the exporter remembers 5000's IPv6 DNAT): the chain
  # is missing for this family.
  family 6
  want refused
  want_cause docker_chain_missing
  docker29_nft | nft_load
}

# --- ip6tables-legacy (last: see the top) -------------------------------------------------
sc_ipv6_docker_legacy_connected() {
  family 6
  want connected client
  want_trace unknown "ip6tables-legacy tables are listed, not read"
  docker20_save6 | ipt_restore ip6tables-legacy
}
