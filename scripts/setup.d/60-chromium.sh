#!/usr/bin/env bash
# Headless Chromium (Debian's package) for the test that opens report.html in a browser
# (tests/analysis/test_browser.py). Quick when already installed. If apt cannot install it,
# setup goes on with a warning and that one test is skipped, saying why.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "setup: 60-chromium: not root; the browser test will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }; then
  echo "setup: 60-chromium: WARNING: apt could not install chromium; the browser test will be skipped" >&2
fi
