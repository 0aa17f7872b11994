"""Shared, expensive fixtures: the report notebooks are executed once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.analysis.synthetic import HEALTHY, Profile, Scenario, write_suite

PROTECTIONS = [
    {
        "name": "local-retry-queue",
        "title": "Buffer sends locally",
        "description": "Queue add-to-cart messages on disk while the broker is away.",
    }
]


def make_suite(root: Path) -> Path:
    """A suite of five drills: strong (with metrics and signatures), weak, inconclusive, crashed, and one
    of the http channel that came back weak where strong was expected.

    The matrix then has a mixed cell (frontend → broker via rocketmq: strong and a crashed drill), an
    all-inconclusive cell (frontend → proxy), and frontend → broker via http apart from via rocketmq.
    """
    drills = {
        "broker-down": Scenario(
            backlog=True,
            signatures=True,
            protections=PROTECTIONS,
            slo={"success_ratio_min": 0.99, "latency_p95_ms_max": 500, "visibility_s_max": 5},
        ),
        "namesrv-down": Scenario(
            fault=[(30.0, HEALTHY)],
            expected="weak",
            app="cartservice",
            dependency="namesrv",
            scenario="namesrv-unavailable",
        ),
        "slow-baseline": Scenario(baseline=[(60.0, Profile(success=0.9))], dependency="proxy", scenario="send-latency"),
        "crashed": Scenario(crash_at=75.0),
        "broker-down-http": Scenario(fault=[(30.0, HEALTHY)], channel="http"),
    }
    return write_suite(root, drills, name="broker drills")


@pytest.fixture(scope="session")
def reported_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A suite whose drill reports and suite report have been generated (both notebooks run)."""
    from bridge.report import report

    suite = make_suite(tmp_path_factory.mktemp("reports") / "suite-1")
    report(suite, workers=2)
    return suite


@pytest.fixture(autouse=True)
def _private_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI auto-archives old runs under the reports root: never let a test see the real one."""
    monkeypatch.setenv("MQDRILL_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("MQDRILL_ARCHIVE", str(tmp_path / "reports" / "archive"))
