"""A small suite on the embedded environment: two drills on different components run in parallel,
the one that overlaps waits; the suite directory, JUnit and exit code follow the verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.e2e.e2e_support import EmbeddedEnv, settled

pytestmark = pytest.mark.e2e


def _fault_span(run_dir: Path) -> tuple[float, float]:
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    start = next(e["t"] for e in events if e["event"] == "inject" and e["state"] == "requested")
    end = next(e["t"] for e in events if e["event"] == "recover" and e["state"] == "confirmed")
    return float(start), float(end)


def test_a_suite_runs_non_overlapping_drills_in_parallel_and_serialises_the_rest(
    embedded_env: EmbeddedEnv, tmp_path: Path
) -> None:
    settled(embedded_env)
    probe = {"frontend_url": embedded_env.frontend_url}

    def entry(name: str, scenario: str, cause: str) -> dict[str, object]:
        return {
            "drill": {
                "apiVersion": "mqdrill/v1",
                "kind": "Drill",
                "name": name,
                "scenario": scenario,
                "causes": [cause],
                "channel": "http",
                "expected": "weak",
                "steady_state": {"probe": probe},
            }
        }

    suite = tmp_path / "suite.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "mqdrill/v1",
                "kind": "Suite",
                "name": "e2e",
                "windows": {"baseline": 4, "fault": 5, "recovery": 4},
                "drills": [
                    entry("broker-pause", "broker-unavailable", "process-pause"),
                    entry("namesrv-pause", "namesrv-unavailable", "pod-failure"),
                    entry("broker-kill", "broker-unavailable", "process-kill"),
                ],
            }
        )
    )
    env = {
        **os.environ,
        "MQDRILL_STATE": str(embedded_env.state_dir),
        "MQDRILL_LEDGER": str(tmp_path / "ledger"),
        "MQDRILL_REPORTS": str(tmp_path / "reports"),
    }
    out, junit = tmp_path / "suite", tmp_path / "junit.xml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge",
            "suite",
            str(suite),
            "--parallel",
            "2",
            "--out",
            str(out),
            "--junit",
            str(junit),
            "--no-report",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = json.loads(done.stdout)
    broker1, namesrv, broker2 = (
        _fault_span(out / k) for k in ("01-broker-pause", "02-namesrv-pause", "03-broker-kill")
    )
    assert max(broker1[0], namesrv[0]) < min(broker1[1], namesrv[1]), "broker and name server drills overlapped"
    assert broker2[0] >= broker1[1], "the second broker drill waited for the first"
    assert [r["status"] for r in summary["runs"]] == ["completed"] * 3
    # the http channel does not depend on the broker: every verdict is weak, as expected
    assert done.returncode == 0 and summary["exit_code"] == 0, done.stderr
    root = ET.parse(junit).getroot()
    assert root.get("tests") == "3" and root.get("failures") == "0" and root.get("errors") == "0"
    meta = json.loads((out / "suite.json").read_text())
    assert meta["status"] == "completed" and all(r["verdicts"] for r in meta["runs"])
