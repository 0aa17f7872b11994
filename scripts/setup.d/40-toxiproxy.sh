#!/usr/bin/env bash
# Toxiproxy server built from the Go module proxy into $MQDRILL_CACHE/bin/toxiproxy-server.
set -euo pipefail
# a Go installed from go.dev lives in /usr/local/go, often not on PATH
export PATH="$PATH:/usr/local/go/bin"
version=v2.12.0
bin="$MQDRILL_CACHE/bin"
if [ -x "$bin/toxiproxy-server" ] && [ -f "$bin/.toxiproxy-$version" ]; then
  echo "40-toxiproxy: $version present"
  exit 0
fi
command -v go >/dev/null || { echo "40-toxiproxy: Go missing: apt-get install -y golang-go" >&2; exit 1; }
mkdir -p "$bin"
tmp="$(mktemp -d)"
# toxiproxy v2.12.0 needs Go >= 1.23; an older go fetches that toolchain from the module proxy
GOTOOLCHAIN=auto GOBIN="$tmp" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$version"
mv "$tmp/server" "$bin/toxiproxy-server"
rm -rf "$tmp"
touch "$bin/.toxiproxy-$version"
