# Sourced by scripts/schemathesis.sh and scripts/client-smoke.sh: starts `$bin serve` on a
# free port with the founding example, in a throw-away data directory, waits until it is
# ready and creates an admin key. Sets: work, port, server, admin. Stops the server and
# removes `$work` on exit. Needs `bin` and `name` (the key's name) set.
work=$(mktemp -d "/tmp/riposte-$name.XXXXXX")
chmod 755 "$work"  # the embedded PostgreSQL runs as another user when we are root
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export RIPOSTE_DATA_DIR="$work/data" RIPOSTE_LOG=warn
unset DATABASE_URL
# No webhook deliveries: made-up subscriptions would send to whatever hosts they name.
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
admin=$("$bin" keys create --name "$name" --scope admin 2>/dev/null)
