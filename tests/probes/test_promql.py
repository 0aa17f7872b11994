"""The prometheus probe's core: PromQL checks, rows from range queries, refusals; against a fake
Prometheus (an HTTP server that records what it was asked) so the PromQL's path is visible."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import DrillFileError, InputError
from bridge.probes.promql import Sli, collect, preflight, query_problem, rows_for, steps, url_problem
from bridge.spec.loader import parse_document


class FakePrometheus:
    """Answers /api/v1/query_range with ``matrix`` and /api/v1/query with success; records queries."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.matrix: list[dict[str, Any]] = []
        self.refuse = ""
        self.spans: list[tuple[float, float, float]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                url = urllib.parse.urlparse(self.path)
                q = urllib.parse.parse_qs(url.query)
                fake.queries.append(q["query"][0])
                if fake.refuse:
                    body: dict[str, Any] = {"status": "error", "errorType": "bad_data", "error": fake.refuse}
                    code = 400
                elif url.path.endswith("query_range"):
                    fake.spans.append((float(q["start"][0]), float(q["end"][0]), float(q["step"][0])))
                    result = fake.matrix if fake.matrix else fake.ones(*fake.spans[-1])
                    body, code = {"status": "success", "data": {"resultType": "matrix", "result": result}}, 200
                else:
                    body, code = {"status": "success", "data": {"resultType": "vector", "result": []}}, 200
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _ones(start: float, end: float, step: float) -> list[dict[str, Any]]:
    n = int(round((end - start) / step)) + 1
    return [{"metric": {}, "values": [[round(start + i * step, 3), "1"] for i in range(n)]}]


FakePrometheus.ones = staticmethod(_ones)  # type: ignore[attr-defined]


@pytest.fixture
def prom() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


DELAY = Sli("notifier_delay_p95", "histogram_quantile(0.95, sum by (le) (rate(x_bucket[10s])))", "seconds", max=2.0)
RATIO = Sli("orders_success", 'sum(rate(r{status=~"2.."}[10s])) / sum(rate(r[10s]))', "ratio", min=0.99)


def test_each_step_is_a_row_judged_against_the_objective() -> None:
    result = [{"metric": {}, "values": [[100, "0.5"], [101, "2.5"], [103, "NaN"]]}]
    rows = rows_for(DELAY, result, start=100, end=103, step_s=1)
    assert [r.t for r in rows] == [100, 101, 102, 103]
    assert [r.ok for r in rows] == [True, False, False, False]
    assert rows[0].latency_ms == 500.0 and rows[0].mode == "prometheus" and rows[0].op == "notifier_delay_p95"
    assert rows[1].error == "2.5 > max 2 (seconds)"
    assert rows[2].error == rows[3].error == "no data" and rows[2].latency_ms is None
    skip = Sli("s", "up", "count", min=1, no_data="skip")
    assert [r.t for r in rows_for(skip, result, start=100, end=103, step_s=1)] == [100, 101]


def test_several_series_are_judged_by_the_worst() -> None:
    result = [{"metric": {"a": "1"}, "values": [[10, "0.999"]]}, {"metric": {"a": "2"}, "values": [[10, "0.9"]]}]
    [row] = rows_for(RATIO, result, start=10, end=10, step_s=1)
    assert not row.ok and row.latency_ms is None and "0.9 < min 0.99" in row.error


@settings(max_examples=3000)  # about 3 spans in 1,000 divide badly: enough examples to meet them
@given(st.integers(1_500_000_000, 2_200_000_000), st.sampled_from([0.1, 0.2, 0.3, 0.5, 1.0, 15.0]), st.integers(0, 500))
def test_steps_cover_a_span_of_whole_steps(unix_s: int, step: float, n: int) -> None:
    """As the prometheus kind asks: start and end are whole multiples of the step, at Unix-time magnitudes."""
    first = int(unix_s / step)
    start, end = round(first * step, 6), round((first + n) * step, 6)
    got = steps(start, end, step)
    assert len(got) == n + 1 and got[0] == round(start, 3) and got[-1] == round(end, 3)
    assert all(b > a for a, b in zip(got, got[1:], strict=False))


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("", "empty"),
        ("sum(rate(x[5m])", "unclosed '('"),
        ('x{job="a}', "unterminated"),
        ("x]", "unbalanced"),
        ("up\x07", "control character"),
        ("a" * 4001, "at most 4000"),
    ],
)
def test_what_no_promql_needs_is_refused(query: str, problem: str) -> None:
    found = query_problem(query)
    assert found is not None and problem in found


def test_real_promql_passes_the_checks() -> None:
    for q in (DELAY.query, RATIO.query, 'max(rocketmq_consumer_lag_messages{consumer_group="CID_NOTIFIER"})',
              "sum by (job) (up) or vector(0)", 'label_replace(up, "x", "$1", "job", "(.*)")'):  # fmt: skip
        assert query_problem(q) is None, q


@pytest.mark.parametrize("url", ["127.0.0.1:9095", "ftp://x", "http://x/$(id)", "http://a b", "file:///etc/passwd"])
def test_an_endpoint_that_is_not_a_url_is_refused(url: str) -> None:
    assert url_problem(url) is not None
    with pytest.raises(InputError, match="is not an http"):
        preflight(url, [DELAY])


def test_shell_metacharacters_reach_prometheus_verbatim_and_no_shell(prom: FakePrometheus, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    query = f'up{{job="$(touch {marker})"}} or vector(`touch {marker}`) ; touch {marker} | true && echo'
    sli = Sli("hostile", query, "count", min=0)
    prom.matrix = [{"metric": {}, "values": [[5, "1"]]}]
    rows = collect(prom.url, [sli], start=5, end=5, step_s=1)
    assert prom.queries == [query]
    assert [r.ok for r in rows] == [True]
    assert not marker.exists()


def test_a_query_prometheus_refuses_is_a_failure_row_and_a_preflight_refusal(prom: FakePrometheus) -> None:
    prom.refuse = 'parse error: unexpected "}"'
    [row] = collect(prom.url, [DELAY], start=0, end=10, step_s=1)
    assert not row.ok and row.t == 10 and "query failed: HTTP 400: parse error" in row.error
    with pytest.raises(InputError, match="notifier_delay_p95.*parse error"):
        preflight(prom.url, [DELAY])


def test_preflight_refuses_an_sli_without_an_objective_and_an_unreachable_server(prom: FakePrometheus) -> None:
    with pytest.raises(InputError, match="needs an objective"):
        preflight(prom.url, [Sli("x", "up", "count")])
    prom.server.shutdown()
    prom.server.server_close()
    with pytest.raises(InputError, match="cannot query Prometheus"):
        preflight(prom.url, [DELAY])


# ---------------------------------------------------------------- the kind, hosted
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
      step: 100ms
      every: 300ms
      lag: 100ms
      slis:
        - name: notifier_up
          query: {query}
          unit: count
          min: 1
"""


def test_the_hosted_probe_reads_every_step_once_from_start_to_stop(prom: FakePrometheus) -> None:
    from tests.probes.hosting import run_probes
    from tests.probes.test_canary import ListSink

    drill = parse_document(DRILL.format(url=prom.url, query="up"), "notifier.yaml")
    sink = ListSink()
    assert run_probes(list(drill.steady_state.probes), sink, seconds=1.2) is None  # type: ignore[union-attr]
    ts = [r.t for r in sink.rows]
    assert len(prom.spans) >= 3  # read while running, not only at the end
    assert len(ts) >= 10 and all(r.ok and r.op == "notifier_up" and r.mode == "prometheus" for r in sink.rows)
    assert ts == sorted(ts) and len(set(ts)) == len(ts)  # no step twice
    assert all(b - a == pytest.approx(0.1, abs=1e-6) for a, b in zip(ts, ts[1:], strict=False))  # no step missing


@pytest.mark.parametrize(
    ("url", "query", "field", "problem"),
    [
        ("127.0.0.1:9095", "up", "url", "is not an http(s) URL"),
        ("'http://x/$(reboot)'", "up", "url", "is not an http(s) URL"),
        ("http://127.0.0.1:9095", "'sum(rate(x[5m])'", "slis[0].query", "unclosed '('"),
    ],
)
def test_bad_prometheus_declarations_are_refused_with_file_line_and_field(
    url: str, query: str, field: str, problem: str
) -> None:
    with pytest.raises(DrillFileError) as info:
        parse_document(DRILL.format(url=url, query=query), "bad.yaml")
    err = info.value
    assert err.file == "bad.yaml" and err.line is not None and err.field == f"steady_state.probes[0].{field}"
    assert problem in err.problem


def test_an_sli_without_a_bound_is_refused() -> None:
    text = DRILL.format(url="http://127.0.0.1:9095", query="up").replace("          min: 1\n", "")
    with pytest.raises(DrillFileError, match="needs a bound"):
        parse_document(text, "bad.yaml")
