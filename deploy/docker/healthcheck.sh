#!/bin/bash
# HEALTHCHECK of the portmap_exporter image: GET /-/healthy, healthy on a 200.
# bash's /dev/tcp does the request, so the image needs no curl or wget.
#
# PORTMAP_HEALTHCHECK_ADDRESS (host:port, default 127.0.0.1:9806) must name a
# plain-HTTP address the exporter listens on: set it with
# --web.listen-address other than :9806.
set -u
addr=${PORTMAP_HEALTHCHECK_ADDRESS:-127.0.0.1:9806}
host=${addr%:*} port=${addr##*:}
host=${host#[} host=${host%]}
[[ -n $host ]] || host=127.0.0.1
if ! exec 3<>"/dev/tcp/$host/$port"; then
  echo "unhealthy: cannot connect to $addr"
  exit 1
fi
printf 'GET /-/healthy HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$addr" >&3
if ! IFS=$' \r' read -r -t 4 proto code _ <&3; then
  echo "unhealthy: no answer from $addr"
  exit 1
fi
if [[ $proto != HTTP/* || $code != 200 ]]; then
  echo "unhealthy: $addr answered ${proto:-nothing} ${code:-}"
  exit 1
fi
echo "healthy: $addr"
