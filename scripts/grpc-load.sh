#!/usr/bin/env bash
# Unary ScrubClaim against the same server's trivial handler (the gRPC health check), with
# claimscrub's own load generator and with an independent one (h2load, from Debian's
# nghttp2-client), alternating in the same minutes. Release build, full CMS tables when
# ../shared/data is there (else the bundled sample), no outcome recording.
# Usage: scripts/grpc-load.sh [rounds] [seconds]   (needs h2load: apt-get install nghttp2-client)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-10}
port=50081
tables=tests/fixtures/shared-data-tables.toml
[ -e ../shared/data/ncci/ptp_practitioner_2024q3.tsv.gz ] || tables=data/tables.toml
command -v h2load >/dev/null || { echo "h2load not found: apt-get install nghttp2-client" >&2; exit 1; }
cargo build --release -q
bin=target/release/claimscrub
frames=$(mktemp -d)
$bin loadgen --write-frames "$frames" >/dev/null
$bin serve --listen 127.0.0.1:$port --metrics-listen none --tables "$tables" --outcomes none \
  >"$frames/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$frames"' EXIT
for _ in $(seq 60); do
  curl -s --http2-prior-knowledge -o /dev/null -H 'content-type: application/grpc' \
    --data-binary @"$frames/health.bin" http://127.0.0.1:$port/grpc.health.v1.Health/Check && break
  sleep 1
done
h2() { # path body -> req/s
  h2load -D "$secs" -c 8 -m 1 -H 'content-type: application/grpc' -H 'te: trailers' \
    -d "$2" "http://127.0.0.1:$port$1" 2>&1 |
    awk '/^finished in/ {r=$4} /^requests:/ {ok=$8; bad=$10} END {printf "%s req/s (%s ok, %s failed)", r, ok, bad}'
}
lg() { # mode -> claims/s line
  $bin loadgen --server http://127.0.0.1:$port --mode "$1" --concurrency 8 --duration-secs "$secs" --json |
    python3 -c 'import json, sys
r = json.load(sys.stdin)
print("%.0f req/s (p50 %s us, p99 %s us, %s errors)" % (r["throughput_per_s"], r["p50_us"], r["p99_us"], r["errors"]))'
}
for r in $(seq "$rounds"); do
  echo "round $r"
  echo "  h2load   health: $(h2 /grpc.health.v1.Health/Check "$frames/health.bin")"
  echo "  h2load   scrub : $(h2 /claimscrub.v1.ClaimScrubber/ScrubClaim "$frames/scrub.bin")"
  echo "  loadgen  health: $(lg health)"
  echo "  loadgen  scrub : $(lg unary)"
done
