#!/usr/bin/env bash
# A real Prometheus server for the embedded environment (it scrapes the demo applications and
# the broker's exporter; the `prometheus` probe kind queries it). Debian 12 ships 2.42.
set -euo pipefail
if command -v prometheus >/dev/null; then
  echo "21-prometheus: present ($(prometheus --version 2>&1 | head -1))"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "21-prometheus: missing; run as root or: sudo apt-get install -y --no-install-recommends prometheus" >&2
  exit 1
fi
echo "21-prometheus: installing prometheus"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# the package's post-install starts no daemon here (no systemd); the environment runs its own on loopback
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
