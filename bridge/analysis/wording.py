"""Plain words and rounded figures for people: what the reports and the terminal show.

Raw names (``add_to_cart``, ``consume_delay_ms``) stay in the data; a report shows the plain
word and keeps the raw name on hover or in a footnote. Figures are rounded to what a person
reads: ratios as percentages, milliseconds without decimals, seconds to the second.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

# Operations the demo shop's probes know; any other name is spelled out from its words.
OPERATIONS = {
    "add_to_cart": "add-to-cart requests",
    "cart_visible": "cart updates",
    "get_cart": "cart reads",
    "place_order": "orders",
}
QUANTILES = {"p50": "median", "p95": "95th percentile", "p99": "99th percentile", "max": "slowest"}
_UNIT_SUFFIX = re.compile(r"_(ms|millis|milliseconds|s|seconds|total|count|messages)$", re.I)


def op_words(op: str) -> str:
    """``add_to_cart`` -> "add-to-cart requests"; an unknown op by its words ("send order requests")."""
    if op in OPERATIONS:
        return OPERATIONS[op]
    return f"{op.replace('_', ' ').replace('-', ' ').strip()} requests" if op else "requests"


def metric_words(name: str) -> str:
    """A collected metric's plain name: what it measures, without prefixes and units."""
    low = name.lower()
    if "delay" in low or ("lag" in low and "latency" in low):
        return "consume delay"
    if re.search(r"lag|backlog|accumulat", low):
        return "consumer backlog"
    words = _UNIT_SUFFIX.sub("", name).replace("_", " ").replace(".", " ").strip()
    return words or name


def quantile_words(q: str) -> str:
    return QUANTILES.get(q, q)


def pct(ratio: float | None) -> str:
    """0.995 -> "99.5 %", 1.0 -> "100 %"; never rounds a shortfall up to 100 % or a success down to 0 %."""
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return "–"
    p = float(ratio) * 100.0
    if abs(p - round(p)) < 1e-9:
        return f"{p:.0f} %"
    text = f"{p:.1f}"
    if float(text) in (0.0, 100.0):  # 99.96 % is not 100 %: one more decimal, then cut towards the truth
        text = f"{math.floor(p * 100) / 100:.2f}" if p > 50 else f"{math.ceil(p * 100) / 100:.2f}"
    return f"{text} %"


def ms(value: float | None) -> str:
    """Milliseconds without decimals ("1,234 ms"); from 10 s on, seconds ("12.5 s")."""
    if value is None or math.isnan(value):
        return "–"
    if value >= 10_000:
        return seconds(value / 1000.0)
    return f"{value:,.0f} ms"


def seconds(value: float | None) -> str:
    """Seconds as a person reads them: "9 s", "1.5 s" under ten, "under 1 s", "2 min 5 s"."""
    if value is None or math.isnan(value):
        return "–"
    if value < 1:
        return "under 1 s"
    if value < 10 and abs(value - round(value)) >= 0.05:
        return f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def yes_no(value: object) -> str:
    """True/False/None as the words a table shows."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


_PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)%")


def raw_names(text: str, ops: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The raw operation names that occur in ``text`` (known ones and ``ops``), longest first."""
    names = sorted({*OPERATIONS, *ops}, key=len, reverse=True)
    return [n for n in names if n and re.search(rf"\b{re.escape(n)}\b", text)]


def plain_sentence(
    text: str, ops: list[str] | tuple[str, ...] = (), wrap: Callable[[str, str], str] | None = None
) -> str:
    """A sentence from the analysis made readable: "add_to_cart: 90.00% ..." -> "add-to-cart requests: 90 % ...".

    ``wrap(plain, raw)`` can dress each replaced name (the report keeps the raw name on hover).
    """
    out = _PERCENT.sub(lambda m: pct(float(m.group(1)) / 100.0), text)
    for raw in raw_names(out, ops):
        word = wrap(op_words(raw), raw) if wrap else op_words(raw)
        out = re.sub(rf"\b{re.escape(raw)}\b", lambda _m, w=word: w, out)  # type: ignore[misc]
    return out
