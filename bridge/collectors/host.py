"""The machine the probe runs on, as metrics: load average and CPU busy share from ``/proc``.

A drill judged on a saturated machine measures the machine, not the application; these rows
(source ``host`` in ``metrics.csv``) let the analysis say so. The sampler renders Prometheus
text, so the scraper that already writes ``metrics.csv`` collects it like any other target and
the file keeps one writer:

    host_load1 / host_load5      /proc/loadavg, runnable tasks averaged over 1 and 5 minutes
    host_procs_running           /proc/loadavg, runnable tasks at the sample
    host_cpus                    CPUs this process may run on
    host_cpu_busy_percent        share of CPU time not idle or iowait since the previous sample
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from bridge.collectors.scrape import Fetch, ScrapeFailed, ScrapeTarget, fetch_text

HOST_URL = "proc://host"
HOST_TARGET = ScrapeTarget("host", HOST_URL)


def read_cpu_times(text: str) -> tuple[int, int]:
    """(busy, total) jiffies from the aggregate ``cpu`` line of /proc/stat."""
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            values = [int(v) for v in parts[1:]]
            # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
            fields = values[:8]
            idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
            total = sum(fields)
            return total - idle, total
    raise ValueError("no aggregate cpu line in /proc/stat")


def busy_percent(start: tuple[int, int], end: tuple[int, int]) -> float | None:
    """The CPU busy share between two :func:`read_cpu_times` readings; None when no time passed."""
    if end[1] <= start[1]:
        return None
    return 100.0 * (end[0] - start[0]) / (end[1] - start[1])


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity, which a container's cpuset narrows)."""
    return len(os.sched_getaffinity(0))


def read_loadavg(text: str) -> tuple[float, float, int]:
    """(load1, load5, runnable now) from /proc/loadavg."""
    parts = text.split()
    return float(parts[0]), float(parts[1]), int(parts[3].split("/")[0])


class HostSampler:
    """Renders the host's figures as Prometheus text; CPU busy is measured between two calls."""

    def __init__(self, proc: Path = Path("/proc"), cpus: Callable[[], int] | None = None) -> None:
        self.proc = proc
        self._cpus = cpus or usable_cpus
        self._last: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def text(self) -> str:
        load1, load5, running = read_loadavg((self.proc / "loadavg").read_text())
        busy, total = read_cpu_times((self.proc / "stat").read_text())
        lines = [
            f"host_load1 {load1}",
            f"host_load5 {load5}",
            f"host_procs_running {running}",
            f"host_cpus {self._cpus()}",
        ]
        with self._lock:
            last, self._last = self._last, (busy, total)
        share = busy_percent(last, (busy, total)) if last is not None else None
        if share is not None:
            lines.append(f"host_cpu_busy_percent {share:.2f}")
        return "\n".join(lines) + "\n"


def with_host(fetch: Fetch = fetch_text, sampler: HostSampler | None = None) -> Fetch:
    """A scraper fetch that answers :data:`HOST_URL` from ``/proc`` and everything else with ``fetch``."""
    host = sampler or HostSampler()

    def fetch_any(url: str, timeout_s: float) -> str:
        if url != HOST_URL:
            return fetch(url, timeout_s)
        try:
            return host.text()
        except (OSError, ValueError, IndexError) as exc:  # no /proc (not Linux) or an unexpected format
            raise ScrapeFailed(f"host: {type(exc).__name__}") from exc

    return fetch_any


class BusySpan:
    """The host's CPU busy share and load average from ``begin()`` until now.

    A preflight that refuses on a saturated machine must say so (the figures are the host's, not
    the application's), and it decides within the first seconds of the baseline, before the
    scraper has written the two host rows a busy share needs; so it reads ``/proc`` itself."""

    def __init__(self, proc: Path = Path("/proc"), cpus: Callable[[], int] | None = None) -> None:
        self.proc = proc
        self._cpus = cpus or usable_cpus
        self._start: tuple[int, int] | None = None

    def _times(self) -> tuple[int, int] | None:
        try:
            return read_cpu_times((self.proc / "stat").read_text())
        except (OSError, ValueError, IndexError):  # no /proc (not Linux) or an unexpected format
            return None

    def begin(self) -> None:
        self._start = self._times()

    def since_begin(self) -> tuple[float, float, int] | None:
        """(CPU busy percent, load average over 1 minute, CPUs) since ``begin()``; None when
        ``begin()`` was not called, no time passed, or ``/proc`` cannot be read."""
        end = self._times()
        busy = busy_percent(self._start, end) if self._start is not None and end is not None else None
        if busy is None:
            return None
        try:
            load1 = read_loadavg((self.proc / "loadavg").read_text())[0]
        except (OSError, ValueError, IndexError):
            load1 = float("nan")
        return busy, load1, self._cpus()
