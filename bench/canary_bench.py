"""Benchmark: what the rocketmq-canary itself adds to the broker.

In one fresh embedded environment (own state dir, shifted ports), the canary runs at several
rates on ``T_ORDER`` (tag ``mqdrill-canary``, its own group) through the real proxy, and the
broker's own exporter says what reached it: messages in and out per second on ``T_ORDER``
(``rocketmq_messages_in_total`` / ``rocketmq_messages_out_total``), and the broker JVM's CPU
from ``/proc``. The floor is measured in the same run: the same span with no canary (only the
environment's own background: heartbeats, the orders health check). Also per rate: the sends
the canary achieved per second, its send latency and delivery delay (p50, p99).

Run (it starts RocketMQ: take the machine-wide lock)::

    flock /tmp/mqdrill-e2e.lock .venv/bin/python bench/canary_bench.py

Writes ``bench/results/canary.json``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bridge.env import EnvConfig, down, procs, services, up
from bridge.env.config import DEFAULT_PORTS, REPO_ROOT
from bridge.probes.host import ProbeHost
from bridge.probes.rows import ProbeRow
from bridge.probes.stats import LiveStats
from bridge.spec.loader import parse_document

RATES = (10.0, 50.0, 200.0)
SPAN_S = 15.0
TOPIC = "T_ORDER"


def _offset() -> int:
    for offset in (5000, 6000, 7000):
        if not any(services.port_open(p + offset, 0.2) for p in DEFAULT_PORTS.values()):
            return offset
    raise SystemExit("no free port layout")


def _broker_counts(cfg: EnvConfig) -> dict[str, float]:
    """Messages in and out on TOPIC so far, from the broker's exporter."""
    text = urllib.request.urlopen(f"{cfg.url('broker_metrics')}/metrics", timeout=5).read().decode()
    out = {"in": 0.0, "out": 0.0}
    for line in text.splitlines():
        for key, name in (("in", "rocketmq_messages_in_total{"), ("out", "rocketmq_messages_out_total{")):
            if line.startswith(name) and f'topic="{TOPIC}"' in line:
                out[key] += float(line.rsplit(" ", 1)[1])
    return out


def _cpu_s(cfg: EnvConfig) -> float:
    proc = services.running(cfg, "broker")
    cpu = procs.cpu_seconds(proc.pid) if proc is not None else None
    assert cpu is not None, "the broker is not running"
    return cpu


class Rows:
    def __init__(self) -> None:
        self.rows: list[ProbeRow] = []

    def write(self, row: ProbeRow) -> None:
        self.rows.append(row)


def _canary(cfg: EnvConfig, rate: float) -> list[ProbeRow]:
    import asyncio

    text = f"""
apiVersion: mqdrill/v1
kind: Drill
scenario: broker-unavailable
steady_state:
  probes:
    - kind: rocketmq-canary
      name: canary
      endpoint: 127.0.0.1:{cfg.port("tp_frontend")}
      topic: {TOPIC}
      rate: {rate}
"""
    drill = parse_document(text, "bench")
    sink = Rows()
    probes = list(drill.steady_state.probes)  # type: ignore[union-attr]
    host = ProbeHost(probes, run_id=f"bench-{rate:g}", channel="rocketmq", stats=LiveStats(), sink=sink)

    async def main() -> None:
        task = asyncio.create_task(host.run(on_ready=lambda _f, e: None))
        await asyncio.sleep(SPAN_S)
        host.request_stop()
        await task

    asyncio.run(main())
    return sink.rows


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1)


def _measure(cfg: EnvConfig, rate: float | None) -> dict[str, Any]:
    before, cpu0, t0 = _broker_counts(cfg), _cpu_s(cfg), time.monotonic()
    rows = _canary(cfg, rate) if rate is not None else (time.sleep(SPAN_S) or [])
    time.sleep(2)  # the exporter's counters and the last deliveries settle
    after, cpu1, t1 = _broker_counts(cfg), _cpu_s(cfg), time.monotonic()
    span = t1 - t0
    sends = [r for r in rows if r.op == "canary_send"]
    deliveries = [r for r in rows if r.op == "canary_delivery"]
    return {
        "rate": rate,
        "span_s": round(span, 1),
        "broker_in_per_s": round((after["in"] - before["in"]) / span, 2),
        "broker_out_per_s": round((after["out"] - before["out"]) / span, 2),
        "broker_cpu_percent": round(100 * (cpu1 - cpu0) / span, 1),
        "sends_per_s": round(sum(r.ok for r in sends) / SPAN_S, 2) if rate is not None else 0.0,
        "send_ok": sum(r.ok for r in sends),
        "send_failed": sum(not r.ok for r in sends),
        "delivered_ok": sum(r.ok for r in deliveries),
        "send_ms_p50": _q([r.latency_ms for r in sends if r.latency_ms is not None], 0.5),
        "send_ms_p99": _q([r.latency_ms for r in sends if r.latency_ms is not None], 0.99),
        "delivery_ms_p50": _q([r.latency_ms for r in deliveries if r.latency_ms is not None], 0.5),
        "delivery_ms_p99": _q([r.latency_ms for r in deliveries if r.latency_ms is not None], 0.99),
    }


def main() -> None:
    state = Path(tempfile.mkdtemp(prefix="mqdrill-canary-bench-"))
    cache = Path(os.environ.get("MQDRILL_CACHE") or REPO_ROOT / ".cache").resolve()
    cfg = EnvConfig(state_dir=state, cache_dir=cache, port_offset=_offset())
    results: list[dict[str, Any]] = []
    try:
        up(cfg, say=lambda line: print(line, file=sys.stderr))
        results.append({"case": "floor: no canary", **_measure(cfg, None)})
        for rate in RATES:
            results.append({"case": f"canary at {rate:g} msg/s", **_measure(cfg, rate)})
            print(json.dumps(results[-1]), file=sys.stderr)
    finally:
        down(cfg)
    floor = results[0]
    for r in results[1:]:
        r["added_in_per_s"] = round(r["broker_in_per_s"] - floor["broker_in_per_s"], 2)
        r["added_cpu_percent"] = round(r["broker_cpu_percent"] - floor["broker_cpu_percent"], 1)
    out = {
        "bench": "canary",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "span_s": SPAN_S,
        "results": results,
    }
    path = REPO_ROOT / "bench" / "results" / "canary.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
