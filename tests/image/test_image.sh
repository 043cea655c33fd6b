#!/usr/bin/env bash
# `make test-image`: builds the Dockerfile for real and runs the image.
#
# No registry is reachable, so the base image is Debian bookworm made here:
# debootstrap --variant=minbase from the mirror apt uses, `docker import`ed as
# portmap-base:bookworm (the tarball is cached).  A dockerd of our own builds
# and runs it; it must leave the machine's firewall and network alone:
# --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false
# --bridge=none, its own data root, exec root, pid file and socket.  Containers
# use --network host, so nothing needs a bridge.  The test compares the
# ruleset, the links and ip_forward before and after.
#
# Checks: the build; the exporter runs as non-root with CAP_NET_ADMIN (file
# capabilities); /metrics has portmap_build_info and a successful forwarding
# collector; the HEALTHCHECK turns healthy; the image size is printed.
#
# Environment:
#   PORTMAP_IMAGE_CACHE  base tarball and the dockerd data root (build cache)
#                        (default /var/tmp/portmap-image-cache; rm -rf resets)
#   PORTMAP_IMAGE_MIRROR Debian mirror for debootstrap (default: apt's)
#   PORTMAP_IMAGE_PORT   first port to try for the exporter (default 19806)
#   PORTMAP_IMAGE_CONTEXT the tree to build (default: this checkout)
#
# Exit 0 pass, 1 fail, 77 skip (not root, or docker.io/debootstrap missing).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
CONTEXT=${PORTMAP_IMAGE_CONTEXT:-$PWD}
CACHE=${PORTMAP_IMAGE_CACHE:-/var/tmp/portmap-image-cache}
BASE_TAR=$CACHE/bookworm-minbase.tar
BASE_IMAGE=portmap-base:bookworm
IMAGE=portmap_exporter:test
DOCKERD=/usr/sbin/dockerd
DOCKER_CLI=/usr/bin/docker # Debian's; a newer client elsewhere in PATH wants buildx
BUILD_TIMEOUT=${PORTMAP_IMAGE_BUILD_TIMEOUT:-3600}

log() { echo "test-image: $*" >&2; }
die() {
  log "FAIL: $*"
  exit 1
}

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: test-image needs root (dockerd, debootstrap)"
  exit 77
fi
for tool in "$DOCKERD" "$DOCKER_CLI" debootstrap curl iptables-save nft; do
  command -v "$tool" >/dev/null || {
    echo "SKIP: $tool is missing (scripts/install-deps.sh image)"
    exit 77
  }
done

mkdir -p "$CACHE"
# One run at a time: the data root (the build cache) is shared.
exec 9>"$CACHE/lock"
flock -w 1800 9 || die "another make test-image holds $CACHE/lock for 30 min"

WORK=$(mktemp -d /var/tmp/portmap-image-XXXXXX)
# The exec root holds containerd's sockets: a short path below /run.
RUN=$(mktemp -d /run/portmap-image-XXXXXX)
DATA=$CACHE/docker-data
SOCK=$RUN/docker.sock
CONTAINER=portmap-image-test-$$

dk() { timeout 600 "$DOCKER_CLI" -H "unix://$SOCK" "$@"; }
dockerd_alive() { timeout 5 "$DOCKER_CLI" -H "unix://$SOCK" version >/dev/null 2>&1; }

# Waits up to $1 seconds for "$@" to succeed.
wait_for() {
  local secs=$1
  shift
  local end=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < end)) || return 1
    sleep 0.5
  done
}

dockerd_pid=""
stop_dockerd() {
  [[ -n $dockerd_pid ]] || return 0
  if dockerd_alive; then
    dk rm -f "$CONTAINER" >/dev/null 2>&1 || true
    # Old builds' images, so the cached data root does not grow without bound.
    dk image prune -f >/dev/null 2>&1 || true
  fi
  kill -TERM "$dockerd_pid" 2>/dev/null || true
  local end=$((SECONDS + 20))
  while kill -0 "$dockerd_pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.2; done
  kill -KILL "$dockerd_pid" 2>/dev/null || true
  wait "$dockerd_pid" 2>/dev/null || true
  dockerd_pid=""
}
cleanup() {
  local rc=$?
  set +e
  stop_dockerd
  # containerd and its shims outlive a killed dockerd; they name our exec root.
  local p
  for p in /proc/[0-9]*; do
    if grep -qaF "$RUN" "$p/cmdline" 2>/dev/null; then kill -KILL "${p#/proc/}" 2>/dev/null; fi
  done
  local m
  while read -r m; do umount -l "$m"; done < <(awk -v r="$RUN" -v d="$DATA" -v w="$WORK" \
    'index($2, r) == 1 || index($2, d) == 1 || index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf "$WORK" "$RUN"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# What dockerd must not touch, with packet counters and comments stripped.
host_net_state() {
  {
    echo "## iptables-save"
    iptables-save 2>&1 | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'
    echo "## ip6tables-save"
    ip6tables-save 2>&1 | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'
    if command -v iptables-legacy-save >/dev/null; then
      echo "## iptables-legacy-save"
      iptables-legacy-save 2>&1 | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'
    fi
    echo "## nft list ruleset"
    nft list ruleset 2>&1 | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
    echo "## links"
    ip -o link show | awk -F': ' '{ print $2 }' | sort
    echo "## forwarding"
    sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding
  }
}

# The mirror apt uses for bookworm (deb822 URIs: or a one-line deb entry).
apt_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    awk '/^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ && u != "" { print u; exit }' "$f"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" && $3 == "bookworm" { print $2 }'
}

make_base_tar() {
  local mirror=${PORTMAP_IMAGE_MIRROR:-$(apt_mirror | head -n1)}
  mirror=${mirror:-http://deb.debian.org/debian}
  local root=$WORK/rootfs
  log "debootstrap --variant=minbase bookworm from $mirror (cached in $BASE_TAR)"
  timeout 1800 debootstrap --variant=minbase bookworm "$root" "$mirror" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 20 "$WORK/debootstrap.log" >&2
    die "debootstrap failed"
  }
  # As in debian:bookworm-slim: updates and security too, no package lists or .debs.
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
    "$mirror" "$mirror" "$mirror" >"$root/etc/apt/sources.list"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin
  tar --numeric-owner --xattrs -C "$root" -cf "$BASE_TAR.tmp" .
  mv "$BASE_TAR.tmp" "$BASE_TAR"
  rm -rf "$root"
}

before=$(host_net_state)

[[ -s $BASE_TAR ]] || make_base_tar
log "base tarball: $BASE_TAR ($(du -h "$BASE_TAR" | cut -f1))"

mkdir -p "$DATA"
log "starting dockerd: data root $DATA, exec root $RUN"
# No system bus: dockerd must not register with the machine's firewalld.
setsid env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$RUN/no-system-bus" nohup "$DOCKERD" \
  --data-root="$DATA" --exec-root="$RUN/exec" --pidfile="$RUN/docker.pid" -H "unix://$SOCK" \
  --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
  --containerd-namespace=portmap-image --containerd-plugins-namespace=portmap-image-plugins \
  --log-level=warn </dev/null >"$WORK/dockerd.log" 2>&1 &
dockerd_pid=$!
if ! wait_for 60 dockerd_alive; then
  tail -n 20 "$WORK/dockerd.log" >&2
  die "dockerd did not answer on $SOCK within 60 s"
fi
log "dockerd $($DOCKER_CLI -H "unix://$SOCK" version -f '{{.Server.Version}}') up, storage driver $(dk info -f '{{.Driver}}')"

if ! dk image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  dk import "$BASE_TAR" "$BASE_IMAGE" >/dev/null
fi

# .git stays out of the build context: the revision comes as a build argument.
revision=$(git -C "$CONTEXT" rev-parse --short=12 HEAD 2>/dev/null) || revision=unknown
log "docker build --network=host --build-arg BASE=$BASE_IMAGE --build-arg REVISION=$revision -t $IMAGE $CONTEXT"
start=$SECONDS
# One snapshot of the tree for both builds: an edit in between would rebuild
# the build stage twice.  .dockerignore still applies to it.
mkdir "$WORK/context"
# tar exits 1 when a file changes as it reads it: the snapshot is still whole.
{ tar -C "$CONTEXT" --exclude=./.git --exclude='./build*' -cf - . || (($? == 1)); } |
  tar -C "$WORK/context" -xf -
# The build stage gets a tag too: untagged, the prune at the end would remove
# it, and with it the cached layer of the slow apt install.
for target in build ""; do
  if ! timeout "$BUILD_TIMEOUT" "$DOCKER_CLI" -H "unix://$SOCK" build --network=host \
    --build-arg BASE="$BASE_IMAGE" --build-arg REVISION="$revision" ${target:+--target "$target"} -t "$IMAGE${target:+-$target}" \
    "$WORK/context" >>"$WORK/build.log" 2>&1; then
    tail -n 40 "$WORK/build.log" >&2
    die "docker build ${target:+--target $target }failed"
  fi
done
build_secs=$((SECONDS - start))
size=$(dk image inspect -f '{{.Size}}' "$IMAGE")
log "built $IMAGE in ${build_secs} s; $(grep -c 'Using cache' "$WORK/build.log" || true) steps from cache"
log "image size $((size / 1000000)) MB (base $(($(dk image inspect -f '{{.Size}}' "$BASE_IMAGE") / 1000000)) MB)"

port=${PORTMAP_IMAGE_PORT:-19806}
while ss -Hltn "sport = :$port" | grep -q .; do
  ((port < 19906)) || die "no free port in 19806-19906"
  port=$((port + 1))
done
addr=127.0.0.1:$port

# The documented run command (README.md, Docker), on a free loopback port.
# rslave needs a shared or slave / (systemd makes it so; a bare VM may not).
propagation=$(findmnt -n -o PROPAGATION /)
rootfs_opts=ro
[[ $propagation == private ]] || rootfs_opts=ro,rslave
# A --config.file through the /host mount: loading it starts the YAML check
# process (config/config_guard.h), which must work as nobody with file
# capabilities too.  It probes the exporter's own port.
chmod 0755 "$WORK"
printf 'targets:\n  - target: %s\n' "$addr" >"$WORK/portmap.yml"
chmod 0644 "$WORK/portmap.yml"
run_args=(--network host --pid host --cap-add NET_ADMIN -v "/:/host:$rootfs_opts"
  -e PORTMAP_HEALTHCHECK_ADDRESS="$addr" --health-interval=2s --health-start-period=5s)
[[ -S /run/dbus/system_bus_socket ]] &&
  run_args+=(-v /run/dbus/system_bus_socket:/run/dbus/system_bus_socket:ro)
exporter_args=(--path.rootfs=/host --web.listen-address="$addr" --config.file="/host$WORK/portmap.yml")
log "docker run ${run_args[*]} $IMAGE ${exporter_args[*]}"
dk run -d --name "$CONTAINER" "${run_args[@]}" "$IMAGE" "${exporter_args[@]}" >/dev/null

fail=0
check() {
  if "$@"; then log "ok: $*"; else
    log "FAIL: $*"
    fail=1
  fi
}

scrape() { curl -fsS --max-time 10 "http://$addr/metrics" >"$WORK/metrics"; }
if ! wait_for 30 scrape; then
  dk logs "$CONTAINER" 2>&1 | tail -n 20 >&2
  die "no /metrics on $addr within 30 s"
fi
has() { grep -Eq "$1" "$WORK/metrics"; }
check has "^portmap_exporter_build_info\\{.*revision=\"$revision\""
check has '^portmap_config_last_reload_successful 1$'
check has "^portmap_probe_success\\{.*target=\"$addr\".*\\} 1$"
check has '^portmap_scrape_collector_success\{collector="forwarding"\} 1$'
# Not root, so only the file capabilities give it netfilter.
check has '^portmap_scrape_collector_success\{collector="netfilter"\} 1$'
# ip_forward as the exporter reads it, through the host's /proc, equals the host's.
check has "^portmap_ip_forward_enabled\\{family=\"ipv4\"\\} $(sysctl -n net.ipv4.ip_forward)$"
# --pid host: the exporter sees this test's dockerd.
check has '^portmap_dockerd_up 1$'
grep -E '^portmap_scrape_collector_success' "$WORK/metrics" | sed 's/^/test-image:   /' >&2
# The runbook the alerts link to, rendered into the image's binary at build time.
runbook() { curl -fsS --max-time 10 "http://$addr/runbook" >"$WORK/runbook.html"; }
check runbook
check grep -q '<h2 id="portmapipforwarddisabled">PortmapIPForwardDisabled</h2>' "$WORK/runbook.html"

pid=$(dk inspect -f '{{.State.Pid}}' "$CONTAINER")
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
log "exporter pid $pid uid $uid CapEff $capeff"
check test "$uid" -ne 0
# CAP_NET_ADMIN is bit 12.
check test $((0x$capeff >> 12 & 1)) -eq 1

# A reload with a file libyaml-cpp 0.7 would loop on: the check process ends
# it within its limit, the last good configuration stays, /metrics answers.
printf ', a\n' >"$WORK/portmap.yml"
dk kill -s HUP "$CONTAINER" >/dev/null
reload_failed() { scrape && has '^portmap_config_last_reload_successful 0$'; }
if wait_for 20 reload_failed; then log "ok: a looping file fails its reload, /metrics answers"; else
  log "FAIL: no failed reload within 20 s: $(dk logs "$CONTAINER" 2>&1 | tail -n 5)"
  fail=1
fi
check has "^portmap_probe_success\\{.*target=\"$addr\".*\\} 1$"
dk logs "$CONTAINER" 2>&1 | grep -m1 'Error reloading configuration' | sed 's/^/test-image:   /' >&2 || true

health() { [[ $(dk inspect -f '{{.State.Health.Status}}' "$CONTAINER") == healthy ]]; }
if wait_for 30 health; then log "ok: HEALTHCHECK healthy"; else
  log "FAIL: HEALTHCHECK not healthy: $(dk inspect -f '{{json .State.Health}}' "$CONTAINER")"
  fail=1
fi

# The documented failure without --cap-add NET_ADMIN: the file capabilities
# cannot be granted, so the exec fails, saying so.
if dk run --rm --network host "$IMAGE" --version >"$WORK/nocap.log" 2>&1; then
  log "FAIL: the image ran without --cap-add NET_ADMIN"
  fail=1
elif grep -qi 'operation not permitted' "$WORK/nocap.log"; then
  log "ok: without --cap-add NET_ADMIN: $(grep -io 'exec[^"]*"*[^"]*"*: operation not permitted' "$WORK/nocap.log" | head -n1)"
else
  log "FAIL: without --cap-add NET_ADMIN: $(cat "$WORK/nocap.log")"
  fail=1
fi

stop_dockerd
after=$(host_net_state)
if [[ $before == "$after" ]]; then log "ok: firewall, links and ip_forward unchanged"; else
  log "FAIL: the machine's network state changed:"
  diff <(echo "$before") <(echo "$after") >&2 || true
  fail=1
fi

((fail == 0)) || die "see above"
log "PASS (build ${build_secs} s, image $((size / 1000000)) MB)"
