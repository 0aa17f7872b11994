"""Prometheus ``query_range`` for configured queries, appended to the run's ``metrics.csv``.

Rows follow the run-directory contract: ``t, source, name, value, labels`` with ``source``
``prometheus``, ``name`` the query's configured name (e.g. ``http_success_ratio``,
``rocketmq_consumer_lag``) and ``labels`` the series' labels as a JSON object. The range is
the collector's own start..stop, at ``step_s``. A query that fails is noted in the rows'
absence and in ``errors`` (and ``logs/prometheus.notes``), never fatal to the drill.
"""

from __future__ import annotations

import csv
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

HEADER = ["t", "source", "name", "value", "labels"]
PROMETHEUS_URL_ENV = "MQDRILL_PROMETHEUS_URL"


def demo_queries(namespace: str) -> dict[str, str]:
    """Queries for the demo shop's own metrics and the RocketMQ exporter, in one namespace.

    Names are what analysis and the report see in metrics.csv; ratios and quantiles are left
    to Prometheus so that a run directory needs no histogram buckets to be read.
    """
    ns = f'namespace="{namespace}"'
    rate = "[30s]"
    return {
        "frontend_request_rate": f"sum(rate(frontend_requests_total{{{ns}}}{rate}))",
        "frontend_error_ratio": (
            f'sum(rate(frontend_requests_total{{{ns},status=~"5.."}}{rate}))'
            f" / sum(rate(frontend_requests_total{{{ns}}}{rate}))"
        ),
        "frontend_send_p95_s": (
            f"histogram_quantile(0.95, sum by (le) (rate(frontend_send_seconds_bucket{{{ns}}}{rate})))"
        ),
        "frontend_send_error_rate": f"sum by (error) (rate(frontend_send_errors_total{{{ns}}}{rate}))",
        "cartservice_consume_delay_p95_s": (
            f"histogram_quantile(0.95, sum by (le) (rate(cartservice_consume_delay_seconds_bucket{{{ns}}}{rate})))"
        ),
        "rocketmq_consumer_lag": 'sum by (group, topic) (rocketmq_group_diff{group="CID_CART"})',
    }


class PrometheusError(Exception):
    """The Prometheus HTTP API answered with an error or not at all."""


def query_range(
    base_url: str, query: str, *, start: float, end: float, step_s: float, timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """The ``result`` of ``/api/v1/query_range`` (a list of ``{metric, values}`` series)."""
    params = urllib.parse.urlencode(
        {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s:g}"}
    )
    url = f"{base_url.rstrip('/')}/api/v1/query_range?{params}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 - configured http(s) URL
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            said = json.loads(exc.read()).get("error", "")
        except ValueError:
            said = ""
        raise PrometheusError(f"HTTP {exc.code} for {query!r}: {said or exc.reason}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PrometheusError(f"cannot query Prometheus at {base_url}: {exc}") from exc
    if body.get("status") != "success":
        raise PrometheusError(f"{query!r}: {body.get('errorType', '')} {body.get('error', '')}".strip())
    data = body.get("data") or {}
    if data.get("resultType") != "matrix":
        raise PrometheusError(f"{query!r}: expected a matrix, got {data.get('resultType')!r}")
    return list(data.get("result") or [])


def rows(name: str, series: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for s in series:
        labels = json.dumps(dict(sorted((s.get("metric") or {}).items())), separators=(",", ":"))
        for t, value in s.get("values") or []:
            v = float(value)
            if math.isnan(v):
                continue  # no sample at that step (e.g. a ratio over zero requests)
            out.append([f"{float(t):.3f}", "prometheus", name, repr(v), labels])
    return out


class PrometheusCollector:
    """Runs each configured query over the drill's span when stopped."""

    def __init__(
        self,
        base_url: str,
        queries: Mapping[str, str],
        run_dir: Path,
        *,
        step_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url
        self.queries = dict(queries)
        self.run_dir = Path(run_dir)
        self.step_s = step_s
        self.clock = clock
        self.started: float | None = None
        self.errors: list[str] = []

    def start(self) -> None:
        self.started = self.clock()

    def stop(self) -> None:
        if self.started is None:
            return
        end = self.clock()
        collected: list[list[str]] = []
        for name, query in self.queries.items():
            try:
                collected += rows(
                    name, query_range(self.base_url, query, start=self.started, end=end, step_s=self.step_s)
                )
            except PrometheusError as exc:
                self.errors.append(f"{name}: {exc}")
        append_metrics(self.run_dir / "metrics.csv", collected)
        if self.errors:
            notes = self.run_dir / "logs" / "prometheus.notes"
            notes.parent.mkdir(parents=True, exist_ok=True)
            notes.write_text("\n".join(self.errors) + "\n")


def append_metrics(path: Path, new_rows: list[list[str]]) -> None:
    """Append rows to metrics.csv, writing the header first when the file is new."""
    fresh = not path.exists() or path.stat().st_size == 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        if fresh:
            writer.writerow(HEADER)
        writer.writerows(new_rows)
