"""Times as the run directory writes them (ISO 8601, UTC, milliseconds) and reads them back."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any


def iso(t: float) -> str:
    """``2026-11-28T21:51:08.123Z`` from Unix seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


def epoch(value: Any) -> float | None:
    """Unix seconds from a number or an ISO 8601 text (``Z`` accepted); None for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None
