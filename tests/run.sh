#!/usr/bin/env bash
# The whole test suite: unit, integration and e2e tiers against real servers.
# Starts the servers that are not running yet, and stops exactly those afterwards.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
INFRA=deploy/local/infra.sh
started=()
for c in kafka postgres neo4j; do
  if ! $INFRA status "$c" | grep -q running; then started+=("$c"); fi
done
cleanup() { if [[ ${#started[@]} -gt 0 ]]; then $INFRA down "${started[@]}" || true; fi; }
trap cleanup EXIT
if [[ ${#started[@]} -gt 0 ]]; then $INFRA up "${started[@]}"; fi
eval "$($INFRA env)"
export TGI_KAFKA_BOOTSTRAP TGI_POSTGRES_DSN TGI_NEO4J_URI TGI_INTERNAL_TOKEN
t0=$SECONDS
set +e
.venv/bin/python -m pytest -p no:cacheprovider "$@"
rc=$?
set -e
echo "pytest wall time: $(( SECONDS - t0 )) s"
# pytest exits 5 when it collected no tests: that is a failure, not a pass.
if [[ $rc -eq 5 ]]; then echo "no tests ran" >&2; exit 1; fi
exit $rc
