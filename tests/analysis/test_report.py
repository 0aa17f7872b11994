"""Reports: papermill executes both notebooks; report.html stands alone with its figures inline."""

from __future__ import annotations

import base64
import re
import shutil
import struct
from pathlib import Path

import nbformat
import pytest

from bridge.archive import archive
from bridge.errors import ArchiveError, InputError
from bridge.report import report

IMG = re.compile(r'<img[^>]+src="data:image/(png|svg\+xml);base64,([^"]+)"')


def _outputs(nb_path: Path) -> list[dict[str, object]]:
    nb = nbformat.read(str(nb_path), as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_drill_notebook_executed_with_figures(reported_suite: Path) -> None:
    outputs = _outputs(reported_suite / "broker-down" / "report.ipynb")
    assert not [o for o in outputs if o.get("output_type") == "error"]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]  # type: ignore[operator]
    assert len(pngs) >= 4  # timeline, visibility, consume, signatures
    html = (reported_suite / "broker-down" / "report.html").read_text()
    assert "strong" in html and "local-retry-queue" in html and "peak consume delay" in html


def test_parameters_were_injected(reported_suite: Path) -> None:
    nb = nbformat.read(str(reported_suite / "namesrv-down" / "report.ipynb"), as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and str(reported_suite / "namesrv-down") in injected[0].source


def test_suite_notebook_has_matrix_and_rows(reported_suite: Path) -> None:
    assert not [o for o in _outputs(reported_suite / "report.ipynb") if o.get("output_type") == "error"]
    html = (reported_suite / "report.html").read_text()
    for drill in ("broker-down", "namesrv-down", "slow-baseline", "crashed"):
        assert f'href="{drill}/report.html"' in html
    assert len(IMG.findall(html)) == 1  # the dependency matrix


@pytest.mark.parametrize("page", ["broker-down/report.html", "report.html"])
def test_html_is_self_contained(reported_suite: Path, page: str) -> None:
    html = (reported_suite / page).read_text()
    assert not re.search(r"<script[^>]+src=", html) and not re.search(r"<link[^>]+href=\"http", html)
    assert "<pre" not in html or "analyze(run_dir)" not in html  # code cells hidden
    for kind, payload in IMG.findall(html):
        data = base64.b64decode(payload)
        if kind == "png":
            w, h = _png_size(data)
            assert w >= 300 and h >= 150 and len(data) > 5_000


def test_archived_run_refuses_report(reported_suite: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(reported_suite / "namesrv-down", tmp_path / "runs" / "r")
    rec = archive(copy, conclusion="ok", verified=True, root=tmp_path / "archive")
    with pytest.raises(ArchiveError, match="cannot be re-analysed or re-reported"):
        report(tmp_path / "archive" / rec["id"])


def test_report_on_something_else_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="neither a run directory"):
        report(tmp_path)


def test_cli_report_refuses_an_archived_suite(
    reported_suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bridge.cli import main

    copy = shutil.copytree(reported_suite, tmp_path / "suites" / "s")
    rec = archive(copy, conclusion="ok", verified=True, root=tmp_path / "archive")
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "report",
                str(tmp_path / "archive" / rec["id"] / "broker-down"),
                "--archive-root",
                str(tmp_path / "archive"),
            ]
        )
    assert exc.value.code == 2 and "re-reported" in capsys.readouterr().err


def test_crashed_run_still_gets_a_report(reported_suite: Path) -> None:
    html = (reported_suite / "crashed" / "report.html").read_text()
    assert "inconclusive" in html and "stopped before the fault window ended" in html
    assert not [o for o in _outputs(reported_suite / "crashed" / "report.ipynb") if o.get("output_type") == "error"]
