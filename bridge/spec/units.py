"""Durations and sizes as users write them ("90s", "5m", "1h30m", "512Mi"), parsed, bounded.

Values that reach a command line or a Kubernetes object are re-rendered from the parsed
number, never passed through, so nothing a user typed lands in an argv unchecked.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(?:(?P<h>\d{1,4})h)?(?:(?P<m>\d{1,5})m)?(?:(?P<s>\d{1,6})s)?(?:(?P<ms>\d{1,8})ms)?$")
_SIZE = re.compile(r"^(?P<n>\d{1,12})(?P<unit>|Ki|Mi|Gi|K|M|G)$")
_SIZE_FACTORS = {"": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}

MAX_DURATION_S = 24 * 3600


def parse_duration_ms(value: str | int | float) -> int:
    """Milliseconds from "250ms", "30s", "5m", "1h30m" or a plain number of seconds.

    Raises ValueError with what is allowed; negative, empty and absurd (> 24 h) values are refused.
    """
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or text like '30s', '5m', '250ms'")
    if isinstance(value, int | float):
        if value != value or value < 0:  # NaN or negative
            raise ValueError(f"a duration cannot be negative: {value!r}")
        ms = round(float(value) * 1000) if value < 1e12 else MAX_DURATION_S * 1000 + 1
    elif isinstance(value, str):
        text = value.strip()
        match = _DURATION.match(text)
        if not text or match is None or not any(match.groupdict().values()):
            raise ValueError(f"not a duration: {value[:40]!r} (write e.g. '250ms', '30s', '5m', '1h30m')")
        parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        ms = ((parts["h"] * 60 + parts["m"]) * 60 + parts["s"]) * 1000 + parts["ms"]
    else:
        raise ValueError(f"a duration must be a number of seconds or text like '30s', got {type(value).__name__}")
    if ms > MAX_DURATION_S * 1000:
        raise ValueError(f"duration too long: {value!r} (at most 24h)")
    return ms


def parse_duration_s(value: str | int | float) -> float:
    """Seconds (float) from the same forms as :func:`parse_duration_ms`."""
    return parse_duration_ms(value) / 1000.0


def format_duration(seconds: float) -> str:
    """The Go-style duration Kubernetes tools accept: "90s", "250ms" (integral units only)."""
    ms = round(seconds * 1000)
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


def parse_size_bytes(value: str | int) -> int:
    """Bytes from 1024, "512Mi", "2G". Raises ValueError on anything else."""
    if isinstance(value, bool):
        raise ValueError("a size must be a number of bytes or text like '512Mi'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative: {value}")
        return value
    match = _SIZE.match(value.strip())
    if match is None:
        raise ValueError(f"not a size: {value[:40]!r} (write e.g. '512Mi', '2Gi', '100M')")
    return int(match["n"]) * _SIZE_FACTORS[match["unit"]]
