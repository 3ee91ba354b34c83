#!/usr/bin/env bash
# Generates a Python client from openapi/openapi.json (openapi-python-client, PyPI, pinned)
# and drives a live, seeded riposte with it (scripts/client_smoke.py): the document is what
# integrators generate their clients from, so every call must parse into its types.
# Usage: scripts/client-smoke.sh [path/to/riposte]   (default: target/debug/riposte)
# Needs python3 with venv; installs the generator into target/client-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-target/debug/riposte}
venv=target/client-venv
if [ ! -x "$venv/bin/openapi-python-client" ]; then
    echo "installing openapi-python-client into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'openapi-python-client==0.29.1'
fi

name=client-smoke
# shellcheck source=scripts/serve-seeded.sh
. scripts/serve-seeded.sh
(cd "$work" && "$OLDPWD/$venv/bin/openapi-python-client" generate \
    --path "$OLDPWD/openapi/openapi.json" --meta none >"$work/generate.log" 2>&1) \
    || { cat "$work/generate.log"; exit 1; }

echo "==> generated client against http://127.0.0.1:$port"
PYTHONPATH="$work" "$venv/bin/python" scripts/client_smoke.py "http://127.0.0.1:$port" "$admin" \
    || { echo "the generated client failed; server log:"; tail -50 "$work/server.log"; exit 1; }
