#!/usr/bin/env bash
# loadtest.http drives the service with Debian's wrk (a C load generator: a Python client on this
# 2-core machine would eat the CPU it is measuring). Install it when missing; fail loudly otherwise.
set -euo pipefail
WRK=${TUTORING_WRK:-/usr/bin/wrk}
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ ! -x "$WRK" ]; then
  echo "wrk is not installed; installing Debian's wrk package" >&2
  $SUDO apt-get install -y --no-install-recommends wrk >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends wrk >/dev/null; } \
    || true
fi
[ -x "$WRK" ] || { echo "FATAL: $WRK is missing and could not be installed" >&2; exit 1; }
echo "wrk: $WRK" >&2
