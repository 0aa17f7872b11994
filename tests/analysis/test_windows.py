"""Window boundaries come from events, with the transitions left out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.analysis import analyze
from bridge.analysis.synthetic import Scenario, write_run
from bridge.analysis.windows import find_windows


def ev(t: float, event: str, **kw: str) -> dict[str, Any]:
    return {"t": t, "event": event, **kw}


def test_two_targets_fault_starts_when_both_are_confirmed() -> None:
    w = find_windows(
        [
            ev(0, "phase", phase="baseline"),
            ev(10, "phase", phase="fault"),
            ev(10.1, "inject", state="requested"),
            ev(10.3, "inject", state="requested"),
            ev(10.6, "inject", state="confirmed"),
            ev(11.2, "inject", state="confirmed"),
            ev(40, "recover", state="requested"),
            ev(40.5, "recover", state="confirmed"),
            ev(41, "recover", state="confirmed"),
            ev(70, "phase", phase="done"),
        ]
    )
    assert w.baseline is not None and (w.baseline.start, w.baseline.end) == (0, 10)
    assert w.fault is not None and (w.fault.start, w.fault.end) == (11.2, 40)
    assert w.recovery is not None and (w.recovery.start, w.recovery.end) == (41, 70)
    assert w.span == (0, 70)


def test_abort_during_recovery_keeps_the_fault_window() -> None:
    w = find_windows(
        [
            ev(0, "phase", phase="baseline"),
            ev(10, "inject", state="requested"),
            ev(10.5, "inject", state="confirmed"),
            ev(40, "recover", state="requested"),
            ev(40.5, "recover", state="confirmed"),
            ev(50, "abort", reason="x"),
        ]
    )
    assert w.fault is not None and not w.fault_cut_short
    assert w.recovery is not None and w.recovery.end == 50


def test_abort_during_fault_cuts_it_short() -> None:
    w = find_windows(
        [
            ev(0, "phase", phase="baseline"),
            ev(10, "inject", state="requested"),
            ev(10.5, "inject", state="confirmed"),
            ev(20, "abort", reason="Ctrl-C"),
            ev(20.2, "recover", state="requested"),
            ev(20.8, "recover", state="confirmed"),
        ]
    )
    assert w.fault_cut_short and w.fault is not None and w.fault.end == 20
    assert w.recovery is None


def test_abort_during_recovery_still_gets_a_verdict(tmp_path: Path) -> None:
    a = analyze(write_run(tmp_path / "r", Scenario(abort_at=110.0)))
    assert a.decision.strength == "strong" and a.decision.recovered is True


def test_recover_never_confirmed_means_not_recovered(tmp_path: Path) -> None:
    a = analyze(write_run(tmp_path / "r", Scenario(recover="failed")))
    assert a.decision.strength == "strong" and a.decision.recovered is False
    assert any("never confirmed" in r for r in a.decision.reasons)
