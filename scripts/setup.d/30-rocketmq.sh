#!/usr/bin/env bash
# Apache RocketMQ 5 server jars (namesrv, broker, proxy, tools) from Maven Central into
# $MQDRILL_CACHE/rocketmq/lib, resolved by scripts/rocketmq/pom.xml. Skipped when the jars of
# the pom's version are already there.
set -euo pipefail
pom="$MQDRILL_ROOT/scripts/rocketmq/pom.xml"
lib="$MQDRILL_CACHE/rocketmq/lib"
version="$(sed -n 's:.*<rocketmq.version>\(.*\)</rocketmq.version>.*:\1:p' "$pom")"
stamp="$lib/.resolved-$version"
if [ -f "$stamp" ]; then
  echo "30-rocketmq: RocketMQ $version present"
  exit 0
fi
command -v mvn >/dev/null || { echo "30-rocketmq: Maven missing: apt-get install -y maven" >&2; exit 1; }
rm -rf "$lib"
mkdir -p "$lib"
echo "30-rocketmq: resolving RocketMQ $version from Maven Central"
mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib"
ls "$lib"/rocketmq-proxy-"$version".jar >/dev/null
touch "$stamp"
