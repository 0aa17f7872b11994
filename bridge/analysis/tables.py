"""HTML tables for the report notebooks (plain strings: no pandas in the kernel).

People read these: operations and metrics in plain words with the raw name on hover (``title``),
ratios as percentages, milliseconds without decimals. Elements the browser test looks for carry
``mq-*`` classes and ``data-verdict`` attributes.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from bridge.analysis.analyze import Analysis
from bridge.analysis.headline import drill_headline, suite_headline
from bridge.analysis.suite import SuiteData, dependency_matrix
from bridge.analysis.wording import (
    metric_words,
    ms,
    op_words,
    pct,
    plain_sentence,
    quantile_words,
    seconds,
    yes_no,
)

COLOUR = {"strong": "#f4cccc", "weak": "#d9ead3", "inconclusive": "#fff2cc"}


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th style='text-align:left'>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in r) + "</tr>" for r in rows)
    klass = f" class='{cls}'" if cls else ""
    return f"<table{klass}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _named(plain: str, raw: str) -> str:
    """The plain word, with the raw name on hover."""
    return f"<span title='{_e(raw)}'>{_e(plain)}</span>" if plain != raw else _e(plain)


def _plain(sentence: str, ops: list[str]) -> str:
    """An analysis sentence, escaped, with percentages rounded and operation names in words (raw on hover)."""
    return plain_sentence(_e(sentence), ops, wrap=lambda plain, raw: f"<span title='{raw}'>{plain}</span>")


def _strength(s: Any) -> str:
    return f"<b style='background:{COLOUR.get(str(s), '')};padding:0 .3em'>{_e(s)}</b>"


def headline(a: Analysis) -> str:
    """The drill report's first screen: the verdict in one sentence with its key figures."""
    entry = a.verdict()["verdicts"][0]
    h = drill_headline(entry, a.run.meta)
    verdict, _, rest = h.sentence.partition(": ")
    return (
        f"<div class='mq-headline' data-verdict='{_e(h.strength)}' style='font-size:1.35em;margin:.4em 0'>"
        f"{_strength(verdict)}: {_e(rest)}</div><p class='mq-expectation'>{_e(h.expectation)}</p>"
    )


def suite_summary(suite: SuiteData) -> str:
    """The suite report's first screen: how many drills matched, and one table of those that did not."""
    h = suite_headline(suite)
    out = f"<div class='mq-headline' style='font-size:1.35em;margin:.4em 0'>{_e(h.sentence)}</div>"
    if not h.others:
        return out
    rows = [
        [
            f"<a href='{_e(r.report_link)}' style='white-space:nowrap'>{_e(r.drill)}</a>",
            _e(r.scenario),
            _e(_dependency(r.verdict, r.component, r.channel)),
            _e(r.verdict.get("expected")),
            _strength(hl.strength),
            _e(hl.sentence.partition(": ")[2]),
        ]
        for r, hl in h.others
    ]
    table = _table(["drill", "scenario", "app → component (channel)", "expected", "verdict", "why"], rows, "mq-others")
    return out + table


def _dependency(v: dict[str, Any], component: str, channel: str) -> str:
    return f"{v.get('app', '?')} → {component or v.get('dependency', '?')}" + (f" ({channel})" if channel else "")


def matrix_table(suite: SuiteData) -> str:
    """Applications × component × channel; each cell its verdict, inconclusive drills counted, links to reports."""
    m = dependency_matrix(suite)
    if not m.apps:
        return "<p><i>No drill in this suite could be read.</i></p>"
    comps: dict[str, int] = {}
    for comp, _ in m.columns:
        comps[comp] = comps.get(comp, 0) + 1
    top = "<th></th>" + "".join(f"<th colspan='{n}' style='text-align:center'>{_e(c)}</th>" for c, n in comps.items())
    sub = "<th>application</th>" + "".join(
        f"<th style='text-align:center;font-weight:normal'>via {_e(ch or '?')}</th>" for _, ch in m.columns
    )
    body = []
    for app in m.apps:
        tds = [f"<th style='text-align:left'>{_e(app)}</th>"]
        for comp, ch in m.columns:
            cell = m.cell(app, comp, ch)
            if cell is None:
                tds.append("<td class='mq-cell' data-verdict='' style='text-align:center;color:#999'>not drilled</td>")
                continue
            links = "<br>".join(f"<a href='{_e(d.link)}'>{_e(d.drill)}</a>: {_e(d.strength)}" for d in cell.drills)
            border = "2px dashed #bf9000" if cell.inconclusive and cell.verdict != "inconclusive" else "1px solid #fff"
            tds.append(
                f"<td class='mq-cell' data-verdict='{_e(cell.verdict)}' data-app='{_e(app)}' "
                f"data-component='{_e(comp)}' data-channel='{_e(ch)}' "
                f"style='background:{COLOUR.get(cell.verdict, '')};border:{border};padding:.4em .8em;"
                f"text-align:center;vertical-align:top'><b>{_e(cell.label)}</b><br><small>{links}</small></td>"
            )
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table class='mq-matrix'><thead><tr>{top}</tr><tr>{sub}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def verdict_table(a: Analysis) -> str:
    """The verdict with its reasons."""
    rows = []
    for v in a.verdict()["verdicts"]:
        reasons = "<ul>" + "".join(f"<li>{_plain(r, a.ops)}</li>" for r in v["reasons"]) + "</ul>"
        recovered = yes_no(v["recovered"]).replace("–", "not judged")
        rows.append(
            [
                _e(v["app"]),
                _e(v["dependency"]),
                _strength(v["strength"]),
                _e(recovered),
                _e(v["expected"]),
                _e(yes_no(v["matches_expected"])),
                reasons,
            ]
        )
    return _table(["app", "dependency", "verdict", "recovered", "expected", "as expected", "reasons"], rows)


def window_table(a: Analysis) -> str:
    """Per window and operation: requests, success with its 95 % interval, latency percentiles."""
    rows = []
    for name, per in a.stats.items():
        for op, s in per.items():
            d = s.summary()
            lo, hi = d["success_ci95"]
            lat = d["latency_ms"]
            rows.append(
                [
                    _e(name),
                    _named(op_words(op), op),
                    f"{s.n:,}",
                    _e(pct(d["success_ratio"])),
                    _e(f"{pct(lo)} – {pct(hi)}") if lo is not None else "",
                    *(_e(ms(lat[k])) for k in ("p50", "p95", "p99")),
                    "yes" if s.holds else "<b>no</b>",
                ]
            )
    head = ["window", "operation", "requests", "successful", "95 % interval"]
    head += [f"<span title='{q} (ms)'>{quantile_words(q)}</span>" for q in ("p50", "p95", "p99")]
    return _table([*head, "objectives held"], rows)


def impact_table(a: Analysis) -> str:
    """What the catalog predicted next to what was observed."""
    predicted = a.run.meta.get("predicted_impact") or "(no prediction recorded)"
    observed = "<br>".join(_plain(s, a.ops) for s in a.observed_impact) or "(nothing measurable)"
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
    """One row per drill, each linked to its report."""
    rows = []
    for r in suite.rows:
        v = r.verdict
        recovered = yes_no(v.get("recovered")).replace("–", "not judged")
        rows.append(
            [
                f"<a href='{_e(r.report_link)}' style='white-space:nowrap'>{_e(r.drill)}</a>",
                _e(r.scenario),
                _e(_dependency(v, r.component, r.channel)),
                _strength(v.get("strength")),
                _e(recovered),
                _e(v.get("expected")),
                _e(yes_no(v.get("matches_expected"))),
                _e(r.status),
                _e(drill_headline(v, r.meta).sentence.partition(": ")[2]),
            ]
        )
    head = ["drill", "scenario", "app → component (channel)", "verdict", "recovered", "expected", "as expected"]
    return _table([*head, "status", "in one sentence"], rows, "mq-drills")


def consume_table(a: Analysis) -> str:
    """Peak consume delay and backlog drain, as measured from metrics.csv (raw metric name on hover)."""
    rows = []
    peak = a.consume.get("peak_consume_delay")
    if peak:
        value = ms(peak["value"]) if peak.get("unit") == "ms" else f"{peak['value']:,.0f} {peak.get('unit', '')}"
        rows.append(
            [
                "peak consume delay",
                _e(value.strip()),
                _named(metric_words(peak["metric"]), peak["metric"]),
                _e(f"{seconds(peak['at_s_after_fault_start'])} after the fault started"),
            ]
        )
    backlog = a.consume.get("backlog")
    if backlog:
        drain = backlog["drain_time_s"]
        when = (
            f"drained {seconds(drain)} after recovery was confirmed"
            if drain is not None
            else ("back at the baseline level" if backlog.get("drained") else "not drained before the run ended")
        )
        rows.append(
            [
                "backlog peak",
                _e(f"{backlog['peak']:,.0f} messages (baseline {backlog['baseline_level']:,.0f})"),
                _named(metric_words(backlog["metric"]), backlog["metric"]),
                _e(when),
            ]
        )
    return _table(["figure", "value", "measured by", "when"], rows) if rows else ""


def names_footnote(raw: Iterable[str], kind: str = "op") -> str:
    """A footnote under a figure: each plain word the figure uses, with the raw name it stands for."""
    words = op_words if kind == "op" else metric_words
    pairs = sorted({(words(r), r) for r in raw if words(r) != r})
    if not pairs:
        return ""
    items = "; ".join(f"{_e(p)} = <code>{_e(r)}</code>" for p, r in pairs)
    return f"<p class='mq-footnote' style='font-size:.8em;color:#555'>Names in the figure: {items}.</p>"


def consume_footnote(a: Analysis) -> str:
    """The raw names of the metrics the consume figure plots."""
    from bridge.analysis.timeline import consume_series

    return names_footnote([name for name, _, _ in consume_series(a).values()], kind="metric")


def machine_table(a: Analysis) -> str:
    """Per window: how late the probe sent, and how loaded the host was; rows left out at each boundary."""
    return machine_html(a.verdict()["verdicts"][0].get("evidence") or {})


def machine_html(ev: dict[str, Any]) -> str:
    """:func:`machine_table` from a verdict's evidence, read defensively (``probe_lateness_ms``, ``host``,
    ``straddling_rows``): an older run without them gets a one-line note instead of a table."""
    late, host = ev.get("probe_lateness_ms") or {}, ev.get("host") or {}
    names = [n for n in ("warmup", "baseline", "fault", "recovery") if n in late or n in host]
    rows = []
    for name in names:
        lat, h = late.get(name) or {}, host.get(name) or {}
        busy = h.get("cpu_busy_percent_mean")
        load, cpus = h.get("load1_mean"), h.get("cpus")
        rows.append(
            [
                _e(name),
                _e(ms(lat.get("p95"))),
                _e(ms(lat.get("max"))),
                _e(f"{busy:.0f} %" if isinstance(busy, int | float) else "–"),
                _e(f"{load:.1f} on {cpus:.0f} CPU(s)" if isinstance(load, int | float) and cpus else "–"),
                "<b>yes</b>" if h.get("saturated") else _e(yes_no(h.get("saturated"))),
            ]
        )
    straddling = ev.get("straddling_rows") or {}
    note = ""
    if straddling:
        parts = ", ".join(f"{_e(k.replace('|', ' → '))}: {_e(v)}" for k, v in straddling.items())
        note = f"<p>Rows whose outcome crossed a window boundary, left out of both windows' tests: {parts}.</p>"
    if not rows:
        return note or "<p><i>This run recorded neither probe lateness nor host load.</i></p>"
    head = ["window", "probe late by (95th percentile)", "probe late by (worst)", "CPU busy", "load average"]
    return _table([*head, "host saturated"], rows, "mq-machine") + note
