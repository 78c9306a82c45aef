#!/usr/bin/env bash
# The registration flood of issue 14: N parallel POST /api/v1/auth/register from one address
# against a real `trivium serve` on a temp data dir and port. Prints the server's RSS before and
# at its peak (VmHWM), the CPU it spent (utime+stime), the answers by status and how long
# /healthz took while the flood ran. Figures are printed, never asserted (see BENCHMARKS.md).
#
#   bench/authflood.sh [N] [binary]      # default 200, bin/trivium (built if missing)
# Any TRIVIUM_* variable set by the caller reaches the server (e.g. TRIVIUM_AUTH_BURST=1000).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
bin=${2:-bin/trivium}
[ -x "$bin" ] || go build -o "$bin" ./cmd/trivium
go build -o bin/authflood ./bench/authflood
data=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
TRIVIUM_ADDR=127.0.0.1:$port TRIVIUM_DATA=$data TRIVIUM_SEED=0 TRIVIUM_LOG_LEVEL=error "$bin" serve >/dev/null 2>"$data/stderr" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
url=http://127.0.0.1:$port
for _ in $(seq 200); do curl -fs "$url/readyz" >/dev/null && break; sleep 0.05; done
clk=$(getconf CLK_TCK)
cpu() { awk -v c="$clk" '{printf "%.2f", ($14+$15)/c}' /proc/$pid/stat; }
rss() { awk -v k="$1" '$1==k":" {printf "%.0f", $2/1024}' /proc/$pid/status; }
echo "before: RSS $(rss VmRSS) MB, CPU $(cpu) s"
cpu0=$(cpu)
start=$(date +%s.%N)
bin/authflood -url "$url" -n "$n" >"$data/codes" &
flood=$!
# /healthz while the flood runs: the worst of a few probes.
worst=0
while kill -0 $flood 2>/dev/null; do
	t=$(curl -s -o /dev/null -m 30 -w '%{time_total}' "$url/healthz" || echo 30)
	worst=$(awk -v a="$worst" -v b="$t" 'BEGIN{print (b>a)?b:a}')
done
wait $flood
end=$(date +%s.%N)
echo "after:  RSS $(rss VmRSS) MB, peak RSS $(rss VmHWM) MB, CPU +$(awk -v a="$(cpu)" -v b="$cpu0" 'BEGIN{printf "%.2f", a-b}') s, wall $(awk -v a="$end" -v b="$start" 'BEGIN{printf "%.2f", a-b}') s"
cat "$data/codes"
echo "slowest /healthz during the flood: ${worst} s"
