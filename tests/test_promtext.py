"""The Prometheus text parser: round trip through prometheus_client's own writer, and the odd lines."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector, CollectorRegistry

from bridge.collectors.promtext import format_value, parse

names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True).filter(
    lambda n: not n.endswith(("_total", "_bucket", "_sum", "_count", "_created", "_info", "_gsum", "_gcount"))
)
label_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,12}", fullmatch=True).filter(lambda n: n not in ("le", "quantile"))
label_values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
labelsets = st.dictionaries(label_names, label_values, max_size=4)
values = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**12), 10**12).map(float)
timestamps = st.none() | st.integers(1_000_000_000, 4_000_000_000).map(float)


@dataclass
class Family:
    name: str
    kind: str
    samples: list[tuple[str, dict[str, str], float, float | None]]


@st.composite
def families(draw: st.DrawFn) -> Family:
    name = draw(names)
    kind = draw(st.sampled_from(["gauge", "unknown", "counter", "histogram", "summary"]))
    base = draw(labelsets)
    samples: list[tuple[str, dict[str, str], float, float | None]] = []
    if kind in ("gauge", "unknown"):
        for labels in draw(st.lists(labelsets, min_size=1, max_size=4, unique_by=lambda d: tuple(sorted(d.items())))):
            samples.append((name, labels, draw(values), draw(timestamps)))
    elif kind == "counter":
        samples.append((f"{name}_total", base, draw(values), None))
    else:
        key = "le" if kind == "histogram" else "quantile"
        bounds = sorted(set(draw(st.lists(st.floats(0, 1e9), min_size=1, max_size=5))))
        suffix = "_bucket" if kind == "histogram" else ""
        for bound in [*bounds, math.inf]:
            samples.append((f"{name}{suffix}", {**base, key: format_value(bound)}, draw(values), None))
        samples.append((f"{name}_sum", base, draw(values), None))
        samples.append((f"{name}_count", base, draw(values), None))
    return Family(name, kind, samples)


class Fixed(Collector):
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def render(fams: list[Family]) -> str:
    metrics = []
    for fam in fams:
        metric = Metric(fam.name, f"help for {fam.name}\nwith \\ escapes", fam.kind)
        for sample_name, labels, value, ts in fam.samples:
            metric.add_sample(sample_name, labels, value, ts)
        metrics.append(metric)
    registry = CollectorRegistry()
    registry.register(Fixed(metrics))
    return generate_latest(registry).decode("utf-8")


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=150, deadline=None)
@given(st.lists(families(), min_size=1, max_size=5, unique_by=lambda f: f.name))
def test_round_trip_through_prometheus_client(fams: list[Family]) -> None:
    text = render(fams)
    parsed = parse(text)
    assert parsed.errors == []
    expected = [s for fam in fams for s in fam.samples]
    assert len(parsed.samples) == len(expected)
    # prometheus_client sorts label keys; the parser keeps what it reads, so compare as dicts.
    for got, (name, labels, value, ts) in zip(parsed.samples, expected, strict=True):
        assert (got.name, got.labels) == (name, labels)
        assert same(got.value, value)
        assert got.timestamp_s == (None if ts is None else math.floor(ts * 1000) / 1000)
    for fam in fams:
        declared = {"counter": f"{fam.name}_total", "unknown": fam.name}.get(fam.kind, fam.name)
        assert parsed.types[declared] == {"unknown": "untyped"}.get(fam.kind, fam.kind)
        assert parsed.helps[declared] == f"help for {fam.name}\nwith \\ escapes"


def test_odd_but_valid_lines_and_bad_lines() -> None:
    text = (
        "# plain comment\n"
        '  spaced { a = "1" , } 2\n'
        'tight{a="x"}3\n'
        'om_total{a="b"} 4 1700000000.5 # {trace_id="abc"} 1.0 1700000000.4\n'
        "nolabels -Inf 1700000000123\n"
        "broken{a=1} 5\n"
        "novalue\n"
        "# EOF\n"
        "after_eof 1\n"
    )
    parsed = parse(text)
    got = [(s.name, s.labels, s.value, s.timestamp_s) for s in parsed.samples]
    assert got == [
        ("spaced", {"a": "1"}, 2.0, None),
        ("tight", {"a": "x"}, 3.0, None),
        ("om_total", {"a": "b"}, 4.0, 1700000000.5),
        ("nolabels", {}, -math.inf, 1700000000.123),
    ]
    assert [e.split(":")[0] for e in parsed.errors] == ["line 6", "line 7"]


@given(values)
def test_values_format_back_to_themselves(value: float) -> None:
    assert same(parse(f"m {format_value(value)}").samples[0].value, value)


def test_a_real_rocketmq_broker_exposition_parses_as_prometheus_client_reads_it() -> None:
    text = (Path(__file__).parent / "data" / "rocketmq-5-broker-metrics.prom").read_text()
    parsed = parse(text)
    assert parsed.errors == [] and parsed.types["rocketmq_rpc_latency_milliseconds"] == "histogram"
    oracle = [(s.name, s.labels, s.value) for fam in text_string_to_metric_families(text) for s in fam.samples]
    assert [(s.name, s.labels, s.value) for s in parsed.samples] == oracle
    assert any(s.labels.get("le") == "+Inf" for s in parsed.samples)
