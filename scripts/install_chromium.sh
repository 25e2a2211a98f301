#!/usr/bin/env bash
# Install Debian's chromium (used headless by the dashboard's browser tests) if it is missing.
# Idempotent and quiet: does nothing when /usr/bin/chromium exists. Needs root (or sudo).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "install_chromium.sh: /usr/bin/chromium is missing and this user is not root;" \
      "run 'apt-get install chromium' as root, then retry." >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp -t install-chromium.XXXXXX.log)"
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation; } \
       >"$log" 2>&1; then
  echo "install_chromium.sh: apt-get could not install chromium; see $log" >&2
  exit 1
fi
rm -f "$log"

if [ ! -x /usr/bin/chromium ]; then
  echo "install_chromium.sh: apt-get finished but /usr/bin/chromium is still missing." >&2
  exit 1
fi
