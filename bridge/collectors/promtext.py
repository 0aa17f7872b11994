"""A parser of the Prometheus text exposition format (0.0.4, and OpenMetrics text as far as samples go).

Tolerant by design: a line it cannot read is skipped and reported in ``errors``, so one odd
exporter line never loses a scrape. Histograms and summaries need nothing special: their
``_bucket``/``_sum``/``_count`` and ``quantile`` samples are ordinary samples with labels.
OpenMetrics exemplars (`` # {...} v``) are dropped; ``# EOF`` ends the input.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_META = re.compile(r"#[ \t]+(HELP|TYPE)[ \t]+([^ \t]+)(?:[ \t](.*))?$", re.DOTALL)
_UNESCAPE_HELP = {"\\": "\\", "n": "\n"}
_UNESCAPE_LABEL = {"\\": "\\", "n": "\n", '"': '"'}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float
    timestamp_s: float | None = None


@dataclass
class Exposition:
    """What one scrape said: samples in order, plus each family's declared TYPE and HELP."""

    samples: list[Sample] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    helps: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class _Bad(ValueError):
    pass


def parse(text: str) -> Exposition:
    """Parse exposition text; never raises on content (bad lines land in ``errors``)."""
    out = Exposition()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            line = line.lstrip(" \t")
            if line.startswith("#"):
                if line.strip() == "# EOF":
                    break
                _comment(line, out)
            else:
                out.samples.append(_sample(line))
        except _Bad as exc:
            out.errors.append(f"line {number}: {exc}")
    return out


def _comment(line: str, out: Exposition) -> None:
    match = _META.match(line)
    if match is None:
        return  # a plain comment
    kind, name, rest = match.group(1), match.group(2), match.group(3) or ""
    if not NAME.fullmatch(name):
        raise _Bad(f"bad metric name in {kind}: {name!r}")
    if kind == "TYPE":
        out.types[name] = rest.strip(" \t")
    else:
        out.helps[name] = _unescape(rest, _UNESCAPE_HELP)


def _sample(line: str) -> Sample:
    match = NAME.match(line)
    if match is None:
        raise _Bad("no metric name")
    name, pos = match.group(), match.end()
    labels: dict[str, str] = {}
    brace = _skip_blanks(line, pos)
    has_labels = line[brace : brace + 1] == "{"
    if has_labels:
        labels, pos = _labels(line, brace + 1)
    rest = line[pos:]
    if rest and not rest[0].isspace() and not has_labels:
        raise _Bad(f"unexpected {rest[0]!r} after {name}")
    fields = rest.split(" # ", 1)[0].split()  # drop an OpenMetrics exemplar
    if not 1 <= len(fields) <= 2:
        raise _Bad(f"expected a value and an optional timestamp after {name}")
    value = _float(fields[0])
    timestamp = _timestamp(fields[1]) if len(fields) == 2 else None
    return Sample(name, labels, value, timestamp)


def _labels(line: str, pos: int) -> tuple[dict[str, str], int]:
    labels: dict[str, str] = {}
    while True:
        pos = _skip_blanks(line, pos)
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        match = LABEL_NAME.match(line, pos)
        if match is None:
            raise _Bad(f"bad label name at column {pos + 1}")
        pos = _expect(line, _skip_blanks(line, match.end()), "=", match.group())
        pos = _expect(line, _skip_blanks(line, pos), '"', match.group())
        value, pos = _quoted(line, pos)
        labels[match.group()] = value
        pos = _skip_blanks(line, pos)
        if pos < len(line) and line[pos] == ",":
            pos += 1
        elif pos >= len(line) or line[pos] != "}":
            raise _Bad(f"expected , or }} after label {match.group()}")


def _expect(line: str, pos: int, char: str, label: str) -> int:
    if line[pos : pos + 1] != char:
        raise _Bad(f"expected {char} in label {label}")
    return pos + 1


def _quoted(line: str, pos: int) -> tuple[str, int]:
    chars: list[str] = []
    while pos < len(line):
        ch = line[pos]
        if ch == '"':
            return "".join(chars), pos + 1
        if ch == "\\" and pos + 1 < len(line):
            nxt = line[pos + 1]
            chars.append(_UNESCAPE_LABEL.get(nxt, "\\" + nxt))
            pos += 2
            continue
        chars.append(ch)
        pos += 1
    raise _Bad("unterminated label value")


def _unescape(text: str, table: dict[str, str]) -> str:
    return re.sub(r"\\(.)", lambda m: table.get(m.group(1), m.group(0)), text)


def _skip_blanks(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise _Bad(f"bad value {text!r}") from exc


def _timestamp(text: str) -> float:
    """Milliseconds in the Prometheus format; OpenMetrics writes seconds with a fraction."""
    value = _float(text)
    if not math.isfinite(value):
        raise _Bad(f"bad timestamp {text!r}")
    return value if "." in text else value / 1000.0


def format_value(value: float) -> str:
    """A value as exposition text writes it (``NaN``, ``+Inf``, ``-Inf``, else the shortest repr)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)
