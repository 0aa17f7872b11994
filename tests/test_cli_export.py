"""`mqdrill export` as a user runs it: shipped drills and the default suite in each format the causes
allow, output to stdout or --out, and refusals as one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.chaostoolkit import chaos_validate, stand_in_blade
from tests.support.crd_schema import schema_errors
from tests.support.workflow_rules import workflow_problems

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SUITE = REPO / "scenarios" / "suites" / "default.yaml"
KUBERNETES = REPO / "scenarios" / "drills" / "kubernetes"


def _mqdrill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, timeout=60, cwd=REPO)


def _check_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for f in fragments:
        assert f in lines[0]


@pytest.fixture(scope="module")
def blade_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stand_in_blade(tmp_path_factory.mktemp("bin"))


def test_default_suite_to_chaosblade_gives_valid_resources_for_every_drill(tmp_path: Path) -> None:
    out = tmp_path / "suite.yaml"
    done = _mqdrill("export", str(DEFAULT_SUITE), "--to", "chaosblade", "--out", str(out), "--run-id", "ci-1")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and f"wrote {out}" in done.stderr
    docs = [d for d in yaml.safe_load_all(out.read_text()) if d]
    assert len(docs) == 10  # one resource per fault
    experiments = [len(d["spec"]["experiments"]) for d in docs]
    assert sum(experiments) == 10 + 4  # network-partition and consumer-backlog drop both directions (2 drills each)
    assert all(schema_errors(d) == [] for d in docs)
    assert {d["metadata"]["labels"]["mqdrill.io/run-id"] for d in docs} == {f"ci-1-{i}" for i in range(1, 11)}


def test_default_suite_to_chaostoolkit_passes_chaos_validate(tmp_path: Path, blade_dir: Path) -> None:
    out = tmp_path / "experiment.json"
    done = _mqdrill("export", str(DEFAULT_SUITE), "--to", "chaostoolkit", "--out", str(out))
    assert done.returncode == 0, done.stderr
    experiment = json.loads(out.read_text())
    assert len(experiment["extensions"][0]["drills"]) == 10
    kubeconfigs = {a[a.index("--kubeconfig") + 1] for a in _blade_argvs(experiment) if "--kubeconfig" in a}
    assert kubeconfigs and all(k.startswith("/") for k in kubeconfigs), "blade gets no shell: ~ must be expanded"
    checked = chaos_validate(out, blade_dir=blade_dir)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_default_suite_to_a_workflow_is_refused_naming_the_engines_that_can() -> None:
    done = _mqdrill("export", str(DEFAULT_SUITE), "--to", "chaos-mesh-workflow")
    _check_one_line_error(
        done,
        "mqdrill: error: cannot export to chaos-mesh-workflow:",
        "broker-unavailable-rocketmq.yaml at `causes[0]`",
        "process-kill; engines that can: chaosblade, blade, local",
        "(and 3 more of 10 drills)",  # the four process-kill drills; the rest Chaos Mesh can do
    )


def test_a_suite_of_the_shipped_chaos_mesh_drills_exports_one_workflow(tmp_path: Path) -> None:
    files = sorted(KUBERNETES.glob("*-chaosmesh.yaml"))
    suite = tmp_path / "k8s.yaml"
    entries = [{"file": str(f)} for f in files]
    suite.write_text(yaml.safe_dump({"apiVersion": "mqdrill/v1", "kind": "Suite", "name": "k8s", "drills": entries}))
    for extra in ([], ["--parallel"]):
        done = _mqdrill("export", str(suite), "--to", "chaos-mesh-workflow", "--run-id", "ci-2", *extra)
        assert done.returncode == 0, done.stderr
        wf = yaml.safe_load(done.stdout)
        assert schema_errors(wf) == [] and workflow_problems(wf) == []
        entry = next(t for t in wf["spec"]["templates"] if t["name"] == wf["spec"]["entry"])
        assert entry["templateType"] == ("Parallel" if extra else "Serial")
        assert "loopback" not in done.stderr  # the shipped drills name the in-cluster frontend


def test_stdout_and_out_hold_the_same_document_and_json_is_json(tmp_path: Path) -> None:
    drill = str(KUBERNETES / "broker-unavailable-chaosmesh.yaml")
    out = tmp_path / "wf.yaml"
    to_stdout = _mqdrill("export", drill, "--to", "chaos-mesh-workflow", "--run-id", "same")
    to_file = _mqdrill("export", drill, "--to", "chaos-mesh-workflow", "--run-id", "same", "--out", str(out))
    assert to_stdout.returncode == to_file.returncode == 0
    assert to_stdout.stdout == out.read_text()
    as_json = _mqdrill("export", drill, "--to", "chaos-mesh-workflow", "--run-id", "same", "--json")
    assert json.loads(as_json.stdout) == yaml.safe_load(to_stdout.stdout)


def test_a_loopback_steady_state_url_is_flagged_for_the_workflow() -> None:
    drill = str(REPO / "scenarios" / "drills" / "local" / "send-latency-rocketmq.yaml")
    done = _mqdrill("export", drill, "--to", "chaos-mesh-workflow")
    assert done.returncode == 0
    assert "note: the steady-state URL http://127.0.0.1:8080" in done.stderr
    assert "# note: the steady-state URL" in done.stdout
    fixed = _mqdrill(
        "export", drill, "--to", "chaos-mesh-workflow", "--steady-state-url", "http://frontend:8080/healthz"
    )
    assert fixed.returncode == 0 and "loopback" not in fixed.stderr


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["missing.yaml", "--to", "chaosblade"], ["missing.yaml: no such file"]),
        (
            ["scenarios/drills/local/send-latency-rocketmq.yaml", "--to", "chaosblade", "--parallel"],
            ["--parallel applies to --to chaos-mesh-workflow only"],
        ),
        (
            ["scenarios/drills/local/send-latency-rocketmq.yaml", "--to", "chaosblade", "--run-id", "Bad_ID"],
            ["--run-id 'Bad_ID'"],
        ),
        (
            [
                "scenarios/drills/local/send-latency-rocketmq.yaml",
                "--to",
                "chaostoolkit",
                "--steady-state-url",
                "ftp://x",
            ],
            ["--steady-state-url 'ftp://x'"],
        ),
        (
            ["scenarios/drills/kubernetes/broker-unavailable-chaosblade.yaml", "--to", "chaos-mesh-workflow"],
            ["cannot export to chaos-mesh-workflow:", "engines that can: chaosblade, blade, local"],
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], fragments: list[str]) -> None:
    _check_one_line_error(_mqdrill("export", *args), *fragments)


def test_unknown_format_is_a_usage_error() -> None:
    done = _mqdrill("export", str(DEFAULT_SUITE), "--to", "litmus")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "chaos-mesh-workflow" in done.stderr


def _blade_argvs(experiment: dict[str, object]) -> list[list[str]]:
    """Every blade argv in the experiment's actions (method and rollbacks)."""
    out: list[list[str]] = []
    for key in ("method", "rollbacks"):
        for activity in experiment.get(key, []):  # type: ignore[attr-defined]
            provider = activity.get("provider", {})
            if provider.get("type") == "process":
                args = provider.get("arguments")
                out.append([provider.get("path"), *(args if isinstance(args, list) else str(args).split())])
    return out
