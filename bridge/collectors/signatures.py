"""Error signatures in log lines, counted per second into ``logs/signatures.csv`` (``t,source,signature,count``).

A signature is the class of an error, not its message: a Java or Python exception/error class
(``java.net.ConnectException``, ``RemotingTooMuchRequestException``, ``ConnectionRefusedError``),
a gRPC status (``grpc StatusCode.UNAVAILABLE``), a RocketMQ response code (``rocketmq CODE: 14``)
or an errno name (``ECONNREFUSED``); lines with none of these but a well-known network phrase
(``connection refused``) count under that phrase. Each signature counts once per line.

The second a line counts in comes from its own timestamp (ISO 8601 / RFC 3339, ``YYYY-MM-DD
HH:MM:SS[,.]mmm`` as logback, RocketMQ and Python logging write it, or epoch seconds or
milliseconds leading the line or in a JSON ``ts``/``time``/``timestamp`` field); a line without
one (a stack-trace continuation) takes the last timestamp seen in the same source, else the
collection time. Timestamps without a zone are read in ``tz`` (default: this machine's zone);
:func:`infer_zone` finds a log's zone from its newest line and the file's modification time.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path

HEADER: tuple[str, ...] = ("t", "source", "signature", "count")

_CLASS = re.compile(r"(?<![\w$.])((?:[a-z_][a-z0-9_]*\.)*_*[A-Z][A-Za-z0-9_$]*?(?:Exception|Error))\b")
_GRPC = re.compile(r"\bStatusCode\.([A-Z_]{3,})\b|\bStatus\{code=([A-Z_]{3,})\b|StatusRuntimeException: ([A-Z_]{3,})\b")
_ROCKETMQ_CODE = re.compile(r"\bCODE:\s*(-?\d{1,4})\b")
_ERRNO = re.compile(r"\b(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|EAI_AGAIN)\b")
_PHRASES = re.compile(
    r"(?i)\b(connection refused|connection reset by peer|broken pipe|i/o timeout|no route to host|"
    r"deadline exceeded|too many open files|out of memory)\b"
)

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2}(?![\d:]))?"
)
_EPOCH_LEAD = re.compile(r"^\s*\[?(\d{10}(?:\.\d+)?|\d{13})(?![\d:-])")
_EPOCH_JSON = re.compile(r"\"(?:ts|time|timestamp|@timestamp)\"\s*:\s*(\d{10}(?:\.\d+)?|\d{13})(?!\d)")
_TIMESTAMP_WITHIN = 64  # a timestamp further into the line belongs to the message, not the record
_EPOCH_MIN, _EPOCH_MAX = 946_684_800, 4_102_444_800  # 2000 … 2100


def signatures(line: str) -> list[str]:
    """The error signatures a line carries, each once, in order of first appearance."""
    found: dict[str, None] = {}
    classes = list(dict.fromkeys(match.group(1) for match in _CLASS.finditer(line)))
    qualified_tails = {name.rsplit(".", 1)[1] for name in classes if "." in name}
    for name in classes:
        if "." in name or name not in qualified_tails:  # `pkg.FooError: <FooError …>` is one class
            found[name] = None
    for match in _GRPC.finditer(line):
        found[f"grpc StatusCode.{match.group(1) or match.group(2) or match.group(3)}"] = None
    for match in _ROCKETMQ_CODE.finditer(line):
        found[f"rocketmq CODE: {int(match.group(1))}"] = None
    for match in _ERRNO.finditer(line):
        found[match.group(1)] = None
    if not found:
        for match in _PHRASES.finditer(line):
            found[match.group(1).lower()] = None
    return list(found)


def line_timestamp(line: str, tz: tzinfo | None = None) -> float | None:
    """Unix seconds of the line's own timestamp, or None when it has none near its start."""
    head = line[:_TIMESTAMP_WITHIN]
    match = _DATETIME.search(head)
    if match is not None:
        return _datetime_seconds(match, tz)
    epoch = _EPOCH_LEAD.match(head) or _EPOCH_JSON.search(line)
    if epoch is not None:
        value = float(epoch.group(1))
        value = value / 1000.0 if "." not in epoch.group(1) and len(epoch.group(1)) == 13 else value
        return value if _EPOCH_MIN <= value <= _EPOCH_MAX else None
    return None


def _datetime_seconds(match: re.Match[str], tz: tzinfo | None) -> float | None:
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = float(f"0.{match.group(7)}") if match.group(7) else 0.0
    zone = match.group(8)
    if zone == "Z":
        zone_info: tzinfo | None = UTC
    elif zone:
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        zone_info = timezone(offset if zone[0] == "+" else -offset)
    else:
        zone_info = tz
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=zone_info)
    except ValueError:
        return None
    return moment.timestamp() + fraction


def infer_zone(last_lines: Iterable[str], written_at: float) -> tzinfo | None:
    """The zone a log writes its zone-less timestamps in, from its newest such line and the file's mtime.

    The newest line was written at about the file's modification time, so the difference between
    its wall-clock reading and ``written_at``, rounded to a quarter hour, is the zone's offset.
    RocketMQ's logback configuration, for one, writes GMT+8 whatever the machine's zone. None
    when no zone-less timestamp is found or the offset is not a plausible zone.
    """
    for line in reversed(list(last_lines)):
        as_utc = line_timestamp(line, UTC)
        if as_utc is None or as_utc == line_timestamp(line, timezone(timedelta(hours=1))):
            continue  # no timestamp, or one that carries its own zone
        quarters = round((as_utc - written_at) / 900)
        if abs(quarters) > 14 * 4:
            return None
        return timezone(timedelta(minutes=15 * quarters))
    return None


class SignatureCounter:
    """Counts signatures per (second, source, signature) over lines fed in file order."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        self.counts: Counter[tuple[int, str, str]] = Counter()
        self._tz = tz
        self._last_t: dict[str, float] = {}

    def feed(self, source: str, line: str, collected_at: float, *, tz: tzinfo | None = None) -> None:
        """Count ``line``'s signatures; ``tz`` (else the counter's) reads timestamps that carry no zone."""
        own = line_timestamp(line, tz or self._tz)
        if own is not None:
            self._last_t[source] = own
        found = signatures(line)
        if not found:
            return
        t = own if own is not None else self._last_t.get(source, collected_at)
        for signature in found:
            self.counts[(int(t), source, signature)] += 1

    def feed_lines(self, source: str, lines: Iterable[str], collected_at: float) -> None:
        self.new_stream(source)
        for line in lines:
            self.feed(source, line, collected_at)

    def new_stream(self, source: str) -> None:
        """The next lines of ``source`` come from another file: forget the last record's time."""
        self._last_t.pop(source, None)

    def rows(self) -> list[tuple[int, str, str, int]]:
        return sorted((t, source, signature, n) for (t, source, signature), n in self.counts.items())

    def write_csv(self, path: Path) -> None:
        """Write (replace) ``signatures.csv``, header first, rows in time order."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(HEADER)
            writer.writerows(self.rows())
