"""Synthetic run directories with known answers, for tests, benchmarks and trying the reports.

A run is a list of segments per phase; each segment says how the shop behaved for some seconds
(success ratio, latency, cart visibility, whether the consumer consumes, how late the probe
sends). Failures are spread evenly, not drawn at random, so a segment's success ratio is exact;
latencies are log-normal from a fixed seed.

Rows are what the real probe records (bridge/probes/openloop.py): ``sent`` is ``t`` plus the
segment's lateness; an eventual row (``cart_visible``) has the first poll, right after the add
answered, as ``sent`` and the delay from there as ``latency_ms``. An item shows at its natural
delay unless that moment falls while the consumer is stopped (``consuming=False``): then it
shows right after the consumer resumes. One not seen within the visibility bound is recorded as
the probe does — failed, with no delay. So a slow asynchronous path cut by a fault produces the
items "not visible in time" that were added just before the fault.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

T0 = 1_760_000_000.0


@dataclass(frozen=True)
class Profile:
    """How the shop behaves: per-request success, median latency, and cart visibility."""

    success: float = 1.0
    latency_ms: float = 40.0
    answered_failures: bool = False  # failures still answered (e.g. HTTP 500) or timed out
    visible: float = 1.0
    visibility_ms: float = 300.0
    consuming: bool = True  # False: items added meanwhile (or pending) wait until the consumer resumes
    lateness_ms: float = 1.0  # how late the probe sends (sent - t)


HEALTHY = Profile()
DOWN = Profile(success=0.0, visible=0.0)
CONSUMER_STOPPED = Profile(consuming=False)


@dataclass
class Scenario:
    """A whole drill: phases as (seconds, profile) segments, plus what the runner recorded."""

    baseline: list[tuple[float, Profile]] = field(default_factory=lambda: [(60.0, HEALTHY)])
    warmup: list[tuple[float, Profile]] = field(default_factory=list)  # before the baseline, never judged
    fault: list[tuple[float, Profile]] = field(default_factory=lambda: [(30.0, DOWN)])
    recovery: list[tuple[float, Profile]] = field(default_factory=lambda: [(30.0, HEALTHY)])
    rate: float = 10.0  # requests per second per operation
    timeout_s: float = 2.0  # the probe's timeout (unanswered rows end there)
    tolerances: dict[str, Any] | None = None  # run.json tolerances (None: not recorded)
    host_busy_percent: float | None = None  # write host rows into metrics.csv with this CPU busy share
    ops: tuple[str, ...] = ("add_to_cart", "cart_visible")
    inject: str = "confirmed"  # confirmed | failed | none
    recover: str = "confirmed"  # confirmed | failed
    abort_at: float | None = None  # seconds from start: abort event, data stops there
    crash_at: float | None = None  # seconds from start: data stops, no event, last line cut
    gap_s: float = 0.5  # between requested and confirmed
    slo: dict[str, Any] = field(default_factory=lambda: {"success_ratio_min": 0.99, "latency_p95_ms_max": 500})
    expected: str = "strong"
    app: str = "frontend"
    dependency: str = "broker"
    scenario: str = "broker-unavailable"
    channel: str = "rocketmq"  # run.json's channel and probe.csv's mode
    predicted_impact: str | None = "add-to-cart fails while the broker is down"
    protections: list[dict[str, str]] = field(default_factory=list)
    backlog: bool = False
    signatures: bool = False
    seed: int = 7
    t0: float = T0


def _segments(sc: Scenario) -> list[tuple[float, float, Profile]]:
    out, t = [], sc.t0
    for segs in (sc.warmup, sc.baseline, sc.fault, sc.recovery):
        for dur, prof in segs:
            out.append((t, t + dur, prof))
            t += dur
    return out


def _warm(sc: Scenario) -> float:
    return sum(d for d, _ in sc.warmup)


def _events(sc: Scenario) -> list[dict[str, Any]]:
    b = sum(d for d, _ in sc.baseline)
    f = sum(d for d, _ in sc.fault)
    r = sum(d for d, _ in sc.recovery)
    t, g = sc.t0 + _warm(sc), sc.gap_s
    ev: list[dict[str, Any]] = [{"t": sc.t0, "event": "phase", "phase": "warmup"}] if sc.warmup else []
    ev.append({"t": t, "event": "phase", "phase": "baseline"})
    ref = {"engine": "local", "ref": "fault-1"}
    ev.append({"t": t + b, "event": "inject", "state": "requested", **ref})
    if sc.inject == "failed":
        ev.append({"t": t + b + g, "event": "inject", "state": "failed", **ref})
    elif sc.inject == "confirmed":
        ev.append({"t": t + b + g, "event": "inject", "state": "confirmed", **ref})
    ev.append({"t": t + b + g, "event": "phase", "phase": "fault"})
    ev.append({"t": t + b + f, "event": "phase", "phase": "recovery"})
    ev.append({"t": t + b + f, "event": "recover", "state": "requested", **ref})
    ev.append({"t": t + b + f + g, "event": "recover", "state": sc.recover, **ref})
    ev.append({"t": t + b + f + r, "event": "phase", "phase": "done"})
    stop = sc.abort_at if sc.abort_at is not None else sc.crash_at
    if stop is not None:
        ev = [e for e in ev if e["t"] <= sc.t0 + stop]
        if sc.abort_at is not None:
            ev.append({"t": sc.t0 + stop, "event": "abort", "reason": "operator pressed Ctrl-C"})
    return ev


def visibility_bound_s(sc: Scenario) -> float:
    """How long the probe polls for an item (the SLO's visibility_s_max, else the drill default)."""
    return float(sc.slo.get("visibility_s_max") or 5.0)


def _stops(sc: Scenario) -> np.ndarray:
    """(k, 2) array of the spans during which the consumer does not consume, merged."""
    spans: list[list[float]] = []
    for start, end, prof in _segments(sc):
        if prof.consuming:
            continue
        if spans and abs(spans[-1][1] - start) < 1e-9:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return np.array(spans, dtype=np.float64).reshape(-1, 2)


def _shown_at(natural: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """When an item shows: at its natural moment, or just after the consumer resumes."""
    if len(stops) == 0:
        return natural
    k = np.searchsorted(stops[:, 0], natural, side="right") - 1
    inside = (k >= 0) & (natural < stops[np.maximum(k, 0), 1])
    return np.where(inside, stops[np.maximum(k, 0), 1] + 0.05, natural)


def _spread_ok(i: int, n: int, p: float) -> np.ndarray:
    idx = np.arange(i, i + n)
    return np.asarray(np.floor((idx + 1) * (1 - p) + 1e-9) == np.floor(idx * (1 - p) + 1e-9))


def probe_frame(sc: Scenario) -> pl.DataFrame:
    """The probe rows of a scenario (before any cut)."""
    rng = np.random.default_rng(sc.seed)
    add_rng = np.random.default_rng(sc.seed + 1)  # the add before each visibility check
    bound, stops = visibility_bound_s(sc), _stops(sc)
    cols: dict[str, list[Any]] = {k: [] for k in ("t", "sent", "latency_ms", "ok", "op", "status", "error")}
    for op in sc.ops:
        vis = "visible" in op
        i = 0
        for start, end, prof in _segments(sc):
            n = int(round((end - start) * sc.rate))
            t = start + (np.arange(n) + 0.5) / sc.rate
            ok = _spread_ok(i, n, prof.visible if vis else prof.success)
            median = prof.visibility_ms if vis else prof.latency_ms
            lat = np.round(rng.lognormal(math.log(median), 0.25, n), 2)
            sent = t + prof.lateness_ms / 1000.0
            if vis:
                sent = sent + add_rng.lognormal(math.log(prof.latency_ms), 0.25, n) / 1000.0  # the first poll
                delay_ms = np.round((_shown_at(sent + lat / 1000.0, stops) - sent) * 1000.0, 2)
                ok = ok & (delay_ms <= bound * 1000.0)
                lat, answered = delay_ms, ok
                error = np.where(ok, "", f"not visible within {bound:g}s")
            else:
                answered = ok | prof.answered_failures
                error = np.where(ok, "", np.where(answered, "http 500", "timeout, no answer"))
            cols["t"].append(np.round(t, 4))
            cols["sent"].append(np.round(sent, 4))
            cols["latency_ms"].append(np.where(answered, lat, np.nan))
            cols["ok"].append(ok.astype(np.int8))
            cols["op"].append(np.full(n, op))
            cols["status"].append(np.where(ok, "200", np.where(answered & ~np.full(n, vis), "500", "")))
            cols["error"].append(error)
            i += n
    frame = pl.DataFrame({k: np.concatenate(v) for k, v in cols.items()})
    frame = frame.with_columns(pl.col("latency_ms").fill_nan(None), pl.lit(sc.channel).alias("mode"))
    frame = frame.select("t", "sent", "latency_ms", "ok", "op", "mode", "status", "error").sort("t", "op")
    stop = sc.abort_at if sc.abort_at is not None else sc.crash_at
    return frame if stop is None else frame.filter(pl.col("t") < sc.t0 + stop)


def write_run(path: str | Path, sc: Scenario | None = None, *, probes: pl.DataFrame | None = None) -> Path:
    """Write a complete run directory for ``sc`` at ``path``; return the path."""
    sc = sc or Scenario()
    root = Path(path)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    events = _events(sc)
    frame = probes if probes is not None else probe_frame(sc)
    status = "aborted" if sc.abort_at is not None else "completed"
    meta: dict[str, Any] = {
        "schema": "mqdrill.run/v1",
        "run_id": root.name,
        "drill": f"{sc.scenario}-drill",
        "scenario": sc.scenario,
        "causes": ["process-kill"],
        "engine": "local",
        "app": sc.app,
        "dependency": sc.dependency,
        "component": sc.dependency,
        "channel": sc.channel,
        "expected": sc.expected,
        "slo": sc.slo,
        "started_at": sc.t0,
        "status": status,
        "windows": {"baseline_s": 60, "fault_s": 30, "recovery_s": 30},
        "protections": sc.protections,
        "probe": {"rate": sc.rate, "timeout_s": sc.timeout_s, "operations": list(sc.ops)},
    }
    if sc.warmup:
        meta["warmup_s"] = _warm(sc)
    if sc.tolerances is not None:
        meta["tolerances"] = sc.tolerances
    if sc.crash_at is None:
        meta["ended_at"] = events[-1]["t"]
    if sc.predicted_impact is not None:
        meta["predicted_impact"] = sc.predicted_impact
    (root / "run.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    (root / "drill.yaml").write_text(f"scenario: {sc.scenario}\n", encoding="utf-8")
    (root / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    frame.write_csv(root / "probe.csv")
    if sc.crash_at is not None:
        _cut_last_line(root / "probe.csv")
    parts = ([_metrics(sc)] if sc.backlog else []) + ([_host(sc)] if sc.host_busy_percent is not None else [])
    if parts:
        pl.concat(parts).write_csv(root / "metrics.csv")
    if sc.signatures:
        _signatures(sc).write_csv(root / "logs" / "signatures.csv")
    return root


def _cut_last_line(path: Path) -> None:
    data = path.read_bytes()
    if data.endswith(b"\n") and data.count(b"\n") > 1:
        path.write_bytes(data[:-7])


def _metrics(sc: Scenario) -> pl.DataFrame:
    b = sum(d for d, _ in sc.baseline)
    f = sum(d for d, _ in sc.fault)
    total = b + f + sum(d for d, _ in sc.recovery)
    t = np.arange(0, int(total), dtype=np.float64)
    backlog = np.where(
        t < b, 2.0, np.where(t < b + f, (t - b) * sc.rate, np.maximum(2.0, f * sc.rate - (t - b - f) * 40))
    )
    delay = np.where(t < b, 5.0, np.where(t < b + f, (t - b) * 1000.0, np.maximum(5.0, f * 1000 - (t - b - f) * 4000)))
    n = len(t)
    return pl.DataFrame(
        {
            "t": np.concatenate((t, t)) + sc.t0 + _warm(sc),
            "source": ["cartservice"] * (2 * n),
            "name": ["rocketmq_consumer_lag_messages"] * n + ["consume_delay_ms"] * n,
            "value": np.concatenate((backlog, delay)),
            "labels": ['{"group": "cart"}'] * (2 * n),
        }
    )


def _host(sc: Scenario) -> pl.DataFrame:
    """Host rows as bridge.collectors.host writes them, every 2 s over the whole run."""
    total = _warm(sc) + sum(d for segs in (sc.baseline, sc.fault, sc.recovery) for d, _ in segs)
    t = sc.t0 + np.arange(0.0, total, 2.0)
    busy = float(sc.host_busy_percent or 0.0)
    names = {"host_cpu_busy_percent": busy, "host_load1": busy / 50.0, "host_cpus": 2.0}
    return pl.DataFrame(
        {
            "t": np.concatenate([t] * len(names)),
            "source": ["host"] * (len(t) * len(names)),
            "name": [n for n in names for _ in t],
            "value": np.concatenate([np.full(len(t), v) for v in names.values()]),
            "labels": ["{}"] * (len(t) * len(names)),
        }
    )


def _signatures(sc: Scenario) -> pl.DataFrame:
    b = sum(d for d, _ in sc.baseline) + _warm(sc)
    rows = [
        (sc.t0 + 10, "frontend", "WARN slow GC", 1.0),
        (sc.t0 + b + 2, "frontend", "WARN slow GC", 9.0),
        (sc.t0 + b + 3, "frontend", "RemotingConnectException: connect to broker failed", 42.0),
        (sc.t0 + 20, "cartservice", "INFO heartbeat", 5.0),
        (sc.t0 + b + 4, "cartservice", "INFO heartbeat", 2.0),
    ]
    return pl.DataFrame(rows, schema=["t", "source", "signature", "count"], orient="row")


def write_suite(path: str | Path, drills: dict[str, Scenario], *, name: str = "synthetic suite") -> Path:
    """Write a suite directory: suite.json plus one run directory per drill (named by its key)."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    runs = []
    for drill, sc in drills.items():
        write_run(root / drill, sc)
        runs.append({"drill": drill, "run_dir": drill, "status": "aborted" if sc.abort_at is not None else "completed"})
    suite = {
        "schema": "mqdrill.suite/v1",
        "suite_id": root.name,
        "name": name,
        "started_at": T0,
        "ended_at": T0 + 600,
        "status": "completed",
        "runs": runs,
    }
    (root / "suite.json").write_text(json.dumps(suite, indent=2), encoding="utf-8")
    return root
