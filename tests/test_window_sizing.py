"""A preflight that cannot fail by construction: `validate`, `plan` and `run` refuse, before anything
starts, a baseline too short to yield the samples the preflight and the analysis need at the
probe's rate (issue 12 item 7), naming the file, the field and the minimum."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.analysis.slo import Slo
from bridge.probes.config import ProbeConfig
from bridge.probes.runner import preflight_duration_s
from bridge.spec import sizing
from bridge.spec.models import Drill


def _mqdrill(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def _drill(**fields: object) -> Drill:
    return Drill.model_validate(
        {"apiVersion": "mqdrill/v1", "kind": "Drill", "scenario": "broker-unavailable", **fields}
    )


def test_run_refuses_a_ten_second_baseline_before_anything_starts(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    out = _mqdrill(
        "run",
        "--scenario",
        "proxy-unavailable",
        "--cause",
        "process-kill",
        "--baseline",
        "10s",
        env={"MQDRILL_REPORTS": str(reports), "MQDRILL_LEDGER": str(tmp_path / "ledger")},
    )
    assert out.returncode == 2, out.stderr
    assert "windows.baseline" in out.stderr and "10s is too short" in out.stderr
    assert "at least 12s" in out.stderr  # 100 requests at 20/s, plus 2 s timeout + 5 s visibility bound
    assert "Traceback" not in out.stderr and not (reports / "runs").exists(), "nothing may start"


def test_validate_and_plan_name_the_file_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "d.yaml"
    f.write_text(
        "apiVersion: mqdrill/v1\nkind: Drill\nscenario: broker-unavailable\n"
        "windows:\n  baseline: 8s\nsteady_state:\n  probe: {rate: 20}\n"
    )
    for cmd in ("validate", "plan"):
        out = _mqdrill(cmd, str(f))
        assert out.returncode == 2, (cmd, out.stdout)
        assert f"{f}:5 at `windows.baseline`: 8s is too short: it must be at least 12s" in out.stderr
    f.write_text(f.read_text().replace("rate: 20", "rate: 50"))  # 100 requests take 2 s at 50/s: 9 s is enough
    assert _mqdrill("validate", str(f)).returncode == 2
    f.write_text(f.read_text().replace("baseline: 8s", "baseline: 9s"))
    assert _mqdrill("validate", str(f)).returncode == 0


def test_the_default_drill_and_the_shipped_suite_windows_are_long_enough() -> None:
    assert sizing.too_short_windows(_drill()) == []
    assert sizing.too_short_windows(_drill(windows={"baseline": "15s"})) == []  # the default suite's


@settings(max_examples=60, deadline=None)
@given(
    success=st.floats(0.0, 0.9999),
    min_samples=st.integers(1, 500),
    rate=st.floats(0.2, 200.0),
    timeout=st.floats(0.1, 10.0),
    visibility=st.floats(0.5, 30.0),
    warmup=st.floats(0.0, 20.0),
    baseline=st.floats(1.0, 600.0),
)
def test_an_accepted_baseline_always_yields_the_samples(
    success: float, min_samples: int, rate: float, timeout: float, visibility: float, warmup: float, baseline: float
) -> None:
    d = _drill(
        windows={"warmup": warmup, "baseline": baseline},
        steady_state={
            "probe": {"rate": rate, "timeout": timeout},
            "slo": {"success_ratio_min": success, "min_samples": min_samples, "visibility_s_max": visibility},
        },
    )
    # the analysis' own rule, and the probe's own preflight duration, are what sizing assumes
    slo = Slo(success_ratio_min=success, min_samples=min_samples, visibility_s_max=visibility)
    assert sizing.required_samples(d) == slo.required_samples
    config = ProbeConfig.from_drill(d, run_id="x")
    assert sizing.preflight_check_s(d) >= preflight_duration_s(config, d.steady_state.slo)
    assert sizing.flow_bound_s(d) == config.flow_bound_s
    if sizing.too_short_windows(d):
        return
    bound = sizing.flow_bound_s(d)
    # every request sent early enough to be decided inside the baseline: at least what is needed
    assert math.floor((baseline - bound) * rate + 1e-9) >= slo.required_samples - 1
    # the preflight's span, less what a slow healthy request may still be waiting for beyond the
    # warm-up, holds min_samples completed requests
    check = min(sizing.preflight_check_s(d), baseline)
    assert (check - max(0.0, bound - warmup)) * rate >= min_samples


def test_the_runner_checks_the_steady_state_over_the_span_sizing_planned(tmp_path: Path) -> None:
    """The preflight of `run` waits as long as sizing says, so a cart that takes up to its bound to
    show an item still yields slo.min_samples completed rows (the "only 27 samples, need 30" case)."""
    import json

    from bridge.runner.wiring import ProbeAdapter

    (tmp_path / "run.json").write_text(json.dumps({"run_id": "r"}))
    d = _drill(windows={"warmup": "2s", "baseline": "20s"}, steady_state={"probe": {"rate": 10}})
    adapter = ProbeAdapter(d, tmp_path)
    # 30 samples at 10/s take 3 s (+1), and a flow may take 2 s + 5 s, 5 s more than the warm-up
    assert adapter.check_s() == sizing.preflight_check_s(d) == 4.0 + 5.0
