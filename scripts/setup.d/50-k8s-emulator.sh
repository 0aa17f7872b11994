#!/usr/bin/env bash
# The Kubernetes API emulator the k8s tests run against: fabric8's kubernetes-server-mock
# (Maven Central) behind a tiny main in tests/k8s_emulator, built with Maven into
# tests/k8s_emulator/target (classes + lib/*.jar). Rebuilt only when its sources change.
# Also kubectl, for rendering the demo-k8s kustomizations in the tests.
set -euo pipefail
cd "$MQDRILL_ROOT/tests/k8s_emulator"
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
fi
# kubectl renders demo-k8s's kustomizations in the manifest tests (Debian's kubernetes-client
# is enough: `kubectl kustomize` is built in).
if ! command -v kubectl >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
fi
stamp="target/.built-$(cat pom.xml $(find src -type f | sort) | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  mvn -B -q package -DskipTests
  rm -f target/.built-*
  touch "$stamp"
fi
