#!/usr/bin/env bash
# Instructions per claim, scripted edit pack vs the native baseline, counted by callgrind on
# the bench's claim mix. Instruction counts do not drift with the machine's load the way
# times do, so this compares two versions of the code fairly. Needs valgrind.
# Usage: scripts/instructions.sh   (from the repository root; takes a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
exe=$(cargo bench --bench scrub --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "scrub" and m.get("executable"):
        print(m["executable"])')
out=$(mktemp -d)
CLAIMSCRUB_BENCH_RATIO_ONLY=1 valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
  --collect-atstart=no \
  --toggle-collect='claimscrub::engine::Evaluator::scrub' \
  --toggle-collect='scrub::native::scrub' \
  "$exe" --bench >/dev/null 2>"$out/log" || { cat "$out/log"; exit 1; }
# With CLAIMSCRUB_BENCH_RATIO_ONLY the bench scrubs each claim of its 1,000-claim mix 4 times
# with the scripts (latency pass, firing count, comparison, one timed round) and 3 times natively
# (comparison, firing count, one timed round).
callgrind_annotate --inclusive=yes "$out/cg" 2>/dev/null | python3 -c '
import re, sys
ir = {}
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) .*?:(claimscrub::engine::Evaluator::scrub|scrub::native::scrub) \[", line)
    if m:
        ir[m.group(2)] = int(m.group(1).replace(",", ""))
script = ir["claimscrub::engine::Evaluator::scrub"] / 4000
native = ir["scrub::native::scrub"] / 3000
print(f"instructions per claim: scripted {script:,.0f}, native {native:,.0f}: {script / native:.2f}x")
'
echo "raw profile: $out/cg (callgrind_annotate --inclusive=yes $out/cg)"
