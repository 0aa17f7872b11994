"""Bad input of every kind gets one clear error naming the file, the line and the field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.drills import validate_file
from bridge.errors import DrillFileError, InputError, SafetyError
from bridge.spec.loader import load_document, parse_document
from tests.support.drills import drill, drill_yaml

HEAD = "apiVersion: mqdrill/v1\nkind: Drill\n"


def test_three_lines_make_a_drill_with_demo_defaults() -> None:
    d = parse_document(HEAD + "scenario: broker-unavailable\n", "d.yaml")
    assert d.kind == "Drill" and d.engine == "local" and d.channel == "rocketmq"
    assert d.steady_state.slo.success_ratio_min == 0.99 and d.steady_state.slo.latency_p95_ms_max == 500


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("", None, None, "empty document"),
        ("- 1\n- 2\n", 1, None, "got list"),
        ("just text", 1, None, "got str"),
        ("a: [1, 2\n", 2, None, "not valid YAML"),
        (HEAD + "scenario: broker-unavailable\nwindoes: {fault: 10s}\n", 4, "windoes", "unknown key"),
        (HEAD + "scenario: 42\n", 3, "scenario", "string"),
        (HEAD + "scenario: broker-unavailable\nwindows:\n  fault: -5s\n", 5, "windows.fault", "not a duration"),
        (HEAD + "scenario: broker-unavailable\nwindows:\n  fault: 0s\n", 5, "windows.fault", "at least 1s"),
        (HEAD + "scenario: broker-unavailable\nwindows: {fault: 900h}\n", 4, "windows.fault", "at most 24h"),
        (
            HEAD + "scenario: broker-unavailable\nsteady_state:\n  slo:\n    success_ratio_min: 1.5\n",
            6,
            "steady_state.slo.success_ratio_min",
            "less than or equal to 1",
        ),
        (
            HEAD + "scenario: broker-unavailable\ntargets:\n  namespace: 'demo; rm -rf /'\n",
            5,
            "targets.namespace",
            "Kubernetes name",
        ),
        (
            HEAD + "scenario: broker-unavailable\ntargets:\n  labels: {app: '$(reboot)'}\n",
            5,
            "targets.labels.app",
            "label value",
        ),
        (HEAD + "scenario: broker-unavailable\nparams:\n  exception: 'x`id`'\n", 5, "params.exception", "Java class"),
        (HEAD + "scenario: broker-unavailable\nengine: kubectl\n", 4, "engine", "chaosmesh"),
        ("apiVersion: v2\nkind: Drill\n", 1, "apiVersion", "mqdrill/v1"),
        ("apiVersion: mqdrill/v1\nkind: Experiment\n", 2, "kind", "'Drill' or 'Suite'"),
        ("a: 1\na: 2\n", 2, "a", "duplicate key"),
    ],
)
def test_bad_documents_are_refused_with_file_line_and_field(
    text: str, line: int | None, field: str | None, words: str
) -> None:
    with pytest.raises(DrillFileError) as info:
        parse_document(text, "bad.yaml")
    err = info.value
    assert err.file == "bad.yaml" and err.line == line and err.field == field
    assert words in str(err)


def test_alias_bomb_is_refused_before_expansion() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(DrillFileError, match="alias bomb"):
        parse_document("\n".join(lines) + "\n", "bomb.yaml")


def test_absurd_nesting_is_refused() -> None:
    with pytest.raises(DrillFileError, match="nesting|not valid YAML"):
        parse_document("[" * 20000 + "]" * 20000, "deep.yaml")
    with pytest.raises(DrillFileError, match="nesting deeper than 32"):
        parse_document("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 40)) + "  " * 40 + "v: 1\n", "d.yaml")


def test_multi_megabyte_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(HEAD + "scenario: broker-unavailable\ndescription: " + "x" * 3_000_000 + "\n")
    with pytest.raises(DrillFileError, match="limited to 1 MiB") as info:
        load_document(path)
    assert info.value.file == str(path)


def test_missing_path_and_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DrillFileError, match="no such file"):
        load_document(tmp_path / "nope.yaml")
    with pytest.raises(DrillFileError, match="is a directory"):
        load_document(tmp_path)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DrillFileError, match="not UTF-8"):
        load_document(path)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"engine": "chaosmesh", "targets": {"namespace": "kube-system"}}, "protected"),
        ({"engine": "chaosmesh", "targets": {"labels": {"app": "broker"}}}, "needs a namespace"),
        ({"engine": "chaosmesh", "targets": {"namespace": "shop", "mode": "all"}}, "allow_all"),
        ({"engine": "chaosmesh", "targets": {"namespace": "shop", "mode": "fixed", "value": "5"}}, "max_pods=1"),
        (
            {"engine": "chaosmesh", "targets": {"namespace": "shop", "mode": "fixed-percent", "value": "80"}},
            "max_percent=50",
        ),
        ({"engine": "chaosmesh", "targets": {"namespace": "shop", "mode": "fixed"}}, "needs a value"),
        ({"engine": "chaosmesh", "targets": {"namespace": "shop", "pods": ["a", "b"]}}, "max_pods=1"),
        ({"engine": "local", "targets": {"namespace": "shop"}}, "local engine targets services"),
    ],
)
def test_blast_radius_guards_refuse_before_anything_is_planned(fields: dict[str, object], words: str) -> None:
    from bridge.drills import check_drill

    with pytest.raises(SafetyError, match=words):
        check_drill(drill(**fields), "d.yaml")


def test_mode_all_is_allowed_when_the_drill_says_so() -> None:
    from bridge.drills import check_drill

    check_drill(
        drill(engine="chaosmesh", targets={"namespace": "shop", "mode": "all"}, safety={"allow_all": True}), "d.yaml"
    )


def test_unknown_scenario_and_cause_name_the_field() -> None:
    from bridge.drills import check_drill

    with pytest.raises(InputError, match="d.yaml at `scenario`: unknown scenario 'broker-gone'"):
        check_drill(drill(scenario="broker-gone"), "d.yaml")
    with pytest.raises(InputError, match=r"d.yaml at `causes\[0\]`.*its causes are: process-kill"):
        check_drill(drill(causes=["disk-fill"]), "d.yaml")
    with pytest.raises(InputError, match="engines that can: chaosblade, blade, local"):
        check_drill(drill(causes=["process-kill"], engine="chaosmesh"), "d.yaml")


def _mqdrill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, timeout=60)


BAD_FILES = {
    "notyaml.yaml": "key: [unclosed\n",
    "empty.yaml": "",
    "list.yaml": "- a\n- b\n",
    "types.yaml": HEAD + "scenario: broker-unavailable\nwindows: {fault: [1]}\n",
    "unknown.yaml": HEAD + "scenario: broker-unavailable\ncolour: red\n",
    "scenario.yaml": HEAD + "scenario: broker-melts\n",
    "protected.yaml": HEAD + "scenario: broker-unavailable\nengine: chaosmesh\ntargets: {namespace: kube-system}\n",
    "shell.yaml": HEAD + "scenario: broker-unavailable\ntargets: {namespace: 'x && reboot'}\n",
}


def test_cli_validate_and_plan_give_one_line_errors_and_no_traceback(tmp_path: Path) -> None:
    for name, text in BAD_FILES.items():
        (tmp_path / name).write_text(text)
        for cmd in (["validate", str(tmp_path / name)], ["plan", str(tmp_path / name)]):
            out = _mqdrill(*cmd)
            assert out.returncode != 0, (name, cmd)
            assert "Traceback" not in out.stderr
            assert str(tmp_path / name) in out.stderr
    for cmd in (["validate", str(tmp_path)], ["plan", str(tmp_path / "missing.yaml")]):
        out = _mqdrill(*cmd)
        assert out.returncode == 2 and "Traceback" not in out.stderr and str(tmp_path) in out.stderr


def test_cli_validate_json_reports_each_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(drill_yaml(scenario="send-latency"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEAD + "scenario: 7\n")
    out = _mqdrill("validate", "--json", str(good), str(bad))
    assert out.returncode == 2
    results = {r["file"]: r for r in json.loads(out.stdout)}
    assert results[str(good)]["ok"] is True and results[str(good)]["kind"] == "Drill"
    assert results[str(bad)]["ok"] is False and "scenario" in results[str(bad)]["error"]


def test_protections_on_names_catalog_protections(tmp_path: Path) -> None:
    bad = tmp_path / "d.yaml"
    bad.write_text("apiVersion: mqdrill/v1\nkind: Drill\nscenario: broker-unavailable\nprotections_on: [teleport]\n")
    result = validate_file(str(bad))
    assert not result.ok and "protections_on[0]" in str(result.error) and "fallback-direct" in str(result.error)
    good = tmp_path / "g.yaml"
    good.write_text(
        "apiVersion: mqdrill/v1\nkind: Drill\nscenario: broker-unavailable\nprotections_on: [fallback-direct]\n"
    )
    assert validate_file(str(good)).ok
