#!/usr/bin/env bash
# The real-component test bed of tests/realk8s: Kubernetes control plane, etcd, kwok, the Chaos
# Mesh controller and the chaosblade-operator, built from source by scripts/testbed/build and
# cached by version in ${MQDRILL_TESTBED_CACHE:-$HOME/.cache/mqdrill/testbed} (outside the clone:
# a fresh clone on the same machine reuses them). Cold: about 35 min on 2 cores (see
# bench/testbed.md); warm: under a second. Skip with MQDRILL_SETUP_SKIP=70-testbed.
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin"
command -v openssl >/dev/null || {
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  else echo "70-testbed: openssl missing: apt-get install -y openssl" >&2; exit 1; fi
}
exec "$MQDRILL_ROOT/scripts/testbed/build"
