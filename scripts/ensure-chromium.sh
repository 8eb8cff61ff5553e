#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's chromium; install it when we may.
# Without it (and without root to install it) those tests skip and say why.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium not installed and not root: browser tests will skip" >&2
fi
