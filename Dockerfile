# portmap_exporter in a container: Debian bookworm, built from this tree.
#
#   docker build --build-arg REVISION=$(git rev-parse --short=12 HEAD) -t portmap_exporter .
#   docker run -d --name portmap_exporter --restart unless-stopped \
#     --network host --pid host --cap-add NET_ADMIN \
#     -v /:/host:ro,rslave \
#     -v /run/dbus/system_bus_socket:/run/dbus/system_bus_socket:ro \
#     portmap_exporter --path.rootfs=/host
#
# README.md (Docker) says why each flag is there.  `make test-image` builds this
# file from a debootstrapped base (--build-arg BASE=...) and runs it.

# The registry image by default; any Debian bookworm root file system works.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
# The project's own package list, copied alone: this layer (the slow apt
# install) is rebuilt only when the list changes, not on every source edit.
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . /src
# .git is not in the context (.dockerignore): the commit comes from outside,
#   docker build --build-arg REVISION=$(git rev-parse --short=12 HEAD) .
# and ends up in portmap_exporter_build_info{revision} and --version.
ARG REVISION=unknown
RUN cmake -S /src -B /build -DPORTMAP_TESTS=OFF -DPORTMAP_REVISION="${REVISION}" \
 && cmake --build /build -j"$(nproc)" --target portmap_exporter \
 && strip --strip-debug -o /portmap_exporter /build/portmap_exporter
# The runtime stage installs the packages holding the libraries the binary
# links (ldd, then dpkg -S; usr-merge puts a library under /lib or /usr/lib).
RUN ldd /portmap_exporter | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do \
      real=$(readlink -f "$lib"); \
      for p in "$lib" "$real" "${lib#/usr}" "${real#/usr}" "/usr$lib" "/usr$real"; do \
        dpkg -S "$p" 2>/dev/null && break; \
      done || { echo "no package holds $lib" >&2; exit 1; }; \
    done | cut -d: -f1 | sort -u >/runtime-packages \
 && cat /runtime-packages

FROM ${BASE}
COPY --from=build /runtime-packages /tmp/runtime-packages
COPY --from=build /portmap_exporter /usr/bin/portmap_exporter
COPY deploy/docker/healthcheck.sh /usr/local/bin/portmap-healthcheck
# - ldd and --version fail the build here, not at `docker run`, if a library
#   is missing; before setcap, as a build step cannot exec the binary after.
# - Not root in the container, yet netfilter needs CAP_NET_ADMIN (and
#   CAP_NET_RAW for legacy iptables): file capabilities give them to the
#   exporter only, if the container has them (--cap-add NET_ADMIN; NET_RAW is in
#   Docker's default set).  Set here: COPY --from drops them.  setcap
#   (libcap2-bin) goes again in the same layer.
# - libssl3: civetweb dlopen()s "libssl.so" and "libcrypto.so" for HTTPS
#   (--web.config.file); those names are libssl-dev's symlinks, made here
#   rather than install a -dev package.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      $(cat /tmp/runtime-packages) libssl3 libcap2-bin >/dev/null \
 && ! ldd /usr/bin/portmap_exporter | grep 'not found' \
 && /usr/bin/portmap_exporter --version \
 && setcap cap_net_admin,cap_net_raw+ep /usr/bin/portmap_exporter \
 && DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq --auto-remove libcap2-bin >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /tmp/runtime-packages \
 && libdir=$(dirname "$(readlink -f "$(ldconfig -p | awk '$1 == "libssl.so.3" { print $NF; exit }')")") \
 && ln -sf libssl.so.3 "$libdir/libssl.so" && ln -sf libcrypto.so.3 "$libdir/libcrypto.so"

# nobody, in group root: owns no file and has no capability but the two above.
# Group root because legacy iptables' table list, /proc/net/ip_tables_names,
# is root:root 0440 (the file capabilities do not include reading any file).
USER 65534:0
EXPOSE 9806
# GET /-/healthy over bash's /dev/tcp (no curl in the image).  With another
# --web.listen-address, say where: -e PORTMAP_HEALTHCHECK_ADDRESS=127.0.0.1:PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/portmap-healthcheck"]
ENTRYPOINT ["/usr/bin/portmap_exporter"]
# Arguments to `docker run IMAGE ...` replace these: keep --path.rootfs=/host.
CMD ["--path.rootfs=/host"]
