#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis that the tests use are answering; start them if not.
# Fails loudly (exit 1) when a service cannot be started: the suite never skips them.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

wait_for() { local what=$1 check=$2; for _ in $(seq 1 30); do $check && return 0; sleep 1; done; echo "FATAL: $what did not start" >&2; exit 1; }

if ! pg_up; then
  echo "PostgreSQL is not answering; starting it" >&2
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  wait_for PostgreSQL pg_up
fi

if ! redis_up; then
  echo "Redis is not answering; starting it" >&2
  if command -v redis-server >/dev/null; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  fi
  wait_for Redis redis_up
fi
echo "PostgreSQL and Redis are up" >&2
