"""The first screen of a report, in words: one sentence per drill and a tally per suite.

A drill's headline is its verdict with its key figures, built from verdict.json alone (the
entry's evidence and reasons, plus run.json's scenario), e.g. "strong: cart updates fell from
100 % to 0 % while the broker was down; back 9 s after recovery". The evidence is read
defensively: a key that is missing (an older verdict.json, a run cut short) shortens the
sentence, it never breaks it. The notebooks only display what these functions return.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bridge.analysis.suite import SuiteData, SuiteRow
from bridge.analysis.wording import ms, op_words, pct, plain_sentence, seconds

COMPONENTS = {"namesrv": "name server", "broker": "broker", "proxy": "proxy"}
# How each catalog scenario reads after "while": what was wrong during the fault window.
SCENARIOS = {
    "send-latency": "while sends to the {c} were slowed",
    "network-partition": "while the network to the {c} was cut",
    "network-loss": "while packets to the {c} were lost",
    "consumer-backlog": "while the {c} fell behind consuming",
    "broker-disk-full": "while the broker's disk was full",
    "broker-cpu-full": "while the broker's CPU was saturated",
    "send-failure": "while sends failed in the client",
}
T = TypeVar("T")
# Below this drop in success (percentage points), a fall is noise and latency tells the story.
MIN_DROP = 0.01


@dataclass(frozen=True)
class Headline:
    """A drill's verdict in words: ``strength`` plus ``sentence`` (which starts with it)."""

    strength: str
    sentence: str
    expectation: str  # "As expected." / "Expected strong: ..." / "No expectation was set."


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) else None


def _window(entry: Mapping[str, Any], name: str) -> dict[str, dict[str, Any]]:
    per = (entry.get("evidence") or {}).get("per_window") or {}
    got = per.get(name) if isinstance(per, Mapping) else None
    return {str(k): dict(v) for k, v in got.items() if isinstance(v, Mapping)} if isinstance(got, Mapping) else {}


def _p95(fig: Mapping[str, Any]) -> float | None:
    lat = fig.get("latency_ms")
    return _num(lat.get("p95")) if isinstance(lat, Mapping) else None


def during(scenario: str, component: str) -> str:
    """What was wrong, after "while": "while the broker was down" for ``broker-unavailable``."""
    c = COMPONENTS.get(component, component or "dependency")
    if scenario in SCENARIOS:
        return SCENARIOS[scenario].format(c=c)
    if scenario.endswith("-unavailable"):
        return f"while the {c} was down"
    return "during the fault"


def _success_change(base: dict[str, dict[str, Any]], fault: dict[str, dict[str, Any]]) -> str | None:
    """The operation whose success fell most: "cart updates fell from 100 % to 0 %"."""
    drops = []
    for op, f in fault.items():
        b, fr = _num(base.get(op, {}).get("success_ratio")), _num(f.get("success_ratio"))
        if b is not None and fr is not None and b - fr >= MIN_DROP:
            drops.append((b - fr, op, b, fr))
    if not drops:
        return None
    _, op, b, fr = max(drops)
    return f"{op_words(op)} fell from {pct(b)} to {pct(fr)}"


def _latency_change(base: dict[str, dict[str, Any]], fault: dict[str, dict[str, Any]]) -> str | None:
    """The largest rise: "the 95th-percentile time of add-to-cart requests rose from 40 ms to 2,300 ms"."""
    rises = []
    for op, f in fault.items():
        b, fr = _p95(base.get(op, {})), _p95(f)
        if b is not None and fr is not None and fr > b:
            rises.append((fr - b, op, b, fr))
    if not rises:
        return None
    _, op, b, fr = max(rises)
    return f"the 95th-percentile time of {op_words(op)} rose from {ms(b)} to {ms(fr)}"


def _held(fault: dict[str, dict[str, Any]], slo: Mapping[str, Any]) -> str | None:
    """The operation that did worst: "add-to-cart requests held at 99.8 % (objective 99 %)"."""
    known = [(r, op) for op, f in fault.items() if (r := _num(f.get("success_ratio"))) is not None]
    if not known:
        return None
    ratio, op = min(known)
    goal = _num(slo.get("success_ratio_min"))
    return f"{op_words(op)} held at {pct(ratio)}" + (f" (objective {pct(goal)})" if goal is not None else "")


def _fault_latency(fault: dict[str, dict[str, Any]]) -> str | None:
    """The first request-style operation's (not a visibility check's) 95th-percentile time."""
    for op in sorted(fault):
        p95 = _p95(fault[op])
        if p95 is not None and "visibility_delay_s" not in fault[op]:
            return f"95th-percentile time of {op_words(op)} {ms(p95)}"
    return None


def _recovery(entry: Mapping[str, Any], strength: str) -> str | None:
    rec = (entry.get("evidence") or {}).get("recovery") or {}
    recovered = entry.get("recovered")
    if recovered is False:
        return (
            "not back before the run ended" if strength == "strong" else "but it did not recover before the run ended"
        )
    if recovered is True and strength == "strong":
        t = _num(rec.get("time_to_recover_s")) if isinstance(rec, Mapping) else None
        return f"back {seconds(t)} after recovery" if t is not None and t >= 1 else "back within a second of recovery"
    return None


def _first_reason(entry: Mapping[str, Any]) -> str:
    reasons = [str(r) for r in entry.get("reasons") or [] if str(r).strip()]
    if not reasons:
        return "the analysis gave no reason"
    r = plain_sentence(reasons[0].strip().rstrip("."))
    return r[:1].lower() + r[1:] if len(r) > 1 and not r[1:2].isupper() else r


def expectation(entry: Mapping[str, Any]) -> str:
    expected, strength = str(entry.get("expected") or "unknown"), str(entry.get("strength") or "inconclusive")
    if expected not in ("strong", "weak"):
        return "No expectation was set."
    if strength not in ("strong", "weak"):
        return f"Expected {expected}; this drill could not tell."
    if entry.get("matches_expected") is False or strength != expected:
        return f"Expected {expected}: this differs from what was expected."
    return f"As expected ({expected})."


def drill_headline(entry: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> Headline:
    """The verdict in one sentence with its key figures (``entry`` is one verdict.json entry)."""
    meta = meta or {}
    strength = str(entry.get("strength") or "inconclusive")
    if strength not in ("strong", "weak"):
        return Headline("inconclusive", f"inconclusive: {_first_reason(entry)}", expectation(entry))
    base, fault = _window(entry, "baseline"), _window(entry, "fault")
    component = str(meta.get("component") or entry.get("dependency") or "")
    when = during(str(meta.get("scenario") or ""), component)
    slo = (entry.get("evidence") or {}).get("slo") or {}
    extra: list[str | None] = []
    if strength == "strong":
        what = _success_change(base, fault) or _latency_change(base, fault)
    else:
        what = _held(fault, slo if isinstance(slo, Mapping) else {})
        extra.append(_fault_latency(fault))
    body = f"{what} {when}" if what else _first_reason(entry)
    extra.append(_recovery(entry, strength))
    tail = "".join(f"; {x}" for x in extra if x)
    return Headline(strength, f"{strength}: {body}{tail}", expectation(entry))


@dataclass
class SuiteHeadline(Generic[T]):
    """How many drills matched their expectation, and for the others, why (their headline)."""

    total: int
    matched: int
    no_expectation: int
    others: list[tuple[T, Headline]] = field(default_factory=list)  # another verdict first, then inconclusive

    @property
    def sentence(self) -> str:
        if not self.total:
            return "This suite has no drill that could be read."
        judged = self.total - self.no_expectation
        if not judged:
            head = "No drill had an expectation"
        elif self.matched == judged:
            head = (
                f"All {judged} drills matched their expectation" if judged > 1 else "The drill matched its expectation"
            )
        else:
            head = f"{self.matched} of {judged} drills matched their expectation"
        differ = sum(1 for _, h in self.others if h.strength != "inconclusive")
        unsure = len(self.others) - differ
        parts = [f"{differ} gave another verdict"] if differ else []
        parts += [f"{unsure} {'was' if unsure == 1 else 'were'} inconclusive"] if unsure else []
        tail = f"; {len(self.others)} did not ({', '.join(parts)})" if self.others else ""
        extra = f". {self.no_expectation} had no expectation" if self.no_expectation and judged else ""
        return head + tail + extra + "."


def tally(items: Iterable[tuple[T, Mapping[str, Any], Mapping[str, Any]]]) -> SuiteHeadline[T]:
    """Count ``(key, verdict entry, run meta)`` items against their expectations; keep the others' why."""
    out: SuiteHeadline[T] = SuiteHeadline(0, 0, 0)
    for key, v, meta in items:
        out.total += 1
        expected = str(v.get("expected") or meta.get("expected") or "unknown")
        if expected not in ("strong", "weak"):
            out.no_expectation += 1
        elif v.get("matches_expected") is True:
            out.matched += 1
        else:
            out.others.append((key, drill_headline({**v, "expected": expected}, meta)))
    out.others.sort(key=lambda kh: kh[1].strength == "inconclusive")  # stable: suite order within each group
    return out


def suite_headline(suite: SuiteData) -> SuiteHeadline[SuiteRow]:
    """The suite report's first line: its drills tallied against their expectations."""
    return tally((row, row.verdict, row.meta) for row in suite.rows)
