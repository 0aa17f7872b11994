"""Matplotlib figures for the report notebooks (imported only by notebooks: matplotlib is slow to load)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from bridge.analysis.analyze import Analysis
from bridge.analysis.history import Record, changes, label, series
from bridge.analysis.suite import SuiteData, dependency_matrix
from bridge.analysis.timeline import consume_series, markers, origin, per_second

SHADE = {"baseline": "#d9ead3", "fault": "#f4cccc", "recovery": "#cfe2f3"}
STRENGTH_COLOUR = {"strong": "#e06666", "weak": "#93c47d", "inconclusive": "#ffd966"}


def _decorate(ax: Axes, a: Analysis, legend_windows: bool = False) -> None:
    t0 = origin(a)
    for w in a.windows.all():
        ax.axvspan(
            w.start - t0,
            w.end - t0,
            color=SHADE[w.name],
            alpha=0.6,
            lw=0,
            label=w.name if legend_windows else None,
        )
    for name, s in markers(a).items():
        style = "--" if "requested" in name else "-"
        ax.axvline(s, color="#444444", ls=style, lw=0.8)


def timeline(a: Analysis) -> Figure:
    """Success ratio and latency percentiles per second, windows shaded, inject/recover marked."""
    data = per_second(a)
    ops = [op for op in a.ops if not a.slo.is_delay(op)] or a.ops
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
    _decorate(top, a, legend_windows=True)
    _decorate(bottom, a)
    for op in a.ops:
        rows = data.filter(pl.col("op") == op)
        top.plot(rows["s"].to_numpy(), rows["success_ratio"].to_numpy(), lw=1.2, label=op)
    top.axhline(a.slo.success_ratio_min, color="red", lw=0.8, ls=":", label="objective")
    top.set_ylabel("success ratio")
    top.set_ylim(-0.05, 1.05)
    top.legend(loc="lower left", fontsize=7, ncol=4)
    for op in ops:
        rows = data.filter(pl.col("op") == op)
        for q, ls in (("p50", ":"), ("p95", "-"), ("p99", "--")):
            bottom.plot(rows["s"].to_numpy(), rows[q].to_numpy(), ls=ls, lw=1.0, label=f"{op} {q}")
    bottom.axhline(a.slo.latency_p95_ms_max, color="red", lw=0.8, ls=":", label="p95 objective")
    bottom.set_ylabel("latency (ms)")
    bottom.set_yscale("symlog", linthresh=10)
    bottom.set_xlabel("seconds since the baseline started (dashed: requested, solid: confirmed)")
    bottom.legend(loc="upper left", fontsize=7, ncol=4)
    fig.tight_layout()
    return fig


def visibility(a: Analysis) -> Figure | None:
    """Cart-visibility delay per second, with its limit when the SLO sets one."""
    ops = [op for op in a.ops if a.slo.is_delay(op)]
    if not ops:
        return None
    data = per_second(a)
    fig, ax = plt.subplots(figsize=(10, 2.8))
    _decorate(ax, a)
    for op in ops:
        rows = data.filter(pl.col("op") == op)
        for q in ("p50", "p95"):
            ax.plot(rows["s"].to_numpy(), rows[q].to_numpy() / 1000.0, lw=1.0, label=f"{op} {q}")
    bound = a.slo.for_op(ops[0]).visibility_s_max  # the first eventual operation's own bound
    if bound is not None:
        ax.axhline(bound, color="red", lw=0.8, ls=":", label="visibility limit")
    ax.set_ylabel("visibility delay (s)")
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return fig


def consume(a: Analysis) -> Figure | None:
    """Consume delay and backlog from metrics.csv, if the run collected them."""
    series = consume_series(a)
    if not series:
        return None
    fig, axes = plt.subplots(len(series), 1, figsize=(10, 2.4 * len(series)), sharex=True, squeeze=False)
    for ax, (key, (name, unit, frame)) in zip(axes[:, 0], sorted(series.items()), strict=True):
        _decorate(ax, a)
        ax.plot(frame["s"].to_numpy(), frame["value"].to_numpy(), lw=1.2)
        ax.set_ylabel(f"{key} ({unit})" if unit else key)
        ax.set_title(name, fontsize=8, loc="left")
    fig.tight_layout()
    return fig


def signatures(a: Analysis) -> Figure | None:
    """Error signatures that appeared or grew during the fault: counts per second, baseline vs fault."""
    if not a.signatures:
        return None
    items = a.signatures[:10]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(items) + 1.0))
    labels = [f"{s['source']}: {s['signature'][:60]} ({s['change']})" for s in items]
    ys = list(range(len(items)))
    ax.barh(
        [y + 0.2 for y in ys],
        [s["baseline_per_s"] for s in items],
        height=0.4,
        label="baseline",
        color="#93c47d",
    )
    ax.barh([y - 0.2 for y in ys], [s["fault_per_s"] for s in items], height=0.4, label="fault", color="#e06666")
    ax.set_yticks(ys, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("occurrences per second")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def matrix(suite: SuiteData) -> Figure | None:
    """Applications x components, coloured by the strongest conclusive verdict across scenarios."""
    apps, comps, cells = dependency_matrix(suite)
    if not apps:
        return None
    fig, ax = plt.subplots(figsize=(1.8 + 1.9 * len(comps), 0.9 + 0.8 * len(apps)))
    for i, app in enumerate(apps):
        for j, comp in enumerate(comps):
            cell = cells.get((app, comp))
            colour = STRENGTH_COLOUR.get(cell["strength"], "#eeeeee") if cell else "#f5f5f5"
            ax.add_patch(Rectangle((j, i), 1, 1, color=colour, ec="white", lw=2))
            text = f"{cell['strength']}\n{_tally(cell['scenarios'])}" if cell else "-"
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=8)
    ax.set_xlim(0, len(comps))
    ax.set_ylim(len(apps), 0)
    ax.set_xticks([j + 0.5 for j in range(len(comps))], comps)
    ax.set_yticks([i + 0.5 for i in range(len(apps))], apps)
    ax.set_xlabel("middleware component")
    ax.set_ylabel("application")
    ax.tick_params(length=0)
    fig.tight_layout()
    return fig


def _tally(scenarios: list[str]) -> str:
    """``"scenario: strength"`` entries -> "2 strong, 1 weak" (strongest first)."""
    counts = Counter(s.rsplit(": ", 1)[-1] for s in scenarios)
    order = ("strong", "weak", "inconclusive")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))


def history(records: list[Record]) -> Figure | None:
    """One line per (app, dependency, scenario): its verdicts over time; a weak → strong step is marked."""
    lines = series(records)
    if not lines:
        return None
    levels = {"weak": 0, "inconclusive": 1, "strong": 2}
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.35 * len(lines)))
    regressions = {(c.after.key, c.after.run_id) for c in changes(records) if c.regression}
    for n, (key, recs) in enumerate(sorted(lines.items())):
        xs = [
            float(mdates.date2num(datetime.fromisoformat(r.started_at.replace("Z", "+00:00"))))  # type: ignore[no-untyped-call]
            for r in recs
            if r.started_at
        ]
        ys = [n + 0.25 * (levels.get(r.strength, 1) - 1) for r in recs if r.started_at]
        ax.plot(xs, ys, color="#999999", lw=0.8)
        for x, y, r in zip(xs, ys, [r for r in recs if r.started_at], strict=True):
            ax.scatter([x], [y], color=STRENGTH_COLOUR.get(r.strength, "#cccccc"), s=30, zorder=3)
            if (key, r.run_id) in regressions:
                ax.annotate("regression", (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7, color="red")
    ax.set_yticks(range(len(lines)), [label(k) for k in sorted(lines)])
    ax.set_ylim(-0.6, len(lines) - 0.4)
    ax.xaxis_date()
    ax.set_xlabel("when the drill ran (dots: weak low, strong high in each row)")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
