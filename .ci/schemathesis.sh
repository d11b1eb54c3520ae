#!/usr/bin/env bash
# Fuzzes the JSON API against its own OpenAPI document for a bounded time:
# a real `vellum serve` on a fresh SQLite data directory, signed in as an
# administrator, and schemathesis generating requests from the document.
# Any 5xx, or an answer the document does not describe (status code,
# content type, body schema), fails.
#
#   .ci/schemathesis.sh path/to/vellum path/to/schemathesis [seconds]
set -euo pipefail
bin=$1
st=$2
seconds=${3:-240}

data=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
echo 'schemathesis password' | "$bin" --data-dir "$data" user create fuzz --role admin >/dev/null
# Rate limits are off: the fuzzer sends far more than a person would (the
# limits have tests of their own).
VELLUM_RATE_LIMIT=off VELLUM_LOG=warn "$bin" --data-dir "$data" --listen "127.0.0.1:$port" serve >"$data/server.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "$base/readyz" >/dev/null && break
  sleep 0.1
done
cookie=$(curl -si -H 'content-type: application/json' \
  -d '{"username":"fuzz","password":"schemathesis password"}' "$base/api/v1/auth/login" |
  tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(vellum_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "could not sign in for the fuzz run" >&2; exit 1; }

# Signing out would end the fuzzer's own session half-way, and requiring
# two-factor sign-in (a site setting) would lock it out of everything else.
status=0
"$st" run "$base/api/v1/openapi.json" \
  --header "Cookie: $cookie" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-path /api/v1/auth/logout \
  --exclude-operation-id put_settings \
  --phases examples,fuzzing,stateful \
  --max-time "$seconds" --max-examples 40 --workers 2 --seed 42 \
  --request-timeout 30 --no-color --warnings off || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log (last 60 lines)" >&2
  tail -n 60 "$data/server.log" >&2
fi
exit "$status"
