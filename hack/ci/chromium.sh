#!/usr/bin/env bash
# Ensures Debian's Chromium and CJK fonts (for the Playwright browser tests) are installed; prints its path.
set -euo pipefail
sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
# fonts-noto-cjk: the console shows Chinese text; without it screenshots show empty boxes.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  echo "chromium: installing Debian's chromium and fonts-noto-cjk packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq chromium fonts-noto-cjk >&2
fi
command -v chromium
