#!/usr/bin/env bash
# Debian packages the embedded environment needs: Java 17 and Maven (RocketMQ), Go (Toxiproxy
# build), redis-server (carts), iptables (network-drop faults), stress-ng (CPU faults).
# Quick when everything is present: apt is only touched for what is missing.
set -euo pipefail
# a Go installed from go.dev lives in /usr/local/go, often not on PATH
export PATH="$PATH:/usr/local/go/bin"
need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v go >/dev/null || need+=(golang-go)
command -v redis-server >/dev/null || need+=(redis-server)
command -v iptables >/dev/null || need+=(iptables)
command -v stress-ng >/dev/null || need+=(stress-ng)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -eq 0 ]; then
  echo "20-debian: all present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "20-debian: missing ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "20-debian: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
