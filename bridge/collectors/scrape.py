"""Scrape Prometheus text endpoints on a fixed schedule into ``metrics.csv`` (``t,source,name,value,labels``).

Each scrape also records how it went as ``mqdrill_scrape_up`` (1 or 0, with the error as a
label), ``mqdrill_scrape_duration_seconds`` and ``mqdrill_scrape_samples``, so a service that
stopped answering during the fault is visible in the metrics too, not just missing.
Runs in a background thread; the file is flushed after every round.
"""

from __future__ import annotations

import csv
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bridge.collectors.promtext import format_value, parse

HEADER: tuple[str, ...] = ("t", "source", "name", "value", "labels")
ACCEPT = "text/plain;version=0.0.4;q=1.0, */*;q=0.1"  # the text format, not protobuf or OpenMetrics
Fetch = Callable[[str, float], str]
Row = tuple[float, str, str, float, dict[str, str]]
# Local endpoints are reached directly, whatever http_proxy says (urllib would otherwise use it for 127.0.0.1).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class ScrapeTarget:
    source: str  # e.g. frontend, cartservice, broker
    url: str  # e.g. http://127.0.0.1:8080/metrics


@dataclass(frozen=True)
class ScrapeResult:
    source: str
    ok: bool
    samples: int
    error: str = ""


class ScrapeFailed(Exception):
    pass


def fetch_text(url: str, timeout_s: float) -> str:
    """GET ``url`` and return its body as text; raise :class:`ScrapeFailed` with a short reason."""
    request = urllib.request.Request(url, headers={"Accept": ACCEPT})
    try:
        with _DIRECT.open(request, timeout=timeout_s) as resp:
            body: bytes = resp.read()
            return body.decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        raise ScrapeFailed(f"http {exc.code}") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ScrapeFailed(type(reason).__name__ if not isinstance(reason, str) else reason) from exc


class MetricsCsv:
    """Appends rows to ``metrics.csv``, header first when the file is new."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._file, lineterminator="\n")
        if self._file.tell() == 0:
            self._writer.writerow(HEADER)

    def write(self, t: float, source: str, name: str, value: float, labels: dict[str, str]) -> None:
        encoded = json.dumps(labels, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        self._writer.writerow((f"{t:.3f}", source, name, format_value(value), encoded))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class Scraper:
    """Scrapes every target each ``interval_s`` (on a fixed grid) from :meth:`start` until :meth:`stop`."""

    def __init__(
        self,
        targets: Sequence[ScrapeTarget],
        csv_path: Path,
        *,
        interval_s: float = 5.0,
        timeout_s: float = 2.0,
        fetch: Fetch = fetch_text,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.targets = tuple(targets)
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._fetch = fetch
        self._clock = clock
        self._out = MetricsCsv(csv_path)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one round at a time: the thread's and stop()'s final one
        self.rounds = 0

    def scrape_once(self) -> list[ScrapeResult]:
        """One round over every target, concurrently; rows written and flushed before returning."""
        if not self.targets:
            return []
        with self._lock, ThreadPoolExecutor(max_workers=min(8, len(self.targets))) as pool:
            outcomes = list(pool.map(self._scrape, self.targets))
            for _, rows in outcomes:
                for row in rows:
                    self._out.write(*row)
            self._out.flush()
            self.rounds += 1
            return [result for result, _ in outcomes]

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("scraper already started")
        self._thread = threading.Thread(target=self._run, name="mqdrill-scrape", daemon=True)
        self._thread.start()

    def stop(self, *, final: bool = True) -> None:
        """Stop the schedule, take one last round (``final``) so the end of the span is covered, close."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval_s + self.timeout_s * 2 + 5)
        if final:
            self.scrape_once()
        self._out.close()

    def _run(self) -> None:
        started = time.monotonic()
        k = 0
        while not self._stop.is_set():
            self.scrape_once()
            # Next tick on the grid; ticks missed by a slow round are skipped, not bunched.
            k = max(k + 1, int((time.monotonic() - started) / self.interval_s) + 1)
            self._stop.wait(max(0.0, started + k * self.interval_s - time.monotonic()))

    def _scrape(self, target: ScrapeTarget) -> tuple[ScrapeResult, list[Row]]:
        """Fetch and parse one target (in a pool thread); rows are written by the caller's thread."""
        t = self._clock()
        began = time.monotonic()
        try:
            text = self._fetch(target.url, self.timeout_s)
        except ScrapeFailed as exc:
            failed: Row = (t, target.source, "mqdrill_scrape_up", 0.0, {"error": str(exc)})
            return ScrapeResult(target.source, False, 0, str(exc)), [failed]
        took = time.monotonic() - began
        exposition = parse(text)
        rows: list[Row] = []
        for sample in exposition.samples:
            at = sample.timestamp_s if sample.timestamp_s is not None and abs(sample.timestamp_s - t) < 3600 else t
            rows.append((at, target.source, sample.name, sample.value, sample.labels))
        rows.append((t, target.source, "mqdrill_scrape_up", 1.0, {}))
        rows.append((t, target.source, "mqdrill_scrape_duration_seconds", took, {}))
        rows.append((t, target.source, "mqdrill_scrape_samples", float(len(exposition.samples)), {}))
        if exposition.errors:
            rows.append((t, target.source, "mqdrill_scrape_parse_errors", float(len(exposition.errors)), {}))
        return ScrapeResult(target.source, True, len(exposition.samples)), rows
