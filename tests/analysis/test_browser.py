"""Open report.html in headless Chromium (Debian's package) and check the figures rendered."""

from __future__ import annotations

import base64
import os
import re
import shutil
import struct
from pathlib import Path

import pytest

from bridge.process import run

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


# On a developer's machine without chromium the test is skipped; CI must run it.
@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed (scripts/setup.d/60-chromium.sh)"
)
def test_report_renders_in_chromium(reported_suite: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None, "CI needs chromium: scripts/setup.d/60-chromium.sh could not install it"
    page = (reported_suite / "broker-down" / "report.html").resolve().as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = run([CHROMIUM, *FLAGS, *profile, "--dump-dom", page], timeout=90).stdout
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
