"""Pod logs over the emulator (logs are canned answers: the mock does not model them) and
Prometheus query_range over a loopback HTTP server speaking the Prometheus API."""

from __future__ import annotations

import csv
import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.collectors.k8s_logs import PodLogCollector, line_time, within
from bridge.collectors.kubernetes import collectors_for_drill, kubernetes_collectors, selectors_for
from bridge.collectors.prometheus import PrometheusCollector
from bridge.k8s import Kube
from bridge.spec.catalog import load_catalog
from bridge.spec.resolve import resolve
from tests.k8s.emulator import Emulator
from tests.support.drills import drill

T0 = datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC).timestamp()


def stamp(offset: float) -> str:
    return datetime.fromtimestamp(T0 + offset, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def pod(name: str, restarts: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "rocketmq-broker"}},
        "spec": {
            "containers": [
                {"name": "broker", "image": "apache/rocketmq:5.3.1"},
                {"name": "exporter", "image": "rocketmq-exporter"},
            ]
        },
        "status": {
            "containerStatuses": [{"name": "broker", "restartCount": restarts}, {"name": "exporter", "restartCount": 0}]
        },
    }


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def test_pod_logs_for_the_span_with_previous_containers(
    kube: Kube, emulator: Emulator, namespace: str, tmp_path: Path
) -> None:
    base = f"/api/v1/namespaces/{namespace}/pods"
    emulator.request("POST", base, pod("rocketmq-broker-0", restarts=1))
    emulator.request("POST", base, pod("rocketmq-broker-old", restarts=0))
    log = f"{base}/rocketmq-broker-0/log"
    emulator.expect(
        log,
        query={"container": "broker", "previous": "true", "timestamps": "true"},
        body=f"{stamp(-30)} before the drill\n{stamp(5)} killed soon\n  at stack frame\n",
    )
    emulator.expect(
        log,
        query={"container": "broker", "previous": "false", "timestamps": "true"},
        body=f"{stamp(20)} restarted\n{stamp(90)} after the drill\n",
    )
    emulator.expect(log, query={"container": "exporter", "previous": "false"}, body=f"{stamp(1)} scrape\n")
    clock = Clock()
    collector = PodLogCollector(
        kube, tmp_path, namespace=namespace, selectors=[{"app.kubernetes.io/name": "rocketmq-broker"}], clock=clock
    )
    collector.start()
    # Meanwhile a pod-kill deletes the old pod (the mock keeps no log for it anyway).
    emulator.request("DELETE", f"{base}/rocketmq-broker-old")
    clock.now = T0 + 60
    collector.stop()
    broker = (tmp_path / "logs" / "rocketmq-broker-0_broker.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in broker] == ["killed soon", " at stack frame", "restarted"]
    assert (tmp_path / "logs" / "rocketmq-broker-0_exporter.log").read_text().endswith("scrape\n")
    notes = (tmp_path / "logs" / "k8s_logs.notes").read_text()
    assert "rocketmq-broker-old: deleted during the drill" in notes
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == [
        "k8s_logs.notes",
        "rocketmq-broker-0_broker.log",
        "rocketmq-broker-0_exporter.log",
    ]


def test_line_time_reads_nanosecond_stamps() -> None:
    assert line_time("2026-01-01T00:00:10.123456789Z hello") == pytest.approx(T0 + 0.123456, abs=1e-6)
    assert line_time("2026-01-01T00:00:10Z hello") == T0
    assert line_time("no stamp here") is None
    assert within("x\n" + f"{stamp(1)} in\n", T0, T0 + 2) == [f"{stamp(1)} in"]


class FakePrometheus(BaseHTTPRequestHandler):
    """The Prometheus HTTP API's query_range, answering from a table of query → series."""

    series: dict[str, list[dict[str, Any]]] = {}
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urllib.parse.urlparse(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        self.seen.append(params)
        if url.path != "/api/v1/query_range" or params["query"] not in self.series:
            body, code = {"status": "error", "errorType": "bad_data", "error": "parse error at char 1"}, 400
        else:
            body, code = (
                {"status": "success", "data": {"resultType": "matrix", "result": self.series[params["query"]]}},
                200,
            )
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def prometheus() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakePrometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_query_range_rows_appended_to_metrics_csv(prometheus: str, tmp_path: Path) -> None:
    lag = 'sum by (group) (rocketmq_group_diff{group="CID_CART"})'
    FakePrometheus.series = {
        "sum(rate(http_requests_total[30s]))": [{"metric": {}, "values": [[T0, "3.5"], [T0 + 5, "NaN"]]}],
        lag: [{"metric": {"group": "CID_CART"}, "values": [[T0, "0"], [T0 + 5, "42"]]}],
    }
    FakePrometheus.seen = []
    clock = Clock()
    collector = PrometheusCollector(
        prometheus,
        {"http_rps": "sum(rate(http_requests_total[30s]))", "consumer_lag": lag, "broken": "sum("},
        tmp_path,
        clock=clock,
    )
    collector.start()
    clock.now = T0 + 60
    collector.stop()
    assert {(p["start"], p["end"], p["step"]) for p in FakePrometheus.seen} == {(f"{T0:.3f}", f"{T0 + 60:.3f}", "5")}
    with (tmp_path / "metrics.csv").open() as f:
        table = list(csv.reader(f))
    assert table[0] == ["t", "source", "name", "value", "labels"]
    assert table[1:] == [
        [f"{T0:.3f}", "prometheus", "http_rps", "3.5", "{}"],  # the NaN step is dropped
        [f"{T0:.3f}", "prometheus", "consumer_lag", "0.0", '{"group":"CID_CART"}'],
        [f"{T0 + 5:.3f}", "prometheus", "consumer_lag", "42.0", '{"group":"CID_CART"}'],
    ]
    assert collector.errors == ["broken: HTTP 400 for 'sum(': parse error at char 1"]
    assert "parse error" in (tmp_path / "logs" / "prometheus.notes").read_text()
    collector.stop()  # a second collection appends rows, never a second header
    assert (tmp_path / "metrics.csv").read_text().count("t,source,name,value,labels") == 1


def test_unreachable_prometheus_is_noted_not_fatal(tmp_path: Path) -> None:
    collector = PrometheusCollector("http://127.0.0.1:9", {"x": "up"}, tmp_path)
    collector.start()
    collector.stop()
    assert "cannot query Prometheus" in collector.errors[0]
    assert (tmp_path / "metrics.csv").read_bytes() == b"t,source,name,value,labels\n"


@given(
    st.lists(st.tuples(st.integers(-100, 200), st.text(alphabet="abc xyz", max_size=12)), max_size=30),
    st.integers(0, 50),
    st.integers(0, 100),
)
def test_within_keeps_exactly_the_stamped_lines_in_range(lines: list[tuple[int, str]], lo: int, width: int) -> None:
    text = "\n".join(f"{stamp(off)} {msg}" for off, msg in lines)
    start, end = T0 + lo, T0 + lo + width
    kept = within(text, start, end)
    # stamp() writes nanoseconds 000000123: the reader keeps microseconds, so a line sits at T0 + off.
    expected = [f"{stamp(off)} {msg}" for off, msg in lines if start <= T0 + off <= end]
    assert kept == expected


def test_forbidden_log_read_is_noted_with_the_permission(
    kube: Kube, emulator: Emulator, namespace: str, tmp_path: Path
) -> None:
    base = f"/api/v1/namespaces/{namespace}/pods"
    emulator.request("POST", base, pod("rocketmq-broker-0", restarts=0))
    emulator.expect(
        f"{base}/rocketmq-broker-0/log",
        status=403,
        body={"kind": "Status", "code": 403, "reason": "Forbidden", "message": "forbidden"},
    )
    collector = PodLogCollector(
        kube, tmp_path, namespace=namespace, selectors=[{"app.kubernetes.io/name": "rocketmq-broker"}], clock=Clock()
    )
    collector.start()
    collector.stop()
    notes = (tmp_path / "logs" / "k8s_logs.notes").read_text()
    assert f"verb 'get' on 'pods/log' in namespace '{namespace}'" in notes


def test_kubernetes_collectors_add_prometheus_only_when_configured(
    kube: Kube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MQDRILL_PROMETHEUS_URL", raising=False)
    only_logs = kubernetes_collectors(kube, tmp_path, namespace="shop", selectors=[{"app": "frontend"}])
    assert [type(c) for c in only_logs] == [PodLogCollector]
    monkeypatch.setenv("MQDRILL_PROMETHEUS_URL", "http://127.0.0.1:9090")
    both = kubernetes_collectors(kube, tmp_path, namespace="shop", selectors=[{"app": "frontend"}])
    prom = both[1]
    assert isinstance(prom, PrometheusCollector)
    assert prom.base_url == "http://127.0.0.1:9090"
    assert all('namespace="shop"' in q for n, q in prom.queries.items() if n.startswith(("frontend", "cart")))


def test_a_drill_collects_its_targets_and_the_judged_app(
    kube: Kube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MQDRILL_PROMETHEUS_URL", raising=False)
    catalog = load_catalog()
    d = drill(
        scenario="broker-unavailable",
        causes=["pod-kill"],
        engine="chaosmesh",
        app="cartservice",
        targets={"namespace": "shop"},
    )
    resolved = resolve(d, catalog, run_id="c1", source="test")
    assert selectors_for(resolved, catalog) == (
        "shop",
        [{"app.kubernetes.io/name": "rocketmq-broker"}, {"app": "cartservice"}],
    )
    collectors = collectors_for_drill(kube, resolved, catalog, tmp_path)
    assert len(collectors) == 1 and isinstance(collectors[0], PodLogCollector)
    local = resolve(drill(scenario="broker-unavailable"), catalog, run_id="c2", source="test")
    assert collectors_for_drill(kube, local, catalog, tmp_path) == []
