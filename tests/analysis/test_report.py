"""Reports: papermill executes both notebooks; report.html stands alone with its figures inline."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import struct
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

from bridge.analysis.synthetic import Scenario, write_suite
from bridge.archive import archive
from bridge.errors import ArchiveError, InputError
from bridge.process import run
from bridge.report import report
from bridge.report.execute import notebooks_dir
from tests.analysis.dom import by_class

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
    for drill in ("broker-down", "namesrv-down", "slow-baseline", "crashed", "broker-down-http"):
        # at least twice: from its matrix cell and from its row in the drills table
        assert len(re.findall(f"href=['\"]{drill}/report.html['\"]", html)) >= 2, drill


def _page(path: Path) -> str:
    """report.html with attribute quotes made uniform (nbconvert re-serialises the HTML we display)."""
    return path.read_text().replace("'", '"')


def _between(html: str, start: str, end: str) -> str:
    i = html.index(start)
    return html[i : html.index(end, i)]


def test_suite_first_screen_tallies_expectations_in_one_table(reported_suite: Path) -> None:
    html = _page(reported_suite / "report.html")
    tally = "2 of 5 drills matched their expectation; 3 did not (1 gave another verdict, 2 were inconclusive)."
    assert tally in html
    assert html.index(tally) < html.index("mq-matrix")  # first: before the matrix and the drill table
    others = _between(html, 'class="mq-others"', "</table>")
    drills = re.findall(r'href="([\w-]+)/report.html"', others)
    assert drills == ["broker-down-http", "slow-baseline", "crashed"]  # another verdict first, then inconclusive
    assert "add-to-cart requests held at 100 % (objective 99 %) while the broker was down" in others
    assert "the run stopped before the fault window ended" in others


def test_suite_matrix_cells_per_channel_show_inconclusive_ones(reported_suite: Path) -> None:
    cells = {
        (c.attrs["data-app"], c.attrs["data-component"], c.attrs["data-channel"]): c
        for c in by_class(_page(reported_suite / "report.html"), "mq-cell")
        if c.attrs.get("data-app")
    }
    assert cells[("frontend", "proxy", "rocketmq")].attrs["data-verdict"] == "inconclusive"
    mixed = cells[("frontend", "broker", "rocketmq")]
    assert mixed.attrs["data-verdict"] == "strong" and "strong, 1 inconclusive" in mixed.text
    assert mixed.hrefs == ["broker-down/report.html", "crashed/report.html"]
    assert cells[("frontend", "broker", "http")].attrs["data-verdict"] == "weak"  # the http channel apart
    assert cells[("cartservice", "namesrv", "rocketmq")].attrs["data-verdict"] == "weak"


def test_drill_first_screen_is_the_verdict_in_one_sentence(reported_suite: Path) -> None:
    html = _page(reported_suite / "broker-down" / "report.html")
    head = _between(html, 'class="mq-headline"', "</div>")
    assert 'data-verdict="strong"' in head
    assert "cart updates fell from 100 % to 0 % while the broker was down; back within a second of recovery" in head
    assert html.index("mq-headline") < html.index('id="Verdict"') < html.index("<img")
    assert "As expected (strong)." in html


def test_reports_show_plain_words_and_no_developer_notes(reported_suite: Path) -> None:
    drill = _page(reported_suite / "broker-down" / "report.html")
    assert '<span title="add_to_cart">add-to-cart requests</span>' in drill  # raw name on hover
    assert "cart updates = <code>cart_visible</code>" in drill  # and in the figure's footnote
    assert "consume delay = <code>consume_delay_ms</code>" in drill
    for page in ("report.html", "broker-down/report.html", "crashed/report.html"):
        html = _page(reported_suite / page)
        for dev in ("Thin view", "Developer note", "bridge.analysis", "papermill", "reset -f", "display(HTML"):
            assert dev not in html, (page, dev)


def test_per_window_table_rounds_for_people(reported_suite: Path) -> None:
    table = _between(_page(reported_suite / "broker-down" / "report.html"), 'id="Per-window"', "</table>")
    assert "100 %" in table and "0 %" in table and re.search(r">\d+ ms<", table)
    assert not re.search(r"\d\.\d{3,}", table)  # no 0.9950 ratios, no 61.37 ms


def test_no_kernel_stderr_in_the_reports(reported_suite: Path) -> None:
    for nb in sorted(reported_suite.glob("**/report.ipynb")):
        streams = [o for o in _outputs(nb) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
        assert not streams, (nb, streams)


def test_template_notebooks_are_valid_with_cell_ids() -> None:
    for name in ("drill_report.ipynb", "suite_report.ipynb"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            nb = nbformat.read(str(notebooks_dir() / name), as_version=4)
            nbformat.validate(nb)
        assert all(c.get("id") for c in nb.cells)


def test_a_report_build_prints_no_third_party_warning(tmp_path: Path) -> None:
    """Even from a notebook that lost its cell ids (an old editor), and with ResourceWarnings shown:
    the stderr of `mqdrill report` stays empty."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("drill_report.ipynb", "suite_report.ipynb"):
        doc = json.loads((notebooks_dir() / name).read_text())
        for cell in doc["cells"]:
            cell.pop("id", None)
        (notebooks / name).write_text(json.dumps(doc))
    suite = write_suite(tmp_path / "s", {"one": Scenario()})
    env = {
        **os.environ,
        "MQDRILL_NOTEBOOKS": str(notebooks),
        "MQDRILL_REPORTS": str(tmp_path / "reports"),
        # shown although Python hides them by default: the kernel clients' sockets must be closed
        "PYTHONWARNINGS": "default::ResourceWarning",
    }
    done = run([sys.executable, "-m", "bridge", "report", str(suite)], env=env, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "wrote" in done.stdout
    assert (suite / "one" / "report.html").is_file() and (suite / "report.html").is_file()


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
