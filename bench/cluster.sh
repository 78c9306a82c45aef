#!/usr/bin/env bash
# Many players on one box: GATEWAYS trivium processes in cluster mode (one PostgreSQL database,
# their own nats-server with JetStream, the durable game log on) and as many load generators, so
# no process holds more than PLAYERS/GATEWAYS sockets (this sandbox allows 20,000 descriptors per
# process). Every game is created on one gateway and its players connect to that gateway, as a
# router that sends a join code to the game's node would; each load generator drives the games
# of one gateway, and all of them connect, ask and answer at the same moments (a file barrier).
#
#   bench/cluster.sh [PLAYERS] [GAMES] [GATEWAYS]      # defaults 50000 500 4
#
# Each load generator dials from its own two loopback source addresses: bound to one shared
# address, the four of a 50,000-player run ran out of its ~28,000 ephemeral ports ("bind: address
# already in use").
# Prints each load generator's report, then the totals: connect time, RSS per connection,
# question fan-out p99, answers/s (all acks over first answer sent → last ack, any process).
# On a bigger host: raise the descriptor limit (nofile ≥ 2 × PLAYERS / GATEWAYS + 1,000), keep
# GATEWAYS ≈ cores / 2 and run the load generators on another machine with -url (see
# BENCHMARKS.md, "50,000 players").
set -euo pipefail
cd "$(dirname "$0")/.."
players=${1:-50000} games=${2:-500} gws=${3:-4}
think=${THINK:-500ms} questions=${QUESTIONS:-1}
# Each gateway renews one lease per game every lease/3; on a starved machine (load average 50+
# from other work) 10 s leases expired mid-run and games moved, closing their sockets.
lease=${TRIVIUM_GAME_LEASE:-60s}
pg=${TRIVIUM_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
go build -o bin/trivium ./cmd/trivium
go build -o bin/loadgen ./bench/loadgen

tmp=$(mktemp -d /tmp/trivium-cluster-XXXXXX)
db="bench_$(date +%s)_$$"
pids=()
cleanup() {
	# Gateways first (they drain to NATS), then nats-server; whatever hangs gets KILL after 20 s.
	for ((k = ${#pids[@]} - 1; k >= 0; k--)); do
		kill -INT "${pids[k]}" 2>/dev/null || true
		for _ in $(seq 200); do kill -0 "${pids[k]}" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "${pids[k]}" 2>/dev/null || true
	done
	psql "$pg" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

psql "$pg" -qc "CREATE DATABASE $db" >/dev/null
dburl=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path="/"+sys.argv[2]).geturl())' "$pg" "$db")

nport=$(free_port)
nats-server -a 127.0.0.1 -p "$nport" -js -sd "$tmp/nats" >"$tmp/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$nport") 2>/dev/null && break; sleep 0.1; done

declare -a url pid pprof
for i in $(seq 1 "$gws"); do
	port=$(free_port) pp=$(free_port)
	roles=gateway,api,leaderboard seed=0 # a memory leaderboard each: the bench reads no boards
	[ "$i" = 1 ] && roles=all seed=1
	mkdir -p "$tmp/gw$i"
	env TRIVIUM_ADDR=127.0.0.1:$port TRIVIUM_DATA="$tmp/gw$i" TRIVIUM_DB="$dburl" TRIVIUM_BUS=nats://127.0.0.1:$nport \
		TRIVIUM_ROLES=$roles TRIVIUM_SEED=$seed TRIVIUM_LOG_LEVEL=warn TRIVIUM_GAME_LOG=1 TRIVIUM_PPROF_ADDR=127.0.0.1:$pp \
		TRIVIUM_MAX_GAMES_PER_HOST=100000 TRIVIUM_API_RATE=1000000 TRIVIUM_API_BURST=1000000 \
		TRIVIUM_AUTH_RATE=1000000 TRIVIUM_AUTH_BURST=1000000 TRIVIUM_WS_PER_ADDRESS=1000000 \
		TRIVIUM_WS_PER_ACCOUNT=1000000 TRIVIUM_FD_RESERVE=500 TRIVIUM_GAME_LEASE=$lease \
		bin/trivium serve >"$tmp/gw$i.log" 2>&1 &
	pids+=($!)
	url[$i]=http://127.0.0.1:$port pid[$i]=$! pprof[$i]=127.0.0.1:$pp
	# The first one migrates the database and seeds: wait for it before starting the others.
	for _ in $(seq 600); do curl -fs "${url[$i]}/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
	curl -fs "${url[$i]}/readyz" >/dev/null || { echo "gateway $i did not start:"; cat "$tmp/gw$i.log"; exit 1; }
done
echo "== $gws gateways up (nats-server :$nport, PostgreSQL database $db); load average: $(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$tmp/barrier"
lg=()
for i in $(seq 1 "$gws"); do
	# Spread the remainder so the totals are exact.
	p=$((players / gws + (i <= players % gws ? 1 : 0))) g=$((games / gws + (i <= games % gws ? 1 : 0)))
	bin/loadgen -url "${url[$i]}" -pid "${pid[$i]}" -pprof "${pprof[$i]}" -scenario answers \
		-players "$p" -games "$g" -questions "$questions" -think "$think" -timeout 30m \
		-sources 2 -source-base $((2 * i)) -barrier "$tmp/barrier:$gws" -json >"$tmp/lg$i.json" 2>"$tmp/lg$i.err" &
	lg+=($!)
done
fail=0
for p in "${lg[@]}"; do wait "$p" || fail=1; done
for i in $(seq 1 "$gws"); do
	[ -s "$tmp/lg$i.err" ] && { echo "load generator $i:"; cat "$tmp/lg$i.err"; }
done
[ "$fail" = 0 ] || { echo "a load generator failed"; for i in $(seq 1 "$gws"); do tail -5 "$tmp/gw$i.log"; done; exit 1; }
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp" "$gws" <<'EOF'
import json, sys, statistics as st
tmp, n = sys.argv[1], int(sys.argv[2])
reps = [json.load(open(f"{tmp}/lg{i}.json")) for i in range(1, n + 1)]
val = lambda r, k: next((m["value"] for m in r["metrics"] if m["name"] == k), None)
for i, r in enumerate(reps, 1):
    print(f"load generator {i}: " + ", ".join(f'{m["name"]} {m["value"]:.6g}{m["unit"] and " " + m["unit"]}' for m in r["metrics"]))
acked = sum(val(r, "answers acked") for r in reps)
window = (max(val(r, "last ack at") for r in reps) - min(val(r, "first answer sent at") for r in reps)) / 1000
print(f"TOTAL players {sum(r['players'] for r in reps)} in {sum(r['games'] for r in reps)} games on {n} gateways")
print(f"TOTAL connect time (all joined, slowest load generator) {max(val(r, 'connect time (players joined)') for r in reps):.1f} s")
print(f"TOTAL server RSS per connection (median of gateways) {st.median(val(r, 'server RSS per connection') for r in reps):.1f} KiB")
print(f"TOTAL question fan-out p99 (worst load generator) {max(val(r, 'question fan-out p99') for r in reps):.0f} ms; median of p99s {st.median(val(r, 'question fan-out p99') for r in reps):.0f} ms")
print(f"TOTAL answer ack p99 (worst load generator) {max(val(r, 'answer ack p99') for r in reps):.0f} ms")
print(f"TOTAL answers acked {acked:.0f}, errors {sum(val(r, 'answer errors') for r in reps):.0f}; {acked / window:.0f} answers/s over {window:.2f} s")
print(f"TOTAL server CPU per 1,000 answers (mean of gateways) {st.mean(val(r, 'server CPU per 1,000 answers') for r in reps):.3f} CPU-s")
EOF
