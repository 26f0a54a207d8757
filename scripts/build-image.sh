#!/usr/bin/env bash
# Builds the runtime image from a static binary built on this host (no registry needed):
#   scripts/build-image.sh [TAG]      (default tag claimscrub:local)
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-claimscrub:local}"
scripts/build-static.sh
docker build --target host -t "$tag" .
docker image inspect "$tag" --format "built $tag: {{.Size}} bytes"
