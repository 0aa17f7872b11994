"""Property tests: the verdict depends on what happened in the drill, not on row order or on rows
recorded outside the drill's span."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.analysis import RunData, analyze_data, read_run
from bridge.analysis.synthetic import DOWN, HEALTHY, Profile, Scenario, write_run

SCENARIOS = {
    "strong": Scenario(fault=[(10.0, HEALTHY), (5.0, DOWN), (15.0, HEALTHY)], recovery=[(4.0, DOWN), (26.0, HEALTHY)]),
    "weak": Scenario(fault=[(30.0, Profile(latency_ms=90.0))], expected="weak"),
    "inconclusive": Scenario(baseline=[(60.0, Profile(success=0.9))]),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunData]:
    root = tmp_path_factory.mktemp("props")
    return {name: read_run(write_run(root / name, sc)) for name, sc in SCENARIOS.items()}


def _verdict(run: RunData) -> dict[str, Any]:
    entry = dict(analyze_data(run).verdict()["verdicts"][0])
    entry["evidence"] = {k: v for k, v in entry["evidence"].items() if k != "notes"}
    return entry


SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(name=st.sampled_from(sorted(SCENARIOS)), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(runs: dict[str, RunData], name: str, seed: int) -> None:
    run = runs[name]
    perm = np.random.default_rng(seed).permutation(run.probes.height)
    shuffled = dataclasses.replace(run, probes=run.probes[perm])
    assert _verdict(shuffled) == _verdict(run)


outside_row = st.tuples(
    st.booleans(),  # before the baseline or after the end
    st.floats(0.0, 3600.0, allow_nan=False),
    st.one_of(st.none(), st.floats(0.0, 1e6, allow_nan=False)),
    st.integers(0, 1),
    st.sampled_from(["add_to_cart", "cart_visible", "checkout"]),
)


@SETTINGS
@given(name=st.sampled_from(sorted(SCENARIOS)), rows=st.lists(outside_row, min_size=1, max_size=200))
def test_rows_outside_the_span_do_not_matter(
    runs: dict[str, RunData], name: str, rows: list[tuple[bool, float, float | None, int, str]]
) -> None:
    run = runs[name]
    first = min(e["t"] for e in run.events)
    last = max(e["t"] for e in run.events)
    extra = pl.DataFrame(
        {
            "t": [first - 0.001 - off if before else last + off for before, off, *_ in rows],
            "sent": [first - 0.001 - off if before else last + off for before, off, *_ in rows],
            "latency_ms": [lat for _, _, lat, _, _ in rows],
            "ok": [ok for *_, ok, _ in rows],
            "op": [op for *_, op in rows],
        },
        schema=run.probes.schema,
    )
    padded = dataclasses.replace(run, probes=pl.concat([extra, run.probes]))
    assert _verdict(padded) == _verdict(run)


def test_scenarios_cover_each_strength(runs: dict[str, RunData], tmp_path: Path) -> None:
    got = {name: analyze_data(run).decision.strength for name, run in runs.items()}
    assert got == {"strong": "strong", "weak": "weak", "inconclusive": "inconclusive"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0.0, 1.0), junk=st.binary(max_size=64), events_cut=st.floats(0.0, 1.0))
def test_any_truncation_or_junk_never_crashes(
    tmp_path_factory: pytest.TempPathFactory, cut: float, junk: bytes, events_cut: float
) -> None:
    from bridge.analysis import write_verdict

    run = write_run(tmp_path_factory.mktemp("cut") / "r", Scenario(rate=2.0, slo={"min_samples": 5}))
    probe = (run / "probe.csv").read_bytes()
    (run / "probe.csv").write_bytes(probe[: int(cut * len(probe))] + junk)
    events = (run / "events.jsonl").read_bytes()
    (run / "events.jsonl").write_bytes(events[: int(events_cut * len(events))])
    v = write_verdict(run)["verdicts"][0]
    assert v["strength"] in ("strong", "weak", "inconclusive")
    assert (v["recovered"] is None) == (v["strength"] == "inconclusive")
