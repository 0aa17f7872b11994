"""Live statistics over the last N seconds, per operation, for progress display and the guard.

Rows are bucketed by the second they *completed* in, so a stall shows up as soon as its
requests time out. Thread-safe: the probe's loop records, the runner's main thread reads.
Time is passed in by the caller (Unix seconds), which keeps this testable with a fake clock.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from bridge.probes.rows import ProbeRow

HORIZON_S = 900  # buckets older than this are dropped


@dataclass(frozen=True)
class OpStats:
    """One operation over a window: counts, success ratio, latency percentiles of answered rows."""

    op: str
    count: int
    ok: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @property
    def success_ratio(self) -> float | None:
        return None if self.count == 0 else self.ok / self.count


@dataclass(frozen=True)
class ProbeStats:
    """A snapshot: per-operation figures over ``window_s``, plus the probe's own health."""

    window_s: float
    ops: dict[str, OpStats]
    in_flight: int = 0
    scheduled: int = 0  # flows scheduled since start
    overflow: int = 0  # flows refused because too many were in flight
    lateness_p99_ms: float | None = None  # send lateness over the window

    def op(self, name: str) -> OpStats:
        return self.ops.get(name) or OpStats(name, 0, 0, None, None, None)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of already sorted values; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class _Bucket:
    second: int
    count: dict[str, int] = field(default_factory=dict)
    ok: dict[str, int] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    lateness_ms: list[float] = field(default_factory=list)

    def only(self, ops: frozenset[str]) -> _Bucket:
        """A copy holding only the rows of ``ops`` (no lateness: that belongs to the schedule)."""
        return _Bucket(
            self.second,
            {op: n for op, n in self.count.items() if op in ops},
            {op: n for op, n in self.ok.items() if op in ops},
            {op: list(v) for op, v in self.latencies.items() if op in ops},
        )


def _add(bucket: _Bucket, row: ProbeRow) -> None:
    bucket.count[row.op] = bucket.count.get(row.op, 0) + 1
    if row.ok:
        bucket.ok[row.op] = bucket.ok.get(row.op, 0) + 1
    if row.latency_ms is not None:
        bucket.latencies.setdefault(row.op, []).append(row.latency_ms)


class LiveStats:
    """Per-second buckets of completed rows; :meth:`snapshot` merges the last ``window_s`` seconds.

    :meth:`judge_from` opens a second view, :meth:`judged`: the rows completed from a moment on
    (the end of the warm-up), plus every row of the operations whose first rows are read-back
    history (a Prometheus probe's recent past) — what the preflight judges.
    """

    def __init__(self, horizon_s: int = HORIZON_S) -> None:
        self._lock = threading.Lock()
        self._buckets: deque[_Bucket] = deque()
        self._horizon = horizon_s
        self.in_flight = 0
        self.scheduled = 0
        self.overflow = 0
        self._judged: LiveStats | None = None
        self._judged_from = math.inf
        self._always: frozenset[str] = frozenset()

    def record(self, row: ProbeRow, completed_at: float) -> None:
        with self._lock:
            _add(self._bucket(int(completed_at)), row)
            judged = self._judged
            if judged is not None and (completed_at >= self._judged_from or row.op in self._always):
                judged.record(row, completed_at)

    def judge_from(self, at: float, always: Iterable[str] = ()) -> None:
        """Start the judged view at ``at``: rows completed earlier are left out of it, except those of
        the ``always`` operations (all their rows so far are copied in)."""
        with self._lock:
            judged = LiveStats(self._horizon)
            keep = frozenset(always)
            for b in self._buckets:
                if keep & b.count.keys():
                    judged._buckets.append(b.only(keep))
            self._judged, self._judged_from, self._always = judged, at, keep

    def judged(self, now: float) -> ProbeStats:
        """Every row of the judged view (all rows when :meth:`judge_from` was never called)."""
        with self._lock:
            judged = self._judged
        if judged is None:
            return self.snapshot(math.inf, now)
        # the judged rows, with the probe's own health counters (the judged view keeps none)
        snap = judged.snapshot(math.inf, now)
        return replace(snap, in_flight=self.in_flight, scheduled=self.scheduled, overflow=self.overflow)

    def record_lateness(self, lateness_ms: float, at: float) -> None:
        with self._lock:
            self._bucket(int(at)).lateness_ms.append(lateness_ms)
            if self._judged is not None and at >= self._judged_from:
                self._judged.record_lateness(lateness_ms, at)

    def snapshot(self, window_s: float, now: float) -> ProbeStats:
        """Figures over the whole seconds back to the one holding ``now - window_s`` (``inf``: all kept).

        Buckets are whole seconds, so the window holds between ``window_s`` and ``window_s + 1``
        seconds of completions: never less than asked for, even early in the current second.
        """
        with self._lock:
            first = -math.inf if math.isinf(window_s) else math.floor(now - window_s)
            chosen = [b for b in self._buckets if b.second >= first]
            ops = _merge(chosen)
            lateness = sorted(x for b in chosen for x in b.lateness_ms)
            return ProbeStats(
                window_s=window_s,
                ops=ops,
                in_flight=self.in_flight,
                scheduled=self.scheduled,
                overflow=self.overflow,
                lateness_p99_ms=percentile(lateness, 99),
            )

    def _bucket(self, second: int) -> _Bucket:
        # Completions arrive nearly in order; a late one may land in an older bucket.
        for bucket in reversed(self._buckets):
            if bucket.second == second:
                return bucket
            if bucket.second < second:
                break
        new = _Bucket(second)
        self._buckets.append(new)
        if len(self._buckets) > 1 and self._buckets[-2].second > second:
            self._buckets = deque(sorted(self._buckets, key=lambda b: b.second))
        while self._buckets and self._buckets[0].second < second - self._horizon:
            self._buckets.popleft()
        return new


def _merge(buckets: Iterable[_Bucket]) -> dict[str, OpStats]:
    count: dict[str, int] = {}
    ok: dict[str, int] = {}
    lat: dict[str, list[float]] = {}
    for b in buckets:
        for op, n in b.count.items():
            count[op] = count.get(op, 0) + n
        for op, n in b.ok.items():
            ok[op] = ok.get(op, 0) + n
        for op, values in b.latencies.items():
            lat.setdefault(op, []).extend(values)
    result: dict[str, OpStats] = {}
    for op in sorted(count):
        values = sorted(lat.get(op, []))
        result[op] = OpStats(
            op, count[op], ok.get(op, 0), percentile(values, 50), percentile(values, 95), percentile(values, 99)
        )
    return result
