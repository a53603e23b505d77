#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded one). Install it when missing;
# fail loudly when it cannot be installed: the suite never skips the browser tests.
set -euo pipefail
CHROMIUM=${TUTORING_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "Chromium is not installed; installing Debian's chromium package" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends chromium >/dev/null; } \
    || true
fi
[ -x "$CHROMIUM" ] || { echo "FATAL: $CHROMIUM is missing and could not be installed" >&2; exit 1; }
echo "Chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" >&2
