"""The baseline, fault and recovery windows, from what happened (events.jsonl), never from the plan.

Rules (documented in docs/analysis.md):

- warm-up (never judged): from the first ``phase warmup`` until the first ``phase baseline``;
  its rows are kept apart, so a just-started stack is not judged.
- baseline: from the first ``phase baseline`` until the first ``inject`` event of any state
  (or the first ``phase fault``, whichever comes first).
- fault: from the moment the fault is surely on — the later of the last ``inject confirmed``
  and the first ``phase fault`` — until the first sign that it is being taken back: the
  earliest ``recover`` event (requested or confirmed) or ``phase recovery`` after it. An
  ``abort`` before that ends the window early and marks it cut short.
- recovery: from the last ``recover confirmed`` (all faults taken back) until the first
  ``phase done`` or ``abort`` after it, else the run's ``ended_at``, else the last probe.

The gaps between inject requested and confirmed, and between recover requested and confirmed,
belong to no window: the fault's state is uncertain there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Window:
    name: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass
class Windows:
    """The three windows (any may be missing), the event markers, and what went wrong."""

    baseline: Window | None = None
    fault: Window | None = None
    warmup: Window | None = None  # not judged, so not in all()
    recovery: Window | None = None
    inject_requested: float | None = None
    inject_confirmed: float | None = None
    recover_requested: float | None = None
    recover_confirmed: float | None = None
    inject_failed: bool = False
    recover_failed: bool = False
    fault_cut_short: bool = False
    aborted_at: float | None = None
    abort_reason: str | None = None
    span: tuple[float, float] | None = None
    problems: list[str] = field(default_factory=list)

    def all(self) -> list[Window]:
        return [w for w in (self.baseline, self.fault, self.recovery) if w is not None]


def _first(events: list[dict[str, Any]], pred: Any, after: float = float("-inf")) -> dict[str, Any] | None:
    return next((e for e in events if e["t"] >= after and pred(e)), None)


def _last(events: list[dict[str, Any]], pred: Any, before: float = float("inf")) -> dict[str, Any] | None:
    found = [e for e in events if e["t"] <= before and pred(e)]
    return found[-1] if found else None


def _is(event: str, **fields: str) -> Any:
    return lambda e: e.get("event") == event and all(e.get(k) == v for k, v in fields.items())


def _recover_signal(e: dict[str, Any]) -> bool:
    """The first sign that the fault is being taken back (or that the run moved past it)."""
    return e.get("event") == "recover" or (e.get("event") == "phase" and e.get("phase") in ("recovery", "done"))


def find_windows(
    events: list[dict[str, Any]], *, ended_at: float | None = None, last_probe_t: float | None = None
) -> Windows:
    """Derive the windows from time-ordered events."""
    w = Windows()
    base = _first(events, _is("phase", phase="baseline"))
    abort = _first(events, _is("abort"))
    if abort is not None:
        w.aborted_at, w.abort_reason = abort["t"], str(abort.get("reason") or "no reason given")
    inject_any = _first(events, _is("inject"))
    phase_fault = _first(events, _is("phase", phase="fault"))
    w.inject_failed = _first(events, _is("inject", state="failed")) is not None
    w.recover_failed = _first(events, _is("recover", state="failed")) is not None
    first_recover = _first(events, _recover_signal)
    req = _first(events, _is("inject", state="requested"))
    w.inject_requested = req["t"] if req else None
    if base is None:
        w.problems.append("no baseline phase was recorded")
    else:
        ends = [e["t"] for e in (inject_any, phase_fault, abort, first_recover) if e is not None]
        end = min(ends) if ends else _fallback_end(ended_at, last_probe_t)
        if end is not None and end > base["t"]:
            w.baseline = Window("baseline", base["t"], end)
        warm = _first(events, _is("phase", phase="warmup"))
        if warm is not None and warm["t"] < base["t"]:
            w.warmup = Window("warmup", warm["t"], base["t"])
    _fault_window(events, w, phase_fault, abort)
    _recovery_window(events, w, abort, ended_at, last_probe_t)
    starts = [x.start for x in w.all()]
    ends_all = [x.end for x in w.all()]
    if starts:
        w.span = (min(starts), max(ends_all))
    return w


def _fallback_end(ended_at: float | None, last_probe_t: float | None) -> float | None:
    if ended_at is not None:
        return ended_at
    return None if last_probe_t is None else last_probe_t + 1e-9


def _fault_window(
    events: list[dict[str, Any]], w: Windows, phase_fault: dict[str, Any] | None, abort: dict[str, Any] | None
) -> None:
    rec_any = _first(events, _recover_signal)
    before = rec_any["t"] if rec_any is not None else float("inf")
    confirmed = _last(events, _is("inject", state="confirmed"), before=before)
    if confirmed is None:
        w.problems.append("the fault was never confirmed injected")
        return
    w.inject_confirmed = confirmed["t"]
    start = max(confirmed["t"], phase_fault["t"]) if phase_fault is not None else confirmed["t"]
    end_event = _first(events, _recover_signal, after=start)
    if abort is not None and abort["t"] >= start and (end_event is None or abort["t"] < end_event["t"]):
        w.fault_cut_short = True
        w.fault = Window("fault", start, abort["t"])
        return
    if end_event is None:
        w.fault_cut_short = True
        w.problems.append("the fault window never ended (no recover event)")
        return
    rreq = _first(events, _is("recover"), after=start)
    w.recover_requested = rreq["t"] if rreq is not None else None
    w.fault = Window("fault", start, end_event["t"])


def _recovery_window(
    events: list[dict[str, Any]],
    w: Windows,
    abort: dict[str, Any] | None,
    ended_at: float | None,
    last_probe_t: float | None,
) -> None:
    if w.fault is None or w.fault_cut_short:
        return
    confirmed = _last(events, _is("recover", state="confirmed"))
    if confirmed is None or confirmed["t"] < w.fault.end:
        w.problems.append("recovery was never confirmed")
        return
    w.recover_confirmed = confirmed["t"]
    stop = _first(
        events,
        lambda e: (e.get("event") == "phase" and e.get("phase") == "done") or e.get("event") == "abort",
        after=confirmed["t"],
    )
    end = stop["t"] if stop is not None else _fallback_end(ended_at, last_probe_t)
    if end is not None and end > confirmed["t"]:
        w.recovery = Window("recovery", confirmed["t"], end)
    else:
        w.problems.append("the recovery window is empty")
