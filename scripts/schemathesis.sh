#!/usr/bin/env bash
# Fuzzes the live service against its own OpenAPI document with schemathesis (PyPI, v4):
# every check, positive and negative data, stateful links, with an admin key and without one.
# Usage: scripts/schemathesis.sh [path/to/riposte]   (default: target/debug/riposte)
# Needs python3 with venv; installs schemathesis into target/schemathesis-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-target/debug/riposte}
examples=${SCHEMATHESIS_MAX_EXAMPLES:-50}
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "installing schemathesis into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
fi

work=$(mktemp -d /tmp/riposte-schemathesis.XXXXXX)
chmod 755 "$work"  # the embedded PostgreSQL runs as another user when we are root
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export RIPOSTE_DATA_DIR="$work/data" RIPOSTE_LOG=warn
unset DATABASE_URL
# No webhook deliveries: fuzzed subscriptions would send to whatever hosts they name.
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
admin=$("$bin" keys create --name schemathesis --scope admin 2>/dev/null)

run() {
    local phases=$1
    shift
    echo "==> schemathesis ($phases) $*"
    "$venv/bin/schemathesis" --config-file schemathesis.toml \
        run "http://127.0.0.1:$port/openapi.json" \
        --checks all --mode all --phases "$phases" \
        --max-examples "$examples" --seed 20201010 --no-color \
        --generation-database none --report-dir "$work/report" "$@"
}
status=0
# Revoking keys is left to the last pass: schemathesis reuses ids it has seen, and would
# revoke its own key half-way through.
all=examples,coverage,fuzzing,stateful
# GET /v1/events never ends (Server-Sent Events): a request/response fuzzer would wait on it
# for ever; tests/api/changes.rs covers it.
endless="--exclude-operation-id streamEvents"
# POST /v1/imports answers 202 whatever the file holds (its lines are judged by the job, and
# tests/api/imports.rs covers them); fuzzed uploads faster than two jobs run would fill the
# queue of 8 and get its documented 503, which schemathesis counts as a server error.
endless="$endless --exclude-operation-id createImport"
run $all -H "Authorization: Bearer $admin" --exclude-operation-id revokeApiKey $endless \
    || status=1
run $all $endless || status=1
run examples,coverage,fuzzing -H "Authorization: Bearer $admin" \
    --include-operation-id revokeApiKey || status=1
if [ $status -ne 0 ]; then
    echo "schemathesis found problems; server log:"
    tail -50 "$work/server.log"
fi
exit $status
