#!/usr/bin/env bash
# Regenerates the demo output block in README.md from `claimscrub check` (tests/cli.rs checks
# that the README matches).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(cargo run -q -- check samples/demo-claims.json --as-of 2025-08-01)
python3 - "$out" <<'PY'
import sys, re
out = sys.argv[1].rstrip()
readme = open("README.md").read()
start = readme.index("<!-- demo-output:start -->")
end = readme.index("<!-- demo-output:end -->")
block = "<!-- demo-output:start -->\n```text\n" + out + "\n```\n"
open("README.md", "w").write(readme[:start] + block + readme[end:])
PY
echo "README demo output updated"
