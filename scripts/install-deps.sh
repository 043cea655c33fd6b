#!/usr/bin/env bash
# Installs the Debian packages portmap_exporter needs to build, run and test.
#
# Idempotent: it asks dpkg first and touches apt only when something is missing,
# so `make run` and `make test` cost nothing on a machine that already has it all.
# Services must never start on install (firewalld or dockerd in the machine's own
# namespace would firewall the machine itself), so a policy-rc.d that refuses
# every start (exit 101) is in place for the whole install.
#
# Usage: scripts/install-deps.sh [group...]   groups: build test lab fuzz image
#   (default: build test lab; `make fuzz` asks for fuzz, `make test-image` for image)
set -euo pipefail

declare -A groups=(
  [build]="cmake g++ make pkg-config prometheus-cpp-dev libcivetweb-dev libmnl-dev
           libnftnl-dev libspdlog-dev libfmt-dev libsystemd-dev libyaml-cpp-dev
           libcli11-dev zlib1g-dev libcrypt-dev libssl-dev nlohmann-json3-dev
           libcmark-gfm-dev libcmark-gfm-extensions-dev"
  [test]="libgtest-dev libgmock-dev libcurl4-openssl-dev curl prometheus libbenchmark-dev
          prometheus-alertmanager jq python3 prometheus-blackbox-exporter
          prometheus-node-exporter wrk openssl"
  [lab]="iproute2 iptables nftables procps util-linux firewalld dbus-daemon docker.io busybox-static"
  # libclang-rt-14-dev holds libclang_rt.fuzzer (-fsanitize=fuzzer) and clang's
  # ASan/UBSan runtimes; llvm gives llvm-symbolizer for readable crash stacks;
  # libyaml-dev: the YAML targets feed yaml-cpp only what libyaml accepts.
  [fuzz]="clang libclang-rt-14-dev llvm libyaml-dev"
  # `make test-image`: the base image comes from debootstrap (no registry), a
  # private dockerd builds it; iptables and nftables show the ruleset is untouched.
  [image]="debootstrap docker.io iptables nftables curl"
)

wanted=()
for g in "${@:-build test lab}"; do
  for g2 in $g; do
    [[ -n "${groups[$g2]+x}" ]] || { echo "install-deps: unknown group '$g2' (build, test, lab, fuzz, image)" >&2; exit 2; }
    # shellcheck disable=SC2206
    wanted+=(${groups[$g2]})
  done
done

missing=()
for p in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -x "$policy" ]] || ! grep -q 'exit 101' "$policy"; then
  if [[ -e "$policy" ]]; then
    echo "install-deps: $policy exists but does not refuse service starts; not touching it" >&2
    exit 1
  fi
  printf '#!/bin/sh\n# written by portmap_exporter install-deps: no service starts on install\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  made_policy=1
fi
cleanup() { if ((made_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
