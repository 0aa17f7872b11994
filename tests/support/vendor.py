"""Where the vendored third-party specs live: ../shared/vendor beside the repository (never copied in)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENDOR = (REPO / ".." / "shared" / "vendor").resolve()
CHAOS_MESH = VENDOR / "chaos-mesh"
CHAOSBLADE = VENDOR / "chaosblade"
