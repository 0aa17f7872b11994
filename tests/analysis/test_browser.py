"""Open the reports in headless Chromium (Debian's package): the figures rendered, the headlines and
the dependency matrix (an inconclusive cell included) are on the page, and the matrix links work.

The suite is synthetic (tests/analysis/conftest.py, bridge.analysis.synthetic): no environment needed."""

from __future__ import annotations

import base64
import os
import re
import shutil
import struct
from pathlib import Path

import pytest

from bridge.process import run
from tests.analysis.dom import by_class

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# On a developer's machine without chromium the tests are skipped; CI must run them.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed (scripts/setup.d/60-chromium.sh)"
)


def _dom(page: Path, profile: Path) -> str:
    """The page's DOM as Chromium built it (after parsing, styles and any script)."""
    assert CHROMIUM is not None, "CI needs chromium: scripts/setup.d/60-chromium.sh could not install it"
    argv = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()]
    return run(argv, timeout=90).stdout


@needs_chromium
def test_report_renders_in_chromium(reported_suite: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    page = (reported_suite / "broker-down" / "report.html").resolve().as_uri()
    dom = _dom(reported_suite / "broker-down" / "report.html", tmp_path / "profile")
    images = re.findall(r'<img[^>]+src="data:image/png;base64,([^"]+)"', dom)
    assert len(images) >= 4
    for payload in images:
        data = base64.b64decode(payload)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert width >= 300 and height >= 150
    assert "strong" in dom and "Timeline" in dom
    shot = tmp_path / "shot.png"
    run(
        [
            CHROMIUM,
            *FLAGS,
            "--user-data-dir=" + str(tmp_path / "profile2"),
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            page,
        ],
        timeout=90,
    )
    assert shot.stat().st_size > 20_000  # a blank page is a few KB; figures make it large


@needs_chromium
def test_suite_and_drill_reports_show_headline_and_matrix_in_chromium(reported_suite: Path, tmp_path: Path) -> None:
    dom = _dom(reported_suite / "report.html", tmp_path / "profile")
    (headline,) = by_class(dom, "mq-headline")
    assert headline.text.strip() == (
        "2 of 5 drills matched their expectation; 3 did not (1 gave another verdict, 2 were inconclusive)."
    )
    (others,) = by_class(dom, "mq-others")
    assert others.hrefs == ["broker-down-http/report.html", "slow-baseline/report.html", "crashed/report.html"]
    cells = {
        (c.attrs["data-app"], c.attrs["data-component"], c.attrs["data-channel"]): c
        for c in by_class(dom, "mq-cell")
        if c.attrs.get("data-app")
    }
    assert {k: c.attrs["data-verdict"] for k, c in cells.items()} == {
        ("cartservice", "namesrv", "rocketmq"): "weak",
        ("frontend", "broker", "http"): "weak",
        ("frontend", "broker", "rocketmq"): "strong",
        ("frontend", "proxy", "rocketmq"): "inconclusive",
    }
    assert cells[("frontend", "proxy", "rocketmq")].text.strip().startswith("inconclusive")
    assert "1 inconclusive" in cells[("frontend", "broker", "rocketmq")].text
    for cell in cells.values():
        for href in cell.hrefs:
            assert (reported_suite / href).is_file(), href  # each cell links to its drills' reports

    drill = _dom(reported_suite / "crashed" / "report.html", tmp_path / "profile2")
    (head,) = by_class(drill, "mq-headline")
    assert head.attrs["data-verdict"] == "inconclusive"
    assert " ".join(head.text.split()) == (
        "inconclusive: the run stopped before the fault window ended (no recover event was recorded)"
    )
    assert drill.index("mq-headline") < drill.index("Timeline")
