#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded one). Install it when missing;
# fail loudly when it cannot be installed: the suite never skips the browser tests.
set -euo pipefail
CHROMIUM=${TUTORING_CHROMIUM:-/usr/bin/chromium}
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ ! -x "$CHROMIUM" ]; then
  echo "Chromium is not installed; installing Debian's chromium package" >&2
  $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends chromium >/dev/null; } \
    || true
fi
# Chinese fonts, so that screenshots show Chinese text (best effort: the tests do not need them).
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=zh 2>/dev/null | head -n1)" ]; then
  ${SUDO:-} apt-get install -y --no-install-recommends fonts-noto-cjk >/dev/null 2>&1 || echo "note: fonts-noto-cjk not installed" >&2
fi
[ -x "$CHROMIUM" ] || { echo "FATAL: $CHROMIUM is missing and could not be installed" >&2; exit 1; }
echo "Chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" >&2
