#!/usr/bin/env bash
# Makes sure the real services the integration tests talk to are up on loopback, starting any that
# is not, then prints the TRIVIUM_TEST_* variables to eval. Used by `make test` and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432 && command -v pg_ctlcluster >/dev/null; then
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >&2 || true
fi
if ! up 6379 && command -v redis-server >/dev/null; then
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >&2 || true
fi
if ! up 4222 && [ -x /usr/sbin/nats-server ]; then
	mkdir -p /var/lib/nats-server
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
		-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log >&2 || true
fi
if ! curl -fsS http://127.0.0.1:7070/health >/dev/null 2>&1; then
	infra/versitygw.sh >/dev/null
fi
for port in 5432 6379 4222; do
	for _ in $(seq 1 100); do up "$port" && break; sleep 0.1; done
	up "$port" || { echo "service on 127.0.0.1:$port is not up" >&2; exit 1; }
done

cat <<VARS
export TRIVIUM_TEST_POSTGRES="${TRIVIUM_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export TRIVIUM_TEST_REDIS="${TRIVIUM_TEST_REDIS:-redis://127.0.0.1:6379/15}"
export TRIVIUM_TEST_NATS="${TRIVIUM_TEST_NATS:-nats://127.0.0.1:4222}"
export TRIVIUM_TEST_S3="${TRIVIUM_TEST_S3:-s3://trivium-test?endpoint=http://127.0.0.1:7070&path_style=1&access_key=trivium&secret_key=trivium-secret}"
VARS
