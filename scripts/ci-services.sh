#!/usr/bin/env bash
# Start PostgreSQL, Redis and RabbitMQ when they do not answer yet, then wait until each does.
# Called by .ci/run before the tests (which then run with COBPIPE_REQUIRE_SERVICES=1: a test that
# would skip for want of a service fails instead). Safe to run again: a service already answering
# is left alone. Addresses: the tests' defaults (tests/services.py), or COBPIPE_TEST_*_URL.
set -uo pipefail

PG_URL=${COBPIPE_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${COBPIPE_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
AMQP_URL=${COBPIPE_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672//}
WAIT=${COBPIPE_SERVICES_WAIT:-90}
PY=${PYTHON:-$(dirname "$0")/../.venv/bin/python}
[ -x "$PY" ] || PY=python3

pg_ok() { pg_isready -q -d "$PG_URL" 2>/dev/null; }
redis_ok() { [ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" = "PONG" ]; }
amqp_ok() {
  "$PY" - "$AMQP_URL" <<'PY' >/dev/null 2>&1
import sys, kombu
with kombu.Connection(sys.argv[1], connect_timeout=3) as conn:
    conn.ensure_connection(max_retries=1)
PY
}

start_pg() { pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start; }
start_redis() {
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
}
start_amqp() { rabbitmq-server -detached; }

status=0
for name in pg redis amqp; do
  if "${name}_ok"; then
    echo "ci-services: $name already answering"
    continue
  fi
  echo "ci-services: starting $name"
  "start_$name" || echo "ci-services: starting $name failed (exit $?)" >&2
  deadline=$((SECONDS + WAIT))
  until "${name}_ok"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "ci-services: $name does not answer after ${WAIT}s" >&2
      status=1
      break
    fi
    sleep 1
  done
  "${name}_ok" && echo "ci-services: $name answering"
done
exit $status
