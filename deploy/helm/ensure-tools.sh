#!/usr/bin/env bash
# Print the path of a helm binary, building it from the Go module proxy on first use.
#   deploy/helm/ensure-tools.sh            -> .cache/bin/helm-v3.22.0
# Cached under .cache/ (git-ignored): the binary, the module cache and the build cache, so a
# second run is instant. The first build downloads ~150 modules and compiles ~1000 packages:
# a few minutes on 2 cores; progress goes to stderr, the path alone to stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE="$ROOT/.cache"
BIN="$CACHE/bin/helm-$HELM_VERSION"

if [[ -x $BIN ]]; then echo "$BIN"; exit 0; fi
if ! command -v go >/dev/null 2>&1; then
  echo "ensure-tools: 'go' is not installed; helm $HELM_VERSION is built from the Go module proxy (Go 1.24+ needed)" >&2
  exit 1
fi
mkdir -p "$CACHE/bin" "$CACHE/go/mod" "$CACHE/go/build"
build="$CACHE/bin/.build-$$"
trap 'rm -rf "$build"' EXIT
echo "ensure-tools: building helm $HELM_VERSION with $(go version | cut -d' ' -f3) (first time only; a few minutes)…" >&2
t0=$SECONDS
# -v names each package as it is compiled: a line of progress every 100.
env GOFLAGS=-mod=mod GOTOOLCHAIN=local GOBIN="$build" GOPATH="$CACHE/go" \
    GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" \
    go install -v "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" 2>&1 \
  | awk '
      /^go: downloading/ { d++; if (d % 25 == 0) printf "ensure-tools:   %d modules downloaded\n", d > "/dev/stderr"; next }
      /^go: / || /error|cannot|not found/ { print > "/dev/stderr"; next }
      { n++; if (n % 100 == 0) printf "ensure-tools:   %d packages compiled\n", n > "/dev/stderr" }'
mv "$build/helm" "$BIN"
echo "ensure-tools: helm $HELM_VERSION ready in $((SECONDS - t0)) s: $BIN" >&2
echo "$BIN"
