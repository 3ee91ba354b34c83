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

work=$(mktemp -d /tmp/riposte-client.XXXXXX)
chmod 755 "$work"  # the embedded PostgreSQL runs as another user when we are root
(cd "$work" && "$OLDPWD/$venv/bin/openapi-python-client" generate \
    --path "$OLDPWD/openapi/openapi.json" --meta none >"$work/generate.log" 2>&1) \
    || { cat "$work/generate.log"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export RIPOSTE_DATA_DIR="$work/data" RIPOSTE_LOG=warn
unset DATABASE_URL
"$bin" serve --bind "127.0.0.1:$port" --seed xinjiang-2020 \
    --rate-limit 0 --rate-limit-anonymous 0 --webhook-deliveries false \
    >"$work/server.log" 2>&1 &
server=$!
cleanup() {
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.2
done
admin=$("$bin" keys create --name client-smoke --scope admin 2>/dev/null)

echo "==> generated client against http://127.0.0.1:$port"
PYTHONPATH="$work" "$venv/bin/python" scripts/client_smoke.py "http://127.0.0.1:$port" "$admin" \
    || { echo "the generated client failed; server log:"; tail -50 "$work/server.log"; exit 1; }
