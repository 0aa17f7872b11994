"""Pod logs of the drill's targets, for the drill's span, into ``logs/<pod>_<container>.log``.

Logs are read once, when the collector stops (reading them live would need a stream per
container). A container that restarted during the drill — exactly what a pod-kill or a crash
causes — has its previous instance read too (``previous=true``), so the lines before the
restart are kept. Every line carries the API server's RFC 3339 timestamp, and only lines inside
[start, stop] are kept. The pods are listed at start and at stop: a pod deleted meanwhile (a
pod-kill replaces the pod) took its log with it, and that is noted; its replacement is read.
What cannot be read is noted in ``logs/k8s_logs.notes``, never fatal.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.errors import KubernetesError
from bridge.k8s import Kube

SAFE = str.maketrans({c: "_" for c in "/\\: "})


def line_time(line: str) -> float | None:
    """Unix seconds from the RFC 3339 timestamp the API server puts before each line (ns precision cut)."""
    stamp = line.split(" ", 1)[0]
    if not stamp or not stamp[0].isdigit():
        return None
    if "." in stamp:  # 2026-01-01T00:00:00.123456789Z → keep microseconds for fromisoformat
        head, frac = stamp.split(".", 1)
        digits = "".join(ch for ch in frac if ch.isdigit())
        zone = frac[len(digits) :] or "Z"
        stamp = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def within(text: str, start: float, end: float) -> list[str]:
    """The lines stamped inside [start, end]; unstamped lines follow the line before them."""
    kept: list[str] = []
    keep = False
    for line in text.splitlines():
        t = line_time(line)
        if t is not None:
            keep = start <= t <= end
        if keep:
            kept.append(line)
    return kept


class PodLogCollector:
    """Collects every container's log of the pods matching ``selectors`` in ``namespace``."""

    def __init__(
        self,
        kube: Kube,
        run_dir: Path,
        *,
        namespace: str,
        selectors: Sequence[Mapping[str, str]],
        clock: Callable[[], float] = time.time,
        margin_s: float = 5.0,
    ) -> None:
        self.kube = kube
        self.logs = Path(run_dir) / "logs"
        self.namespace = namespace
        self.selectors = [dict(s) for s in selectors]
        self.clock = clock
        self.margin_s = margin_s
        self.started: float | None = None
        self.at_start: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.written: list[Path] = []

    def start(self) -> None:
        self.started = self.clock()
        self.at_start = self._pods()

    def stop(self) -> None:
        if self.started is None:
            return
        end = self.clock()
        since = math.ceil(end - self.started + self.margin_s)
        self.logs.mkdir(parents=True, exist_ok=True)
        now = self._pods()
        current = {p["metadata"]["name"] for p in now}
        for gone in sorted({p["metadata"]["name"] for p in self.at_start} - current):
            self.notes.append(f"{gone}: deleted during the drill; its log went with it")
        for pod in now:
            for container, restarts in _containers(pod):
                self._collect(pod["metadata"]["name"], container, restarts, since, self.started, end)
        if self.notes:
            (self.logs / "k8s_logs.notes").write_text("\n".join(self.notes) + "\n")

    def _pods(self) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for labels in self.selectors:
            try:
                for pod in self.kube.list_pods(namespace=self.namespace, labels=labels):
                    seen.setdefault(pod["metadata"]["name"], pod)
            except KubernetesError as exc:
                self.notes.append(f"list pods {labels}: {exc}")
        return [seen[name] for name in sorted(seen)]

    def _collect(self, pod: str, container: str, restarts: int, since: int, start: float, end: float) -> None:
        lines: list[str] = []
        reads = [True, False] if restarts > 0 else [False]  # the instance before the restart first
        for previous in reads:
            try:
                text = self.kube.pod_log(
                    pod,
                    namespace=self.namespace,
                    container=container,
                    since_seconds=since,
                    previous=previous,
                    timestamps=True,
                )
            except KubernetesError as exc:
                self.notes.append(f"{pod}/{container}{' (previous)' if previous else ''}: {exc}")
                continue
            lines += within(text, start, end)
        path = self.logs / f"{pod.translate(SAFE)}_{container.translate(SAFE)}.log"
        path.write_text("\n".join(lines) + ("\n" if lines else ""))
        self.written.append(path)


def _containers(pod: Mapping[str, Any]) -> list[tuple[str, int]]:
    restarts = {
        s.get("name"): int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or []
    }
    return [(c["name"], restarts.get(c["name"], 0)) for c in (pod.get("spec") or {}).get("containers") or []]
