# shellcheck shell=bash
# The lab.trace corpus, continued (trace_scenarios.sh has the scenario API and
# the Docker generations): other firewalls next to Docker's rules — foreign
# nftables tables with sets, maps and jumps, ufw, a real firewalld — and UDP.
# Sourced after trace_scenarios.sh, run in file order after its scenarios.

# --- foreign nftables tables ------------------------------------------------------------
sc_inet_filter_forward_drop() {
  want timeout
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter forward policy"
  docker20_save | ipt_restore iptables-nft
  host_listener any
  nft_load <<'EOF'
table inet filter {
  chain input { type filter hook input priority filter; policy accept; }
  chain forward { type filter hook forward priority filter; policy drop; }
  chain output { type filter hook output priority filter; policy accept; }
}
EOF
}
sc_inet_filter_forward_drop_port_exception() {
  want connected client
  docker20_save | ipt_restore iptables-nft
  nft_load <<EOF
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    tcp dport $P accept
  }
}
EOF
}
sc_inet_filter_forward_drop_ct_dnat_exception() {
  want connected client
  docker20_save | ipt_restore iptables-nft
  nft_load <<'EOF'
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct status dnat accept
  }
}
EOF
}
sc_inet_filter_forward_drop_port_exception_no_established() {
  # The SYN passes on its port; the SYN-ACK (sport 5000) meets the policy.
  want timeout
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter forward policy"
  docker20_save | ipt_restore iptables-nft
  nft_load <<EOF
table inet filter {
  chain forward { type filter hook forward priority filter; policy drop; tcp dport $P accept; }
}
EOF
}
sc_inet_filter_input_drop_dnat_forwarded() {
  # DNATed traffic never reaches input.
  want connected client
  docker20_save | ipt_restore iptables-nft
  host_listener any
  nft_load <<'EOF'
table inet filter {
  chain input { type filter hook input priority filter; policy drop; ct state established,related accept; iif lo accept; tcp dport 22 accept; }
}
EOF
}
sc_inet_filter_input_drop_host_listener() {
  want timeout
  want_cause docker_chain_missing foreign_rule_drop
  want_stop "nf_tables inet filter input policy"
  host_listener any
  nft_load <<'EOF'
table inet filter {
  chain input { type filter hook input priority filter; policy drop; ct state established,related accept; iif lo accept; tcp dport 22 accept; }
}
EOF
}

# --- sets, maps, jumps --------------------------------------------------------------------
sc_nft_named_interval_set_drop() {
  want timeout
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter forward"
  docker20_save | ipt_restore iptables-nft
  nft_load <<'EOF'
table inet filter {
  set blocked { type ipv4_addr; flags interval; elements = { 192.0.2.0/24, 198.51.100.0/28 } }
  chain forward { type filter hook forward priority filter; policy accept; ip saddr @blocked drop; }
}
EOF
}
sc_nft_concat_set_accept() {
  want connected client
  docker20_save | ipt_restore iptables-nft
  nft_load <<EOF
table inet filter {
  set published { type ipv4_addr . inet_service; elements = { $C1_IP . $P, 203.0.113.3 . 80 } }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ip daddr . tcp dport @published accept
  }
}
EOF
}
sc_nft_concat_set_element_missing() {
  want timeout
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter forward policy"
  docker20_save | ipt_restore iptables-nft
  nft_load <<EOF
table inet filter {
  set published { type ipv4_addr . inet_service; elements = { $C1_IP . 80, 203.0.113.3 . $P } }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ip daddr . tcp dport @published accept
  }
}
EOF
}
sc_nft_concat_interval_set_drop() {
  want timeout
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter forward"
  docker20_save | ipt_restore iptables-nft
  nft_load <<'EOF'
table inet filter {
  set deny { type ipv4_addr . inet_service; flags interval; elements = { 198.51.100.0/24 . 4000-5999 } }
  chain forward { type filter hook forward priority filter; policy accept; ip saddr . tcp dport @deny drop; }
}
EOF
}
sc_nft_anonymous_set_reject_tcp_reset() {
  want refused
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter forward"
  docker20_save | ipt_restore iptables-nft
  nft_load <<'EOF'
table inet filter {
  chain forward { type filter hook forward priority filter; policy accept; tcp dport { 22, 4000-6000 } reject with tcp reset; }
}
EOF
}
sc_nft_anonymous_vmap_jump_reject_prohibited() {
  want unreachable
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter from_uplink"
  docker20_save | ipt_restore iptables-nft
  nft_load <<EOF
table inet filter {
  chain from_uplink { tcp dport $P reject with icmp type host-prohibited; }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ip saddr vmap { 198.51.100.0/24 : jump from_uplink, $BRIDGE_NET : accept }
  }
}
EOF
}
sc_nft_named_vmap_goto_drop() {
  want timeout
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter uplink_in"
  docker20_save | ipt_restore iptables-nft
  nft_load <<EOF
table inet filter {
  chain uplink_in { tcp dport $P drop; }
  map zone_of { type ifname : verdict; elements = { "eth0" : goto uplink_in } }
  chain forward { type filter hook forward priority filter; policy accept; iifname vmap @zone_of; }
}
EOF
}
sc_nft_jump_goto_return() {
  # level2 was entered by goto: its return resumes forward after `jump level1`,
  # not level1 (whose accept is never reached), and forward drops.
  want timeout
  want_cause foreign_rule_drop
  want_stop "nf_tables inet nest forward"
  docker20_save | ipt_restore iptables-nft
  nft_load <<EOF
table inet nest {
  chain level2 { ip saddr $UPLINK_OUT_IP return; }
  chain level1 { goto level2; tcp dport $P accept; }
  chain forward { type filter hook forward priority filter - 5; policy accept; jump level1; tcp dport $P drop; }
}
EOF
}

# --- ufw ------------------------------------------------------------------------------------
sc_ufw_docker20_published_bypasses_ufw() {
  # Docker inserts its FORWARD rules above ufw's: the deny-routed default never
  # sees the published port.
  want connected client
  ufw_save | ipt_restore iptables-nft
  docker20_save | as_inserted | ipt_restore iptables-nft --noflush
}
sc_ufw_docker_after_rules_deny() {
  want timeout
  want_cause foreign_rule_drop
  want_stop "nf_tables ip filter ufw-docker-logging-deny"
  ufw_save | ipt_restore iptables-nft
  ufw_docker_save | ipt_restore iptables-nft --noflush
  docker20_save | as_inserted keep-docker-user | ipt_restore iptables-nft --noflush
}
sc_ufw_docker_route_allow() {
  want connected client
  ufw_save | ipt_restore iptables-nft
  ufw_docker_save yes | ipt_restore iptables-nft --noflush
  docker20_save | as_inserted keep-docker-user | ipt_restore iptables-nft --noflush
}
sc_ufw_deny_incoming_host_listener() {
  # No Docker rules: the SYN is the host's, and ufw's INPUT policy (not the
  # FORWARD one) drops it.
  want timeout
  want_cause docker_chain_missing foreign_rule_drop
  want_stop "nf_tables ip filter INPUT policy"
  ufw_save | ipt_restore iptables-nft
  host_listener any
}

# --- UDP ------------------------------------------------------------------------------------
sc_udp_docker20_nft_delivered() {
  proto udp
  want delivered client
  docker20_save "$P" "$P" "tcp udp" | ipt_restore iptables-nft
}
sc_udp_docker20_nft_docker_user_drop() {
  proto udp
  want timeout
  want_cause docker_user_drop
  want_stop "nf_tables ip filter DOCKER-USER"
  docker20_save "$P" "$P" "tcp udp" | ipt_restore iptables-nft
  ipt iptables-nft -I DOCKER-USER -p udp -j DROP
}
sc_udp_docker20_nft_closed_container_port() {
  # The container's ICMP port unreachable: ECONNREFUSED on the client's
  # connected socket, "unreachable" in the UDP vocabulary.
  proto udp
  want unreachable
  want_cause no_listener
  docker20_save "$P" 5001 "tcp udp" | ipt_restore iptables-nft
}
sc_udp_host_no_listener() {
  proto udp
  want unreachable
  want_cause docker_chain_missing
}
sc_udp_docker29_delivered() {
  proto udp
  want delivered client
  docker29_nft "$P" "$P" "tcp udp" | nft_load
}
sc_udp_inet_filter_forward_drop() {
  proto udp
  want timeout
  want_cause foreign_rule_drop
  want_stop "nf_tables inet filter forward policy"
  docker29_nft "$P" "$P" "tcp udp" | nft_load
  nft_load <<'EOF'
table inet filter {
  chain forward { type filter hook forward priority filter; policy drop; ct state established,related accept; tcp dport 5000 accept; }
}
EOF
}

# --- firewalld 1.3, real, on the lab's private bus -------------------------------------------
# Its start flushes iptables' tables even with the nftables backend (measured;
# the direct interface is iptables), so Docker's rules are gone until dockerd
# rebuilds them on Reloaded (docker20_save | as_inserted, what dockerd does).
sc_firewalld_nft_start_wipes_docker() {
  # The SYN is for the host; zone public rejects with icmpx admin-prohibited.
  want unreachable
  want_cause docker_chain_missing firewalld_port_closed
  want_stop "nf_tables inet firewalld filter_IN_public"
  docker20_save | ipt_restore iptables-nft
  host_listener any
  fw_start nftables
}
sc_firewalld_nft_port_open_proxy() {
  want connected proxy
  docker20_save | ipt_restore iptables-nft
  host_listener any
  fw_start nftables
  fw --zone=public --add-port="$P/tcp"
}
sc_firewalld_nft_rich_rule_reject_proxy() {
  want refused
  want_cause docker_chain_missing firewalld_port_closed
  want_stop "nf_tables inet firewalld filter_IN_public_deny"
  host_listener any
  fw_start nftables
  fw --zone=public --add-port="$P/tcp"
  fw --zone=public --add-rich-rule="rule family=\"ipv4\" source address=\"$UPLINK_OUT_IP\" port port=\"$P\" protocol=\"tcp\" reject"
}
sc_firewalld_nft_docker_rebuilt() {
  # filter_FORWARD's `ct status dnat accept` comes before the zones.
  want connected client
  host_listener any
  fw_start nftables
  docker20_save | as_inserted | ipt_restore iptables-nft --noflush
}
sc_firewalld_nft_docker_rebuilt_rich_rule_bypassed() {
  # The rich rule sits in zone public's input; the DNATed SYN is forwarded.
  want connected client
  fw_start nftables
  fw --zone=public --add-rich-rule="rule family=\"ipv4\" source address=\"$UPLINK_OUT_IP\" port port=\"$P\" protocol=\"tcp\" reject"
  docker20_save | as_inserted | ipt_restore iptables-nft --noflush
}
sc_firewalld_nft_direct_routed_access_rejected() {
  # No DNAT, so no `ct status dnat accept`: zone public's forward rejects.
  target "$C1_IP:$P"
  want unreachable
  want_stop "nf_tables inet firewalld filter_FWD_public"
  fw_start nftables
  docker20_save | as_inserted | ipt_restore iptables-nft --noflush
  client_route_to_bridge
}
sc_firewalld_nft_direct_routed_access_docker_forwarding_policy() {
  # dockerd's docker zone (target ACCEPT) and docker-forwarding policy
  # (ANY -> docker, ACCEPT), written as moby's firewalld.go does over D-Bus.
  target "$C1_IP:$P"
  want connected client
  fw_start nftables
  fw_docker_zone
  docker20_save | as_inserted | ipt_restore iptables-nft --noflush
  client_route_to_bridge
}
sc_firewalld_nft_direct_routed_access_docker_zone_without_policy() {
  # Zone docker's target applies to what comes in on docker0; the SYN comes
  # in on eth0 (zone public) and only a policy names the egress zone.
  target "$C1_IP:$P"
  want unreachable
  want_stop "nf_tables inet firewalld filter_FWD_public"
  fw_start nftables
  fw_docker_zone no-policy
  docker20_save | as_inserted | ipt_restore iptables-nft --noflush
  client_route_to_bridge
}
sc_firewalld_nft_docker29_docker_zone() {
  want connected client
  fw_start nftables
  fw_docker_zone
  docker29_nft | nft_load
}
sc_firewalld_iptables_start_wipes_docker() {
  want refused
  want_cause docker_chain_missing firewalld_port_closed
  docker20_save | ipt_restore iptables-nft
  host_listener any
  fw_start iptables
}
sc_firewalld_iptables_port_open_proxy() {
  want connected proxy
  docker20_save | ipt_restore iptables-nft
  host_listener any
  fw_start iptables
  fw --zone=public --add-port="$P/tcp"
}
sc_firewalld_iptables_docker_rebuilt() {
  want connected client
  host_listener any
  fw_start iptables
  docker20_save | as_inserted | ipt_restore iptables-nft --noflush
}
