"""Scraping Prometheus endpoints into metrics.csv, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bridge.collectors.scrape import Scraper, ScrapeTarget

EXPOSITION = """# HELP rocketmq_rpc_latency put latency
# TYPE rocketmq_rpc_latency histogram
rocketmq_rpc_latency_bucket{request_code="send_message_v2",le="1.0"} 3
rocketmq_rpc_latency_bucket{request_code="send_message_v2",le="+Inf"} 4
rocketmq_rpc_latency_sum{request_code="send_message_v2"} 2.5
rocketmq_rpc_latency_count{request_code="send_message_v2"} 4
# TYPE http_requests_total counter
http_requests_total{path="/cart",code="302"} 17
this line is broken
"""


class Handler(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Handler.hits += 1
        if self.path == "/metrics":
            body = EXPOSITION.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["t", "source", "name", "value", "labels"]
        return list(reader)


def test_one_round_writes_every_sample_with_json_labels(server: str, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = f"http://127.0.0.1:{sock.getsockname()[1]}/metrics"
    targets = [
        ScrapeTarget("broker", f"{server}/metrics"),
        ScrapeTarget("frontend", f"{server}/fails"),
        ScrapeTarget("cartservice", closed_port),
    ]
    scraper = Scraper(targets, tmp_path / "metrics.csv", timeout_s=2.0, clock=lambda: 1_800_000_000.25)
    results = {r.source: r for r in scraper.scrape_once()}
    scraper.stop(final=False)

    assert (results["broker"].ok, results["broker"].samples) == (True, 5)
    assert (results["frontend"].ok, results["frontend"].error) == (False, "http 500")
    assert not results["cartservice"].ok
    rows = read(tmp_path / "metrics.csv")
    broker = [(r["name"], json.loads(r["labels"]), r["value"]) for r in rows if r["source"] == "broker"]
    assert broker[:5] == [
        ("rocketmq_rpc_latency_bucket", {"request_code": "send_message_v2", "le": "1.0"}, "3.0"),
        ("rocketmq_rpc_latency_bucket", {"request_code": "send_message_v2", "le": "+Inf"}, "4.0"),
        ("rocketmq_rpc_latency_sum", {"request_code": "send_message_v2"}, "2.5"),
        ("rocketmq_rpc_latency_count", {"request_code": "send_message_v2"}, "4.0"),
        ("http_requests_total", {"code": "302", "path": "/cart"}, "17.0"),
    ]
    health = {(r["source"], r["name"]): r for r in rows if r["name"].startswith("mqdrill_")}
    assert health[("broker", "mqdrill_scrape_up")]["value"] == "1.0"
    assert health[("broker", "mqdrill_scrape_parse_errors")]["value"] == "1.0"
    assert health[("frontend", "mqdrill_scrape_up")]["value"] == "0.0"
    assert json.loads(health[("frontend", "mqdrill_scrape_up")]["labels"]) == {"error": "http 500"}
    assert health[("cartservice", "mqdrill_scrape_up")]["value"] == "0.0"
    assert {r["t"] for r in rows} == {"1800000000.250"}


def test_the_background_thread_scrapes_until_stopped_then_once_more(server: str, tmp_path: Path) -> None:
    scraper = Scraper([ScrapeTarget("broker", f"{server}/metrics")], tmp_path / "metrics.csv", interval_s=0.05)
    scraper.start()
    deadline = time.monotonic() + 10
    while scraper.rounds < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    scraper.stop()
    rounds = scraper.rounds
    ups = [r for r in read(tmp_path / "metrics.csv") if r["name"] == "mqdrill_scrape_up"]
    assert rounds >= 4 and len(ups) == rounds  # every round, including the final one, left its rows
    time.sleep(0.15)
    assert scraper.rounds == rounds  # and nothing runs after stop()
