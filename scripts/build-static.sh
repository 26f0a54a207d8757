#!/usr/bin/env bash
# Builds a fully static claimscrub binary (glibc, crt-static) into dist/claimscrub, for the
# FROM-scratch runtime image. Uses its own target directory so it never waits on (or
# invalidates) the debug build.
#
# Static glibc needs glibc's static libraries (libc.a), shipped in Debian's libc6-dev; this
# script installs it when missing. Statically linked glibc cannot load NSS modules, so give
# the binary IP addresses rather than host names where it is a client (`claimscrub health`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f /usr/lib/x86_64-linux-gnu/libc.a ]; then
  echo "installing libc6-dev (static glibc)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libc6-dev; else sudo apt-get update -qq && sudo apt-get install -y -qq libc6-dev; fi
fi

target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" \
  CARGO_TARGET_DIR=target/static \
  cargo build --release --locked --target "$target" --bin claimscrub
mkdir -p dist
cp "target/static/$target/release/claimscrub" dist/claimscrub
strip dist/claimscrub 2>/dev/null || true
if ldd dist/claimscrub 2>&1 | grep -qE "=>|ld-linux"; then
  echo "dist/claimscrub is not static" >&2
  exit 1
fi
echo "built dist/claimscrub ($(du -h dist/claimscrub | cut -f1), static)"
