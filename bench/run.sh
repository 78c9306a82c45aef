#!/usr/bin/env bash
# The benchmark harness. `bench/run.sh quick` (make bench, CI smoke: ~2 minutes) runs every
# scenario small; `bench/run.sh full` (make bench-full) runs the sizes BENCHMARKS.md reports.
# Figures are printed, never asserted: compare them with BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-quick}
eval "$(infra/test-env.sh)"
go build -o bin/trivium ./cmd/trivium
go build -o bin/loadgen ./bench/loadgen
go build -o bin/floor ./bench/floor
go build -o bin/thumb ./bench/thumb
command -v vipsthumbnail >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends libvips-tools; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

if [ "$mode" = full ]; then
	idle=18000 fan=1000 ans=10000 games=100 q=10 lbn=1000000 lbx=20000 push=50 secs=10 cls=100
	cplayers=50000 cgames=500 cgw=4
else
	idle=2000 fan=200 ans=1000 games=10 q=3 lbn=10000 lbx=2000 push=10 secs=3 cls=10
	cplayers=1000 cgames=10 cgw=2
fi
# Each scenario is run against Trivium, then against the floor (bin/floor, a bare gorilla server
# driven by the same load generator): the "÷ floor" lines are the ratios BENCHMARKS.md reports.
floor="-floor bin/floor"

echo "== start-up"; bin/loadgen -scenario startup
echo "== idle connections"; bin/loadgen -scenario idle -players $idle -games $games $floor
echo "== question fan-out"; bin/loadgen -scenario fanout -players $fan -questions $q $floor
echo "== answers, 100 ms think time (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
bin/loadgen -scenario answers -players $ans -games $games -questions $q -think 100ms $floor
echo "== answers, no think time (capacity)"; bin/loadgen -scenario answers -players $ans -games $games -questions $q -think 1ms $floor
echo "== $cplayers players in $cgames games on $cgw gateways in cluster mode, $cgw load generators"
bench/cluster.sh $cplayers $cgames $cgw
echo "== the same two with the game log off (TRIVIUM_GAME_LOG=0), to compare"
TRIVIUM_GAME_LOG=0 bin/loadgen -scenario answers -players $ans -games $games -questions $q -think 100ms
TRIVIUM_GAME_LOG=0 bin/loadgen -scenario answers -players $ans -games $games -questions $q -think 1ms
echo "== game log: a 1,000-player game read back, 100 games restored after a stop, bytes per command"
go test -run '^$' -bench . -benchtime 3x ./services/gamelog/ | grep Benchmark
echo "== presign (wrk)"; bench/presign.sh $secs 64
echo "== thumbnail 12 MP JPEG: Trivium vs vipsthumbnail"
img=$(mktemp --suffix .jpg); bin/thumb -gen "$img"
for i in 1 2 3; do /usr/bin/time -f "trivium thumbnail step: %e s, peak RSS %M KB" bin/thumb -thumb-only -in "$img" >/dev/null; done
for i in 1 2 3; do /usr/bin/time -f "trivium validate+thumbnail: %e s, peak RSS %M KB" bin/thumb -in "$img" >/dev/null; done
for i in 1 2 3; do /usr/bin/time -f "vipsthumbnail: %e s, peak RSS %M KB" vipsthumbnail "$img" -s 256x256 --smartcrop centre -o "${img%.jpg}-v.jpg[Q=85,strip]"; done
rm -f "$img" "${img%.jpg}-v.jpg"
echo "== local image classifier (infra/classifier: nsfwjs MobileNetV2 on TensorFlow.js wasm), 600×400 JPEG"
go test -v -run '^$' -bench NSFWClassifierService -benchtime ${cls}x ./moderation/ | grep -E 'Benchmark|loaded|Vm'
echo "== avatar upload → push decrypted"
go test -run '^$' -bench AvatarUploadToPush -benchtime ${push}x ./cmd/trivium | grep Benchmark
echo "== leaderboards: embedded vs Redis engine vs raw Redis ($lbn players)"
TRIVIUM_BENCH_PLAYERS=$lbn go test -run '^$' -bench . -benchtime ${lbx}x -timeout 30m ./leaderboard/ | grep Benchmark
