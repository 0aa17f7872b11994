#!/usr/bin/env bash
# Headless Chromium (Debian's package) for the report test that opens report.html in a browser.
# Skipped quietly when already installed; the test is skipped when chromium is absent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "setup: 60-chromium: not root, skipping (browser tests will be skipped)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
