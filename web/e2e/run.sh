#!/usr/bin/env bash
# Browser tests of the web client against a real Trivium server.
#   web/e2e/run.sh                 run the tests
#   web/e2e/run.sh --screenshots   also (re)write docs/screenshots/*.png
#   web/e2e/run.sh tests/live.test.mjs   run some test files only
# Environment: TRIVIUM_E2E_URL uses an already running server instead of building one;
# TRIVIUM_SCREENSHOTS=1 is the same as --screenshots; CHROMIUM_PATH overrides /usr/bin/chromium.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

files=()
for arg in "$@"; do
  case "$arg" in
    --screenshots) export TRIVIUM_SCREENSHOTS=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) files+=("$arg") ;;
  esac
done
if [ ${#files[@]} -eq 0 ]; then files=(tests/); fi

if [ -z "${CHROMIUM_PATH:-}" ]; then
  command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)
fi

cd "$here"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

server_pid=""
data=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$data" ]; then rm -rf "$data"; fi
}
trap cleanup EXIT

if [ -z "${TRIVIUM_E2E_URL:-}" ]; then
  mkdir -p "$repo/.tmp"
  (cd "$repo" && go build -o .tmp/trivium ./cmd/trivium)
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  data="$(mktemp -d)"
  export TRIVIUM_E2E_URL="http://127.0.0.1:$port"
  export TRIVIUM_E2E_DATA="$data"
  export TRIVIUM_E2E_BIN="$repo/.tmp/trivium"
  # One browser on one address signs up every test's players: lift the per-address auth burst.
  TRIVIUM_AUTH_BURST=1000 TRIVIUM_PUSH_ALLOW_PRIVATE=1 "$repo/.tmp/trivium" serve --addr "127.0.0.1:$port" --data "$data" >"$repo/.tmp/e2e-server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do
    if curl -fsS "$TRIVIUM_E2E_URL/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then echo "trivium exited:"; cat "$repo/.tmp/e2e-server.log"; exit 1; fi
    sleep 0.1
  done
  curl -fsS "$TRIVIUM_E2E_URL/readyz" >/dev/null || { echo "trivium not ready:"; cat "$repo/.tmp/e2e-server.log"; exit 1; }
fi

echo "web e2e against $TRIVIUM_E2E_URL"
node --test --test-concurrency=1 "${files[@]}"
