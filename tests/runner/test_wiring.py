"""The wiring's small decisions: engine options, the probe adapter's folding, recover from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bridge.runner.wiring import engine_options


def test_force_clean_reaches_only_the_kubernetes_engines_and_only_when_asked() -> None:
    assert engine_options("chaosmesh", kubeconfig="/k", context="c") == {"kubeconfig": "/k", "context": "c"}
    assert engine_options("chaosblade", force_clean=True)["force_clean"] is True
    assert engine_options("local", kubeconfig="/k", force_clean=True) == {}
    assert engine_options("blade", force_clean=True) == {"kubeconfig": None, "context": None}


def test_the_blade_engine_gets_the_runs_cluster_connection() -> None:
    # `mqdrill run --kubeconfig` must reach `blade create k8s` too, not only the object engines
    assert engine_options("blade", kubeconfig="/k", context="c") == {"kubeconfig": "/k", "context": "c"}


def test_a_fixed_recovery_wait_replaces_the_one_sized_from_the_fault() -> None:
    from bridge.engines.chaosmesh import ChaosMeshEngine

    assert engine_options("local", recover_wait_s=120.0) == {}
    sized = ChaosMeshEngine(kubeconfig="/k")
    fixed = ChaosMeshEngine(**engine_options("chaosmesh", kubeconfig="/k", recover_wait_s=120.0))  # type: ignore[arg-type]
    assert sized.recover_wait_s(16.0) < 120.0  # a drill's own recovery: floor 45 s, capped at 60 s
    assert fixed.recover_wait_s(16.0) == fixed.recover_wait_s(None) == 120.0


def test_recover_all_on_an_empty_ledger_finds_nothing_and_succeeds(tmp_path: Path) -> None:
    env = {**os.environ, "MQDRILL_LEDGER": str(tmp_path / "ledger")}
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "recover", "--all", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0 and json.loads(done.stdout) == {
        "found": [],
        "recovered": [],
        "failed": [],
        "already_ended": [],
    }
    both = subprocess.run(
        [sys.executable, "-m", "bridge", "recover"], capture_output=True, text=True, env=env, timeout=60
    )
    assert both.returncode == 2 and "give a RUN directory" in both.stderr
