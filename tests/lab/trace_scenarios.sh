# shellcheck shell=bash
# The lab.trace corpus: one function per scenario, run in file order by
# trace_test.sh on a dockerhost reset to nothing (no nf_tables table, empty
# legacy tables, forwarding on, rp_filter off, no host listener).  Each one
# writes its rules (trace_rules.sh) and states what the kernel must answer:
#
#   want OUTCOME [client|proxy] the client's outcome (TCP: connected, refused,
#                               unreachable, timeout; UDP: delivered,
#                               unreachable, timeout); for connected/delivered,
#                               the peer the container saw: client (its own
#                               address: DNAT or routed) or proxy (the bridge
#                               address: the host's listener relayed it)
#   want_stop "[BACKEND] FAMILY TABLE CHAIN [policy]"
#                               where the trace must say it stopped
#   want_cause CAUSE [CAUSE2]   a blocked path (refused, unreachable, timeout):
#                               the causes the verdict must name for it, as an
#                               SRE would (collectors/verdict/causes.h; the cause
#                               labels of the client's
#                               portmap_published_port_blocked_info series).
#                               Required on every blocked scenario whose target
#                               is a published port (the uplink address); the
#                               lab's exporter has remembered 5000's DNAT since
#                               its first scrape, so a port not DNATed and
#                               stopped on the host adds docker_chain_missing
#                               (no nat DOCKER) or dnat_rule_missing
#   want_trace OUTCOME WHY      the trace's answer differs from the kernel's, by
#                               design (WHY: what the trace cannot see)
#   target HOST:PORT            what the client connects to (default the uplink
#                               address, port 5000; IPv6 [ADDR]:PORT)
#   family 6                    an IPv6 scenario (trace_scenarios_ipv6.sh): the
#                               lab's IPv6 addresses and IPv6 forwarding for it,
#                               the client and the default target in IPv6
#   proto udp                   a UDP datagram instead of a TCP connect
#   host_listener any|loopback  the docker-proxy stand-in on 0.0.0.0:5000 or
#                               127.0.0.1:5000 (default: none)
#   host_sysctl KEY=VALUE       a sysctl in dockerhost (reset before the next)
#   undo CMD...                 run after the scenario, before the next reset
#   skip WHY                    the scenario cannot run here (ok # SKIP WHY)
#   fw_start nftables|iptables  a real firewalld (firewalld.sh) on the private
#                               bus; stopped after the scenario
#   fw ARGS...                  firewall-cmd against it
#
# Expectations are what the kernel does, measured (tests/lab/README.md, "What
# lab.trace showed"); a comment says why where it is not obvious.  The client
# is outside (198.51.100.2, arriving on dockerhost's eth0); the container
# listens on TCP and UDP 5000, so a closed container port is 5001.

H=$UPLINK_HOST_IP
P=$REGISTRY_PORT

# --- Docker 20.10 / 27, iptables-nft ------------------------------------------------
sc_docker20_nft_connected() {
  want connected client
  docker20_save | ipt_restore iptables-nft
  host_listener any
}
sc_docker20_nft_nat_docker_flushed_proxy() {
  # Without the DNAT the SYN is for the host: docker-proxy answers.
  want connected proxy
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -t nat -F DOCKER
  host_listener any
}
sc_docker20_nft_nat_docker_flushed_no_listener() {
  # userland-proxy off: nothing on the host's port, its stack answers RST.
  want refused
  want_cause dnat_rule_missing
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -t nat -F DOCKER
}
sc_docker20_nft_filter_docker_flushed() {
  want timeout
  want_cause forward_policy_drop
  want_stop "nf_tables ip filter FORWARD policy"
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -t filter -F DOCKER
  host_listener any
}
sc_docker20_nft_forward_flushed_policy_drop() {
  want timeout
  want_cause forward_policy_drop
  want_stop "nf_tables ip filter FORWARD policy"
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -t filter -F FORWARD
  host_listener any
}
sc_docker20_nft_forward_policy_accept_no_docker_filter() {
  # Only Docker's nat rules, FORWARD policy ACCEPT: forwarded anyway.
  want connected client
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -t filter -F FORWARD
  ipt iptables-nft -t filter -P FORWARD ACCEPT
}
sc_docker20_nft_closed_container_port() {
  # -p 5000:5001 with nothing on 5001 in the container: its RST.
  want refused
  want_cause no_listener
  docker20_save "$P" 5001 | ipt_restore iptables-nft
  host_listener any
}
sc_docker20_nft_published_on_loopback() {
  # -p 127.0.0.1:5000:5000: the DNAT wants daddr 127.0.0.1, the proxy listens
  # there only; the uplink address has no listener.  The verdict judges the
  # uplink address because the exporter remembers 5000 on 0.0.0.0: nat DOCKER
  # is there without a DNAT for it.
  want refused
  want_cause dnat_rule_missing
  docker20_save "$P" "$P" tcp 127.0.0.1 | ipt_restore iptables-nft
  host_listener loopback
}
sc_docker20_nft_host_port_8080() {
  target "$H:8080"
  want connected client
  docker20_save 8080 "$P" | ipt_restore iptables-nft
}
sc_docker20_nft_docker_user_drop_host_port_misses() {
  # DOCKER-USER runs in FORWARD, after the DNAT: dport is the container's 5000.
  target "$H:8080"
  want connected client
  docker20_save 8080 "$P" | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER -p tcp --dport 8080 -j DROP
}
sc_docker20_nft_docker_user_drop_ctorigdstport() {
  # Docker's documented way to match the host port: the conntrack original.
  target "$H:8080"
  want timeout
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker20_save 8080 "$P" | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER -p tcp -m conntrack --ctorigdstport 8080 -j DROP
}
sc_docker20_nft_direct_routed_access() {
  # The client routes the bridge network via the host and connects to the
  # container address: 20.10 has no raw drop, DOCKER accepts it.
  target "$C1_IP:$P"
  want connected client
  docker20_save | ipt_restore iptables-nft
  client_route_to_bridge
}

# --- DOCKER-USER, REJECT flavours ---------------------------------------------------
sc_docker20_nft_docker_user_drop() {
  want timeout
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER -i eth0 -j DROP
  host_listener any
}
sc_docker20_nft_docker_user_accept_source_then_drop() {
  # The SYN is accepted, but the SYN-ACK (source the container) meets the DROP.
  want timeout
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER 1 -s "$UPLINK_OUT_IP" -j ACCEPT
  ipt iptables-nft -I DOCKER-USER 2 -j DROP
}
sc_docker20_nft_docker_user_established_accept_source_then_drop() {
  want connected client
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  ipt iptables-nft -I DOCKER-USER 2 -s "$UPLINK_OUT_IP" -j ACCEPT
  ipt iptables-nft -I DOCKER-USER 3 -j DROP
}
sc_docker20_nft_docker_user_reject_tcp_reset() {
  want refused
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER -p tcp --dport "$P" -j REJECT --reject-with tcp-reset
}
sc_docker20_nft_docker_user_reject_default() {
  # REJECT's default is icmp-port-unreachable: ECONNREFUSED.
  want refused
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER -p tcp --dport "$P" -j REJECT
}
sc_docker20_nft_docker_user_reject_host_prohibited() {
  want unreachable
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER -p tcp --dport "$P" -j REJECT --reject-with icmp-host-prohibited
}
sc_docker20_nft_docker_user_reject_net_unreachable() {
  # A soft error for an established socket, but it ends a connect in SYN_SENT.
  want unreachable
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER -p tcp --dport "$P" -j REJECT --reject-with icmp-net-unreachable
}

# --- raw, mangle, marks -----------------------------------------------------------
sc_docker20_nft_raw_prerouting_drop() {
  want timeout
  want_cause raw_drop
  want_stop "nf_tables ip raw PREROUTING"
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -t raw -A PREROUTING -i eth0 -p tcp --dport "$P" -j DROP
  host_listener any
}
sc_docker20_nft_mangle_mark_then_docker_user_drop() {
  want timeout
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -t mangle -A PREROUTING -i eth0 -p tcp --dport "$P" -j MARK --set-mark 0x1
  ipt iptables-nft -I DOCKER-USER -m mark --mark 0x1 -j DROP
}
sc_nft_mark_mismatch_not_dropped() {
  # The mark set (0x2) is not the one the forward chain drops (0x1).
  want connected client
  docker20_save | ipt_restore iptables-nft
  nft_load <<EOF
table ip marks {
  chain pre { type filter hook prerouting priority mangle; iifname "eth0" tcp dport $P meta mark set 0x2; }
  chain forward { type filter hook forward priority filter - 1; meta mark 0x1 drop; }
}
EOF
}

# --- forwarding and reverse-path sysctls ---------------------------------------------
sc_docker20_nft_ip_forward_off() {
  # The route lookup refuses to forward; ip_error sends nothing for a
  # non-forwarding input device: silence.
  want timeout
  want_cause ip_forward_disabled
  docker20_save | ipt_restore iptables-nft
  host_listener any
  host_sysctl net.ipv4.ip_forward=0
}
sc_docker20_nft_ip_forward_off_dnat_flushed_proxy() {
  want connected proxy
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -t nat -F DOCKER
  host_listener any
  host_sysctl net.ipv4.ip_forward=0
}
sc_docker20_nft_uplink_forwarding_off() {
  # IPv4 checks the input device's forwarding only.
  want timeout
  want_cause ip_forward_disabled
  docker20_save | ipt_restore iptables-nft
  host_sysctl net.ipv4.conf.eth0.forwarding=0
}
sc_docker20_nft_bridge_forwarding_off() {
  # The SYN goes out docker0 fine; the SYN-ACK comes in on docker0, which does
  # not forward: the reply dies.
  want timeout
  want_cause ip_forward_disabled
  docker20_save | ipt_restore iptables-nft
  host_sysctl "net.ipv4.conf.$BRIDGE.forwarding=0"
}
sc_rp_filter_strict_asymmetric_route() {
  # The host routes the client's address out eth1, not eth0 where the SYN
  # arrived: strict rp_filter drops the SYN.
  want timeout
  want_cause rp_filter
  docker20_save | ipt_restore iptables-nft
  asymmetric_route_to_client
  host_sysctl net.ipv4.conf.eth0.rp_filter=1
}
sc_rp_filter_loose_asymmetric_route() {
  # Loose mode only wants some route back; the SYN-ACK leaves by eth1 and the
  # client takes it.
  want connected client
  docker20_save | ipt_restore iptables-nft
  asymmetric_route_to_client
  host_sysctl net.ipv4.conf.eth0.rp_filter=2
}
sc_rp_filter_off_asymmetric_route() {
  want connected client
  docker20_save | ipt_restore iptables-nft
  asymmetric_route_to_client
}

# --- local delivery -----------------------------------------------------------------
sc_host_empty_ruleset_no_listener() {
  want refused
  want_cause docker_chain_missing
}
sc_host_empty_ruleset_listener() {
  want connected proxy
  host_listener any
}

# --- Docker 20.10, iptables-legacy ---------------------------------------------------
sc_docker20_legacy_connected() {
  want connected client
  docker20_save | ipt_restore iptables-legacy
  host_listener any
}
sc_docker20_legacy_nat_docker_flushed_proxy() {
  want connected proxy
  docker20_save | ipt_restore iptables-legacy
  ipt iptables-legacy -t nat -F DOCKER
  host_listener any
}
sc_docker20_legacy_nat_docker_flushed_no_listener() {
  want refused
  want_cause dnat_rule_missing
  docker20_save | ipt_restore iptables-legacy
  ipt iptables-legacy -t nat -F DOCKER
}
sc_docker20_legacy_filter_docker_flushed() {
  want timeout
  want_cause forward_policy_drop
  want_stop "x_tables ip filter FORWARD policy"
  docker20_save | ipt_restore iptables-legacy
  ipt iptables-legacy -t filter -F DOCKER
}
sc_docker20_legacy_docker_user_drop() {
  want timeout
  want_cause docker_user_drop
  want_stop "x_tables ip filter DOCKER-USER"
  docker20_save | ipt_restore iptables-legacy
  ipt iptables-legacy -I DOCKER-USER -i eth0 -j DROP
}
sc_docker20_legacy_mangle_prerouting_drop() {
  want timeout
  want_cause foreign_rule_drop
  want_stop "x_tables ip mangle PREROUTING"
  docker20_save | ipt_restore iptables-legacy
  ipt iptables-legacy -t mangle -A PREROUTING -p tcp --dport "$P" -j DROP
}
sc_docker20_legacy_docker_user_goto_return() {
  # -g: B's RETURN goes back past A to DOCKER-USER, whose next rule drops.
  want timeout
  want_cause docker_user_drop
  want_stop "x_tables ip filter DOCKER-USER"
  docker20_save | ipt_restore iptables-legacy
  ipt iptables-legacy -N A
  ipt iptables-legacy -N B
  ipt iptables-legacy -A B -s "$UPLINK_OUT_IP" -j RETURN
  ipt iptables-legacy -A A -g B
  ipt iptables-legacy -A A -j ACCEPT
  ipt iptables-legacy -I DOCKER-USER 1 -j A
  ipt iptables-legacy -I DOCKER-USER 2 -p tcp --dport "$P" -j DROP
}
sc_legacy_and_nft_both_docker_nft_user_drop() {
  # Both backends hold Docker's rules (a switch of alternatives): the packet
  # crosses both FORWARD hooks and the nft one drops.
  want timeout
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker20_save | ipt_restore iptables-legacy
  docker20_save | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER -i eth0 -j DROP
}

# --- Docker 28 ------------------------------------------------------------------------
sc_docker28_nft_connected() {
  want connected client
  docker28_save | ipt_restore iptables-nft
  host_listener any
}
sc_docker28_nft_docker_user_drop() {
  want timeout
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker28_save | ipt_restore iptables-nft
  ipt iptables-nft -A DOCKER-USER -i eth0 -p tcp --dport "$P" -j DROP
}
sc_docker28_nft_filter_docker_flushed() {
  want timeout
  want_cause forward_policy_drop
  want_stop "nf_tables ip filter FORWARD policy"
  docker28_save | ipt_restore iptables-nft
  ipt iptables-nft -F DOCKER
}
sc_docker28_nft_docker_ct_flushed() {
  # The SYN-ACK comes in on docker0: DOCKER-FORWARD's `-i docker0 -j ACCEPT`
  # takes it without DOCKER-CT.
  want connected client
  docker28_save | ipt_restore iptables-nft
  ipt iptables-nft -F DOCKER-CT
}
sc_docker28_nft_direct_routed_access() {
  # 28's raw PREROUTING drop of the container address from outside the bridge.
  target "$C1_IP:$P"
  want timeout
  want_stop "nf_tables ip raw PREROUTING"
  docker28_save | ipt_restore iptables-nft
  client_route_to_bridge
}
sc_docker28_nft_published_on_loopback() {
  # As for 20.10; the raw drop is for 127.0.0.1 only.
  want refused
  want_cause dnat_rule_missing
  docker28_save "$P" "$P" tcp 127.0.0.1 | ipt_restore iptables-nft
  host_listener loopback
}
sc_docker28_legacy_connected() {
  want connected client
  docker28_save | ipt_restore iptables-legacy
  host_listener any
}
sc_docker28_legacy_direct_routed_access() {
  target "$C1_IP:$P"
  want timeout
  want_stop "x_tables ip raw PREROUTING"
  docker28_save | ipt_restore iptables-legacy
  client_route_to_bridge
}

# --- Docker 29, nftables backend ------------------------------------------------------
sc_docker29_connected() {
  want connected client
  docker29_nft | nft_load
  host_listener any
}
sc_docker29_ip_forward_off() {
  want timeout
  want_cause ip_forward_disabled
  docker29_nft | nft_load
  host_sysctl net.ipv4.ip_forward=0
}
sc_docker29_port_accept_missing() {
  want timeout
  want_cause docker_rule_drop
  want_stop "nf_tables ip docker-bridges filter-forward-in__$BRIDGE"
  docker29_nft "$P" "$P" tcp no | nft_load
}
sc_docker29_direct_routed_access() {
  target "$C1_IP:$P"
  want timeout
  want_stop "nf_tables ip docker-bridges raw-PREROUTING"
  docker29_nft | nft_load
  client_route_to_bridge
}
sc_docker29_iptables_forward_drop_left_behind() {
  # An iptables-nft FORWARD policy DROP from before the switch to nftables:
  # its own base chain, its own verdict.
  want timeout
  want_cause forward_policy_drop
  want_stop "nf_tables ip filter FORWARD policy"
  docker29_nft | nft_load
  ipt iptables-nft -P FORWARD DROP
}
sc_docker29_closed_container_port() {
  want refused
  want_cause no_listener
  docker29_nft "$P" 5001 | nft_load
}
