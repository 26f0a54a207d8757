# claimscrub container image.
#
# Two ways to build the same minimal runtime image (a FROM-scratch image holding a static
# binary, the bundled rules and reference data):
#
#   1. With a registry (the usual multi-stage build from source):
#        docker build -t claimscrub .
#   2. Without a registry (e.g. air-gapped CI), from a static binary built on the host:
#        scripts/build-image.sh claimscrub:local
#      which runs scripts/build-static.sh (static glibc binary in dist/) and then
#        docker build --target host -t claimscrub:local .
#
# The host stage comes FIRST on purpose: the legacy (non-BuildKit) builder builds every stage
# up to the target, so `--target host` never touches the rust base image and needs no pull.

# ---- runtime from a host-built static binary (no pulls) ------------------------------------
FROM scratch AS host
COPY dist/ /opt/claimscrub/bin/
COPY rules/ /rules/
COPY data/ /opt/claimscrub/data/
ENV CLAIMSCRUB_LISTEN=0.0.0.0:50051 \
    CLAIMSCRUB_RULES=/rules \
    CLAIMSCRUB_TABLES=/opt/claimscrub/data/tables.toml \
    CLAIMSCRUB_METRICS_LISTEN=0.0.0.0:9090 \
    CLAIMSCRUB_LOG_FORMAT=json \
    CLAIMSCRUB_HEALTH_ADDR=127.0.0.1:50051 \
    CLAIMSCRUB_OUTCOMES=none \
    MIMALLOC_PURGE_DELAY=0
# MIMALLOC_PURGE_DELAY=0: the allocator returns freed memory to the OS at once, so loading
# the full CMS tables peaks at ~140 MiB instead of ~250 MiB (docs/BENCHMARKS.md).
# CLAIMSCRUB_OUTCOMES=none: the outcome store (remittances) is off in the image; set it to a
# file on a mounted volume (/var/lib/claimscrub/outcomes.sqlite) or to the fleet's postgres://
# URL to store remittances.
# Non-root (no /etc/passwd in scratch: numeric ids). Nothing is written at run time, so the
# root filesystem can be mounted read-only.
USER 65532:65532
EXPOSE 50051 9090
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 \
  CMD ["/opt/claimscrub/bin/claimscrub", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/claimscrub/bin/claimscrub"]
CMD ["serve"]

# ---- build from source ------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu --bin claimscrub \
 && mkdir -p /out && cp target/x86_64-unknown-linux-gnu/release/claimscrub /out/claimscrub \
 && strip /out/claimscrub

# ---- runtime from the source build (default target) -----------------------------------------
# Same image as `host`, with the binary built above.
FROM host AS runtime
COPY --from=builder /out/ /opt/claimscrub/bin/
