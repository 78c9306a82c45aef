#!/usr/bin/env bash
# Starts versitygw (an S3 API over a POSIX directory) on loopback for the S3 blob driver's tests
# and for local compose-free runs. Prints the PID on stdout; logs go to .tmp/versitygw/log.
#
#   PORT        listen port on 127.0.0.1 (default 7070)
#   ACCESS_KEY  S3 access key (default trivium)
#   SECRET_KEY  S3 secret key (default trivium-secret)
#   DATA_DIR    POSIX backend directory; needs xattrs (default .tmp/versitygw/data)
#   EVENT_NATS_URL    optional: publish s3:ObjectCreated events to this NATS server (it must be up
#                     first, else versitygw exits; versitygw also sends an s3:TestEvent at start)
#   EVENT_NATS_TOPIC  subject for those events (default trivium.s3)
#
# Then: TRIVIUM_TEST_S3="s3://trivium-test?endpoint=http://127.0.0.1:7070&path_style=1&access_key=trivium&secret_key=trivium-secret"
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
port=${PORT:-7070}
access=${ACCESS_KEY:-trivium}
secret=${SECRET_KEY:-trivium-secret}
state=$root/.tmp/versitygw
data=${DATA_DIR:-$state/data}
bin=$root/.tmp/bin/versitygw

if [[ ! -x $bin ]]; then
	echo "installing versitygw v1.8.0 into .tmp/bin (first build takes ~80 s)" >&2
	GOBIN=$root/.tmp/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

mkdir -p "$state" "$data"

# Global flags must precede "posix DIR": after it versitygw silently ignores them.
args=(--port "127.0.0.1:$port" --access "$access" --secret "$secret" --health /health)
if [[ -n ${EVENT_NATS_URL:-} ]]; then
	args+=(--event-nats-url "$EVENT_NATS_URL" --event-nats-topic "${EVENT_NATS_TOPIC:-trivium.s3}")
fi

if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
	echo "something already answers on 127.0.0.1:$port/health; stop it or set PORT" >&2
	exit 1
fi

nohup "$bin" "${args[@]}" posix "$data" >"$state/log" 2>&1 &
pid=$!

for _ in $(seq 1 100); do
	if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
		echo "$pid"
		exit 0
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "versitygw exited; see $state/log:" >&2
		tail -n 20 "$state/log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "versitygw did not answer /health on port $port within 10 s; see $state/log" >&2
kill "$pid" 2>/dev/null || true
exit 1
