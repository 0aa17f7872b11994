#!/usr/bin/env bash
# Records the run-directory corpus of tests/analysis/test_recorded_runs.py from real drills on the
# embedded environment, and packs each run as tests/data/runs/<name>.tar.gz.
#   flock /tmp/mqdrill-e2e.lock tests/data/runs/record.sh [OUT_DIR]
# Short windows and a low rate keep each run small. The environment runs on shifted ports with a
# state directory of its own, and is taken down at the end whatever happens.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out=${1:-/tmp/mqdrill-corpus}
export MQDRILL_PORT_OFFSET=${MQDRILL_PORT_OFFSET:-6000}
export MQDRILL_STATE=${MQDRILL_STATE:-/tmp/analysis-state}
export MQDRILL_LEDGER=$out/ledger MQDRILL_REPORTS=$out/reports
front="http://127.0.0.1:$((8080 + MQDRILL_PORT_OFFSET))"
mq() { (cd "$repo" && python -m bridge "$@"); }
drill() {  # name scenario cause expected [params as a YAML flow mapping]
  local params=${5:-"{}"}
  cat > "$out/$1.yaml" <<YAML
apiVersion: mqdrill/v1
kind: Drill
name: $1
scenario: $2
causes: [$3]
engine: local
channel: rocketmq
expected: $4
params: $params
windows: {warmup: 5s, baseline: 20s, fault: 15s, recovery: 30s}
steady_state: {probe: {rate: 10, frontend_url: "$front"}}
YAML
}
rm -rf "$out" && mkdir -p "$out"
trap 'mq env down >/dev/null 2>&1 || true' EXIT
mq env up
drill broker-kill-rocketmq broker-unavailable process-kill strong
drill slow-consumer-rocketmq consumer-backlog network-delay unknown '{latency_ms: 1500, client: cartservice}'
drill busy-machine-broker-kill broker-unavailable process-kill strong
mq run "$out/broker-kill-rocketmq.yaml" --out "$out/broker-kill-rocketmq" --no-report || true
mq run "$out/slow-consumer-rocketmq.yaml" --out "$out/slow-consumer-rocketmq" --no-report || true
stress-ng --cpu 2 --timeout 100s >/dev/null 2>&1 &
stress=$!
mq run "$out/busy-machine-broker-kill.yaml" --out "$out/busy-machine-broker-kill" --no-report || true
kill "$stress" 2>/dev/null || true
wait "$stress" 2>/dev/null || true
for name in broker-kill-rocketmq slow-consumer-rocketmq busy-machine-broker-kill; do
  # Raw service logs are large and not read by the analysis; their signatures stay (logs/signatures.csv).
  find "$out/$name/logs" -name '*.log' -delete
  tar -C "$out" -czf "$here/$name.tar.gz" "$name"
done
ls -la "$here"
