#!/usr/bin/env bash
# Presign throughput: wrk against POST /api/v1/avatars/uploads on a fresh embedded server.
#   bench/presign.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; conns=${2:-64}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x bin/trivium ] || go build -o bin/trivium ./cmd/trivium
data=$(mktemp -d); port=$((20000 + RANDOM % 20000))
TRIVIUM_ADDR=127.0.0.1:$port TRIVIUM_DATA=$data TRIVIUM_LOG_LEVEL=warn TRIVIUM_API_RATE=1000000 TRIVIUM_API_BURST=1000000 \
	bin/trivium serve >/dev/null &
pid=$!
trap 'kill $pid; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.05; done
token=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"username":"bench","password":"bench password 1"}' \
	"http://127.0.0.1:$port/api/v1/auth/register" | sed 's/.*"token":"\([^"]*\)".*/\1/')
TOKEN=$token wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/wrk/presign.lua "http://127.0.0.1:$port/api/v1/avatars/uploads"
echo "server CPU time: $(ps -o cputime= -p $pid)"
