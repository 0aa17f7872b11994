"""The real Prometheus server of the environment (Debian's 2.42), started as `env up` starts it,
scraping an exporter in this test; the prometheus probe kind reads SLIs from it."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from bridge.env import prometheus, services
from bridge.env.config import EnvConfig
from bridge.spec.loader import parse_document
from tests.probes.hosting import run_probes
from tests.probes.test_canary import ListSink

OFFSET = 6000  # a layout no e2e environment uses (they take 1000..4000)

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None, reason="apt-get install -y prometheus")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EnvConfig, Counter]]:
    cfg = EnvConfig(state_dir=tmp_path_factory.mktemp("prom"), cache_dir=Path("/nonexistent"), port_offset=OFFSET)
    if services.port_open(cfg.port("prometheus"), 0.2) or services.port_open(cfg.port("notifier"), 0.2):
        pytest.skip("the test's ports are taken")
    registry = CollectorRegistry()
    consumed = Counter("notifier_messages_consumed_total", "test", registry=registry)
    exporter, _ = start_http_server(cfg.port("notifier"), addr="127.0.0.1", registry=registry)
    proc = services.start(cfg, "prometheus")
    try:
        assert services.wait_port(cfg, "prometheus", proc, 30), (cfg.log_dir / "prometheus.out").read_text()
        deadline = time.monotonic() + 30
        while prometheus.active_targets(cfg).get("notifier") != "up" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert prometheus.ready(cfg) and prometheus.active_targets(cfg)["notifier"] == "up"
        yield cfg, consumed
    finally:
        services.stop(cfg, "prometheus")
        exporter.shutdown()
    assert services.running(cfg, "prometheus") is None


DRILL = """
apiVersion: mqdrill/v1
kind: Drill
scenario: broker-unavailable
app: notifier
steady_state:
  probes:
    - kind: prometheus
      name: notifier
      url: {url}
      step: 1s
      every: 1s
      lag: 1500ms
      history: 0s
      slis:
        - name: notifier_scraped
          query: 'up{{job="notifier"}}'
          unit: count
          min: 1
        - name: orders_scraped
          query: 'up{{job="orders"}}'
          unit: count
          min: 1
        - name: notifier_consuming
          query: 'sum(rate(notifier_messages_consumed_total{{job="notifier"}}[3s]))'
          unit: count
          min: 1
"""


def test_slis_from_the_real_server_pass_and_fail_as_the_metrics_say(server: tuple[EnvConfig, Counter]) -> None:
    cfg, consumed = server
    drill = parse_document(DRILL.format(url=prometheus.url(cfg)), "notifier.yaml")
    sink = ListSink()
    done = threading.Event()

    def consume() -> None:  # the notifier "consumes" 20 messages a second, from before the probe to its end
        while not done.wait(0.1):
            consumed.inc(2)

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    time.sleep(4)  # a few scrapes, so that rate() over 3 s has two samples from the first step on
    try:
        assert run_probes(list(drill.steady_state.probes), sink, seconds=3) is None  # type: ignore[union-attr]
    finally:
        done.set()
    scraped, missing = sink.of("notifier_scraped"), sink.of("orders_scraped")
    assert len(scraped) >= 3 and all(r.ok for r in scraped)
    # nothing listens where the orders service would be: Prometheus reports it down (0), which fails min 1
    assert missing and not any(r.ok for r in missing) and {r.error for r in missing} == {"0 < min 1 (count)"}
    rates = sink.of("notifier_consuming")
    assert len(rates) >= 3 and all(r.ok for r in rates), [r.error for r in rates]
