"""The collectors a Kubernetes drill runs with: pod logs of its targets, and Prometheus when
one is configured (``prometheus_url`` or ``$MQDRILL_PROMETHEUS_URL``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from bridge.collectors.k8s_logs import PodLogCollector
from bridge.collectors.prometheus import PROMETHEUS_URL_ENV, PrometheusCollector, demo_queries
from bridge.k8s import Kube
from bridge.spec.catalog import Catalog
from bridge.spec.resolve import ResolvedDrill


class Collector(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def kubernetes_collectors(
    kube: Kube,
    run_dir: Path,
    *,
    namespace: str,
    selectors: Sequence[Mapping[str, str]],
    prometheus_url: str | None = None,
    queries: Mapping[str, str] | None = None,
) -> list[Collector]:
    """Pod logs of every pod matching one of ``selectors`` (targets and the judged applications),
    plus Prometheus ``query_range`` of ``queries`` (default: the demo shop's) when a URL is known."""
    collectors: list[Collector] = [PodLogCollector(kube, run_dir, namespace=namespace, selectors=selectors)]
    url = prometheus_url or os.environ.get(PROMETHEUS_URL_ENV)
    if url:
        collectors.append(PrometheusCollector(url, queries or demo_queries(namespace), run_dir))
    return collectors


def selectors_for(resolved: ResolvedDrill, catalog: Catalog) -> tuple[str | None, list[dict[str, str]]]:
    """The namespace and the label sets whose pods' logs tell the story of a drill: every fault's
    target, and the judged application (whose logs show the errors a fault causes)."""
    namespace = next((f.target.namespace for f in resolved.faults if f.target.namespace), None)
    selectors: list[dict[str, str]] = [dict(f.target.labels) for f in resolved.faults if f.target.labels]
    app = catalog.components.get(resolved.drill.app)
    if app is not None and app.kubernetes is not None:
        selectors.append(dict(app.kubernetes.labels))
    unique = {tuple(sorted(s.items())): s for s in selectors}
    return namespace, list(unique.values())


def collectors_for_drill(kube: Kube, resolved: ResolvedDrill, catalog: Catalog, run_dir: Path) -> list[Collector]:
    """What the runner starts with a Kubernetes drill (nothing for a local one)."""
    namespace, selectors = selectors_for(resolved, catalog)
    if namespace is None:
        return []
    return kubernetes_collectors(kube, run_dir, namespace=namespace, selectors=selectors)
