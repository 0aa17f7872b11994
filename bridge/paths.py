"""Where mqdrill keeps things on disk. Environment variables override, so tests and users can
point every part at its own folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def state_dir() -> Path:
    """Machine-local state: the fault ledger, the embedded environment (``MQDRILL_STATE``)."""
    return Path(os.environ.get("MQDRILL_STATE", str(REPO_ROOT / ".state")))


def reports_dir() -> Path:
    """Runs, suites and the archive (``MQDRILL_REPORTS``)."""
    return Path(os.environ.get("MQDRILL_REPORTS", str(REPO_ROOT / "reports")))


def ledger_dir() -> Path:
    return Path(os.environ.get("MQDRILL_LEDGER", str(state_dir() / "ledger")))
