"""HTML tables for the report notebooks (plain strings: no pandas in the kernel)."""

from __future__ import annotations

import html
from typing import Any

from bridge.analysis.analyze import Analysis
from bridge.analysis.suite import SuiteData

COLOUR = {"strong": "#f4cccc", "weak": "#d9ead3", "inconclusive": "#fff2cc"}


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th style='text-align:left'>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def verdict_table(a: Analysis) -> str:
    """The verdict with its reasons."""
    rows = []
    for v in a.verdict()["verdicts"]:
        strength = f"<b style='background:{COLOUR.get(v['strength'], '')}'>{_e(v['strength'])}</b>"
        reasons = "<ul>" + "".join(f"<li>{_e(r)}</li>" for r in v["reasons"]) + "</ul>"
        rows.append(
            [
                _e(v["app"]),
                _e(v["dependency"]),
                strength,
                _e(v["recovered"]),
                _e(v["expected"]),
                _e(v["matches_expected"]),
                reasons,
            ]
        )
    return _table(["app", "dependency", "strength", "recovered", "expected", "matches", "reasons"], rows)


def window_table(a: Analysis) -> str:
    """Per window and operation: requests, success with its 95 % interval, latency percentiles."""
    rows = []
    for name, per in a.stats.items():
        for op, s in per.items():
            d = s.summary()
            lo, hi = d["success_ci95"]
            lat = d["latency_ms"]
            ci = f"[{lo:.3f}, {hi:.3f}]" if lo is not None else ""
            ratio = f"{d['success_ratio']:.4f}" if d["success_ratio"] is not None else "-"
            rows.append(
                [
                    _e(name),
                    _e(op),
                    str(s.n),
                    ratio,
                    ci,
                    *(_e(lat[k]) for k in ("p50", "p95", "p99")),
                    "yes" if s.holds else "<b>no</b>",
                ]
            )
    return _table(
        ["window", "operation", "requests", "success", "95 % CI", "p50 ms", "p95 ms", "p99 ms", "holds"], rows
    )


def impact_table(a: Analysis) -> str:
    """What the catalog predicted next to what was observed."""
    predicted = a.run.meta.get("predicted_impact") or "(no prediction recorded)"
    observed = "<br>".join(_e(s) for s in a.observed_impact) or "(nothing measurable)"
    return _table(["predicted", "observed"], [[_e(predicted), observed]])


def protections_table(a: Analysis) -> str:
    """For a strong dependency: the catalog's protections for this scenario (copied into run.json)."""
    if a.decision.strength != "strong":
        return "<p>Not a strong dependency: no protection is required by this drill.</p>"
    prot = a.run.meta.get("protections") or []
    if not prot:
        return "<p>Strong dependency, but run.json lists no protections for this scenario.</p>"
    return _table(
        ["protection", "title", "description"],
        [[_e(p.get("name")), _e(p.get("title")), _e(p.get("description"))] for p in prot if isinstance(p, dict)],
    )


def suite_table(suite: SuiteData) -> str:
    """One row per drill."""
    rows = []
    for r in suite.rows:
        v = r.verdict
        strength = f"<b style='background:{COLOUR.get(str(v.get('strength')), '')}'>{_e(v.get('strength'))}</b>"
        reason = _e((v.get("reasons") or [""])[0])
        rows.append(
            [
                _e(r.drill),
                _e(r.scenario),
                _e(v.get("app")),
                _e(v.get("dependency")),
                strength,
                _e(v.get("recovered")),
                _e(v.get("matches_expected")),
                _e(r.status),
                reason,
            ]
        )
    return _table(
        [
            "drill",
            "scenario",
            "app",
            "dependency",
            "strength",
            "recovered",
            "matches",
            "status",
            "first reason",
        ],
        rows,
    )


def consume_table(a: Analysis) -> str:
    """Peak consume delay and backlog drain, as measured from metrics.csv."""
    rows = []
    peak = a.consume.get("peak_consume_delay")
    if peak:
        rows.append(
            [
                "peak consume delay",
                _e(f"{peak['value']:g} {peak['unit']}"),
                _e(peak["metric"]),
                _e(f"{peak['at_s_after_fault_start']:g} s after the fault started"),
            ]
        )
    backlog = a.consume.get("backlog")
    if backlog:
        drain = backlog["drain_time_s"]
        when = (
            f"drained {drain:g} s after recovery was confirmed"
            if drain is not None
            else ("back at the baseline level" if backlog.get("drained") else "not drained before the run ended")
        )
        rows.append(
            [
                "backlog peak",
                _e(f"{backlog['peak']:g} (baseline {backlog['baseline_level']:g})"),
                _e(backlog["metric"]),
                _e(when),
            ]
        )
    return _table(["figure", "value", "metric", "when"], rows) if rows else ""
