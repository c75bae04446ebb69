#!/bin/sh
# Debian's chromium for the Playwright browser tests and kaleido's PDF charts.
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -eu
if [ -x /usr/bin/chromium ]; then
    echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends chromium || {
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends chromium
}
/usr/bin/chromium --version
