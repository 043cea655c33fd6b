# shellcheck shell=bash
# Rulesets the netfilter benchmarks load with `iptables-nft-restore --noflush`
# into a network namespace of their own: Docker's chains and many foreign
# (kube-proxy-like) rules.  Sourced by netfilter_scrape.sh and trace.sh.

# 100 Docker rules: the lab's chains, with 94 published ports in nat DOCKER:
# host port 20000+i to 203.0.113.(2+i):80.
docker_rules() {
  echo "*nat"
  echo ":DOCKER - [0:0]"
  echo "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER"
  echo "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER"
  echo "-A DOCKER -i docker0 -j RETURN"
  local i
  for ((i = 0; i < 94; i++)); do
    echo "-A DOCKER ! -i docker0 -p tcp -m tcp --dport $((20000 + i)) -j DNAT --to-destination 203.0.113.$((2 + i % 200)):80"
  done
  echo "COMMIT"
  echo "*filter"
  echo ":DOCKER - [0:0]"
  echo ":DOCKER-USER - [0:0]"
  echo ":DOCKER-ISOLATION-STAGE-1 - [0:0]"
  echo ":DOCKER-ISOLATION-STAGE-2 - [0:0]"
  echo "-A FORWARD -j DOCKER-USER"
  echo "-A FORWARD -j DOCKER-ISOLATION-STAGE-1"
  echo "-A DOCKER-USER -j RETURN"
  echo "COMMIT"
}

# The rest of dockerd's (20.10-27.x) forward path, loaded after
# docker_rules: FORWARD policy drop, the established accept, FORWARD ->
# DOCKER with one accept per published container port, the isolation
# stages, and the masquerade.  With it a connection to any published port
# goes through (the first: 20000 -> 203.0.113.2:80).
docker_forward_rules() {
  local i
  echo "*nat"
  echo "-A POSTROUTING -s 203.0.113.0/24 ! -o docker0 -j MASQUERADE"
  echo "COMMIT"
  echo "*filter"
  echo ":FORWARD DROP [0:0]"
  echo "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
  echo "-A FORWARD -o docker0 -j DOCKER"
  echo "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT"
  echo "-A FORWARD -i docker0 -o docker0 -j ACCEPT"
  for ((i = 0; i < 94; i++)); do
    echo "-A DOCKER -d 203.0.113.$((2 + i % 200))/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT"
  done
  echo "-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2"
  echo "-A DOCKER-ISOLATION-STAGE-1 -j RETURN"
  echo "-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP"
  echo "-A DOCKER-ISOLATION-STAGE-2 -j RETURN"
  echo "COMMIT"
}

# foreign_rules N [walked]: N foreign rules, kube-proxy-like, in nat: one
# KUBE-SERVICES rule per KUBE-SVC-* chain (N/100 of them), which hold the
# other 99 each.  With `walked`, PREROUTING jumps to KUBE-SERVICES first (as
# kube-proxy inserts it), so a packet to a published port walks its N/100
# rules (none matches it) and never enters a KUBE-SVC-* chain.
foreign_rules() {
  local n=$1 walked=${2:-} c r per=100
  ((n > 0)) || return 0
  echo "*nat"
  echo ":KUBE-SERVICES - [0:0]"
  for ((c = 0; c < n / per; c++)); do echo ":KUBE-SVC-$c - [0:0]"; done
  if [[ $walked == walked ]]; then
    echo "-I PREROUTING 1 -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
  fi
  for ((c = 0; c < n / per; c++)); do
    echo "-A KUBE-SERVICES -d 10.96.$((c / 250)).$((c % 250)) -p tcp -m tcp --dport 80 -j KUBE-SVC-$c"
    for ((r = 1; r < per; r++)); do
      echo "-A KUBE-SVC-$c -s 10.$((r % 250)).$((c % 250)).0/24 -p tcp -m tcp --dport $((1000 + r)) -j ACCEPT"
    done
  done
  echo "COMMIT"
}
