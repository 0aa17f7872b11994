"""The machine is part of the evidence: the probe's own lateness and the host's load, per window.

- **Lateness** is ``sent - t`` of the rows that start a flow (request-response operations: an
  eventual row's ``sent`` is its first poll, after the add answered, so it says nothing about the
  schedule). A probe late by more than ``probe_lateness_ms_max`` (p95) in the baseline or the
  fault window could not keep its schedule: its figures describe its own starved machine, so the
  verdict is inconclusive and says so in those words.
- **Host load** comes from ``metrics.csv`` rows of source ``host`` (bridge.collectors.host): CPU
  busy share and load average. When the baseline broke while the host was saturated (mean CPU
  busy at least :data:`SATURATED_BUSY_PERCENT`), the verdict blames the machine, not the
  application.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from bridge.analysis.judge import Decision
from bridge.analysis.slo import is_visibility_op
from bridge.analysis.windows import Window, Windows

SATURATED_BUSY_PERCENT = 90.0
JUDGED = ("baseline", "fault")


@dataclass(frozen=True)
class Lateness:
    n: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "p50": _r(self.p50_ms),
            "p95": _r(self.p95_ms),
            "p99": _r(self.p99_ms),
            "max": _r(self.max_ms),
        }


@dataclass(frozen=True)
class HostLoad:
    samples: int
    cpu_busy_mean: float
    cpu_busy_max: float
    load1_mean: float
    cpus: float

    @property
    def saturated(self) -> bool:
        return not math.isnan(self.cpu_busy_mean) and self.cpu_busy_mean >= SATURATED_BUSY_PERCENT

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "cpu_busy_percent_mean": _r(self.cpu_busy_mean),
            "cpu_busy_percent_max": _r(self.cpu_busy_max),
            "load1_mean": _r(self.load1_mean),
            "cpus": _r(self.cpus),
            "saturated": self.saturated,
        }

    def sentence(self) -> str:
        busy = f"CPU {self.cpu_busy_mean:.0f} % busy"
        if math.isnan(self.load1_mean):
            return busy
        return f"{busy}, load average {self.load1_mean:.1f} on {self.cpus:.0f} CPU(s)"


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(float(x), 3)


def lateness(probes: pl.DataFrame, windows: list[Window]) -> dict[str, Lateness]:
    """Per window (by intended time ``t``): the send lateness of the rows that start a flow.

    Counted per whole millisecond (one grouped pass, no sort of the rows, no copy of them), so the
    quantiles are exact to 1 ms and independent of row order."""
    if probes.height == 0 or "sent" not in probes.columns or not windows:
        return {}
    flow_ops = [op for op in probes["op"].unique().to_list() if op is not None and not is_visibility_op(str(op))]
    if not flow_ops:
        return {}
    t = pl.col("t")
    which: pl.Expr = pl.lit(None, pl.Int32)
    for i, w in reversed(list(enumerate(windows))):
        which = pl.when((t >= w.start) & (t < w.end)).then(pl.lit(i, pl.Int32)).otherwise(which)
    ms = ((pl.col("sent") - t) * 1000.0).clip(lower_bound=0.0).round(0).cast(pl.Int64)
    counts = (
        probes.lazy()
        .filter(pl.col("op").is_in(flow_ops) & pl.col("sent").is_not_null())
        .select(which.alias("w"), ms.alias("ms"))
        .drop_nulls("w")
        .group_by("w", "ms")
        .len()
        .sort("w", "ms")
        .collect()
    )
    out: dict[str, Lateness] = {}
    for (i,), part in counts.group_by("w", maintain_order=True):
        values, n = part["ms"].to_numpy(), part["len"].to_numpy()
        cum = np.cumsum(n)
        total = int(cum[-1])
        p50, p95, p99 = (float(values[np.searchsorted(cum, math.ceil(q * total - 1e-9))]) for q in (0.5, 0.95, 0.99))
        out[windows[int(i)].name] = Lateness(total, p50, p95, p99, float(values[-1]))
    return out


def host_load(metrics: pl.DataFrame, windows: list[Window]) -> dict[str, HostLoad]:
    """Per window: the host's CPU busy share and load average, when the run recorded them."""
    if metrics.height == 0 or "source" not in metrics.columns:
        return {}
    host = metrics.filter(pl.col("source") == "host")
    if host.height == 0:
        return {}
    out: dict[str, HostLoad] = {}
    for w in windows:
        part = host.filter((pl.col("t") >= w.start) & (pl.col("t") < w.end))
        busy = part.filter(pl.col("name") == "host_cpu_busy_percent")["value"]
        if busy.len() == 0:
            continue
        load = part.filter(pl.col("name") == "host_load1")["value"]
        cpus = part.filter(pl.col("name") == "host_cpus")["value"]
        out[w.name] = HostLoad(
            busy.len(),
            float(busy.mean()),  # type: ignore[arg-type]
            float(busy.max()),  # type: ignore[arg-type]
            float(load.mean()) if load.len() else math.nan,  # type: ignore[arg-type]
            float(cpus.max()) if cpus.len() else math.nan,  # type: ignore[arg-type]
        )
    return out


def overrule(
    decision: Decision,
    late: dict[str, Lateness],
    load: dict[str, HostLoad],
    *,
    lateness_ms_max: float,
    baseline_broke: bool,
) -> Decision:
    """The verdict once the machine is taken into account (unchanged when the machine kept up)."""
    slow = [(name, late[name]) for name in JUDGED if name in late and late[name].p95_ms > lateness_ms_max]
    if slow:
        parts = [f"by {x.p95_ms:.0f} ms (p95; worst {x.max_ms:.0f} ms) in the {name} window" for name, x in slow]
        reason = (
            "The probe could not keep its schedule: the probe was late "
            + " and ".join(parts)
            + f", more than the {lateness_ms_max:g} ms it may be, so its figures describe its own machine, "
            "not the application."
        )
        reason += _load_clause(load, [name for name, _ in slow])
        kept = list(decision.reasons) if decision.strength == "inconclusive" else []
        return replace(decision, strength="inconclusive", recovered=None, reasons=[reason, *kept])
    base = load.get("baseline")
    if baseline_broke and decision.strength == "inconclusive" and base is not None and base.saturated:
        reason = (
            f"The baseline broke while the host was saturated: the host's load was {base.sentence()} "
            "during the baseline, so the machine, not the application, may be to blame; run the drill "
            "on a quieter machine."
        )
        return replace(decision, reasons=[reason, *decision.reasons])
    return decision


def _load_clause(load: dict[str, HostLoad], names: list[str]) -> str:
    busy = [f"{load[n].sentence()} in the {n} window" for n in names if n in load]
    return (" The host's load was " + "; ".join(busy) + ".") if busy else ""


def evidence(late: dict[str, Lateness], load: dict[str, HostLoad], w: Windows) -> dict[str, Any]:
    return {
        "probe_lateness_ms": {name: x.as_dict() for name, x in late.items()},
        "host": {name: x.as_dict() for name, x in load.items()},
        "warmup": None if w.warmup is None else {"start": w.warmup.start, "end": w.warmup.end},
    }


def saturated_preflight_note(busy_percent: float, load1: float, cpus: float) -> str | None:
    """What a refused preflight adds when the host was saturated while it checked (the verdict's
    rule, :data:`SATURATED_BUSY_PERCENT`); None when the host kept up."""
    load = HostLoad(1, busy_percent, busy_percent, load1, cpus)
    if not load.saturated:
        return None
    return (
        f"the host was saturated while it checked ({load.sentence()}), so the machine, not the "
        "application, may be to blame; run the drill on a quieter machine"
    )
