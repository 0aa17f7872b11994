"""Error signatures and line timestamps: generated class names and timestamps in generated noise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bridge.collectors.signatures import SignatureCounter, infer_zone, line_timestamp, signatures

packages = st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), max_size=5)
simple_names = st.builds(
    lambda head, body, suffix: head + body + suffix,
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.from_regex(r"[A-Za-z0-9]{0,12}", fullmatch=True),
    st.sampled_from(["Exception", "Error"]),
)
# Noise with no capital letters, no dots next to words, no codes: it must add no signature.
noise = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789 -_[]()=,"), max_size=40)
separators = st.sampled_from([" ", ": ", " [", " (", "\t", " caused by "])


@given(packages, simple_names, noise, noise, separators)
def test_a_class_name_in_noise_is_its_signature(pkgs: list[str], name: str, before: str, after: str, sep: str) -> None:
    qualified = ".".join([*pkgs, name])
    line = f"{before}{sep}{qualified}: {after}"
    assert signatures(line) == [qualified]


@given(noise)
def test_lowercase_noise_carries_no_signature(text: str) -> None:
    assert signatures(text) == []


@given(st.lists(simple_names, min_size=1, max_size=4))
def test_each_signature_counts_once_per_line(names: list[str]) -> None:
    line = " / ".join(names + names)
    assert signatures(line) == list(dict.fromkeys(names))


def test_well_known_signatures() -> None:
    cases = {
        "Caused by: java.net.ConnectException: Connection refused": ["java.net.ConnectException"],
        "RemotingTooMuchRequestException: sendDefaultImpl call timeout": ["RemotingTooMuchRequestException"],
        "grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC: status = StatusCode.UNAVAILABLE": [
            "grpc._channel._InactiveRpcError",
            "grpc StatusCode.UNAVAILABLE",
        ],
        "io.grpc.StatusRuntimeException: DEADLINE_EXCEEDED: deadline": [
            "io.grpc.StatusRuntimeException",
            "grpc StatusCode.DEADLINE_EXCEEDED",
        ],
        "MQBrokerException: CODE: 14  DESC: service not available now": ["MQBrokerException", "rocketmq CODE: 14"],
        "ConnectionRefusedError: [Errno 111] Connection refused": ["ConnectionRefusedError"],
        "dial tcp 127.0.0.1:9876: connect: connection refused": ["connection refused"],
        "Error: connect ECONNREFUSED 127.0.0.1:8080": ["ECONNREFUSED"],
        "2024-05-01 12:00:00 ERROR handleError returned Error": [],
    }
    for line, expected in cases.items():
        assert signatures(line) == expected, line


moments = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
prefixes = st.sampled_from(["", "[", "INFO ", "main | "])


@given(moments, prefixes, noise)
def test_logback_and_python_logging_timestamps(moment: datetime, prefix: str, rest: str) -> None:
    ms = moment.microsecond // 1000
    for text in (f"{moment:%Y-%m-%d %H:%M:%S},{ms:03d}", f"{moment:%Y-%m-%d %H:%M:%S}.{ms:03d}"):
        got = line_timestamp(f"{prefix}{text} ERROR {rest}", UTC)
        assert got is not None and abs(got - moment.replace(tzinfo=UTC).timestamp()) < 1e-3


@given(moments, offsets, st.sampled_from(["T", " "]), noise)
def test_iso_8601_with_zone(moment: datetime, zone: timezone, sep: str, rest: str) -> None:
    aware = moment.replace(tzinfo=zone)
    text = aware.isoformat(sep=sep, timespec="milliseconds")
    got = line_timestamp(f"{text} {rest}", timezone(timedelta(hours=3)))  # the default zone must not apply
    assert got is not None and abs(got - aware.timestamp()) < 1e-3


@given(st.floats(min_value=1e9, max_value=4e9), noise)
def test_epoch_seconds_leading_the_line(epoch: float, rest: str) -> None:
    got = line_timestamp(f"{epoch:.3f} {rest}")
    assert got is not None and abs(got - round(epoch, 3)) < 1e-6


def test_lines_without_a_timestamp() -> None:
    assert line_timestamp("\tat org.apache.rocketmq.Foo.bar(Foo.java:10)") is None
    assert line_timestamp("retrying in 5 seconds, attempt 1714566896") is None
    assert line_timestamp('{"level":"error","ts":1714566896123,"msg":"x"}') == 1714566896.123


def test_counter_buckets_by_the_line_time_and_continuations_inherit_it(tmp_path: Path) -> None:
    counter = SignatureCounter(tz=UTC)
    base = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    counter.feed_lines(
        "cartservice",
        [
            "stray RuntimeError before any timestamp",
            "2024-05-01 12:00:00,100 ERROR send: org.apache.rocketmq.remoting.exception.RemotingConnectException",
            "\tat org.apache.rocketmq.X.y(X.java:1)",
            "Caused by: java.net.ConnectException: Connection refused",
            "2024-05-01 12:00:00,900 ERROR again java.net.ConnectException: refused",
            "2024-05-01 12:00:01,000 INFO fine",
        ],
        collected_at=base + 60,
    )
    assert counter.rows() == [
        (int(base), "cartservice", "java.net.ConnectException", 2),
        (int(base), "cartservice", "org.apache.rocketmq.remoting.exception.RemotingConnectException", 1),
        (int(base) + 60, "cartservice", "RuntimeError", 1),
    ]
    counter.write_csv(tmp_path / "signatures.csv")
    lines = (tmp_path / "signatures.csv").read_text().splitlines()
    assert lines[0] == "t,source,signature,count" and lines[1] == f"{int(base)},cartservice,java.net.ConnectException,2"


@given(moments, st.integers(-12 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q))), st.floats(0, 300))
def test_the_zone_of_zone_less_timestamps_is_inferred_from_the_write_time(
    moment: datetime, zone: timezone, delay: float
) -> None:
    true = moment.replace(tzinfo=zone).timestamp()
    lines = ["\tat some.Frame(X.java:1)", f"{moment:%Y-%m-%d %H:%M:%S} INFO main - written", "continuation"]
    inferred = infer_zone(lines, written_at=true + delay)
    assert inferred is not None and inferred.utcoffset(None) == zone.utcoffset(None)


def test_no_zone_is_inferred_from_lines_that_carry_their_own() -> None:
    assert infer_zone(["2024-05-01T12:00:00Z x", "1714566896.5 y"], written_at=1714566896.5) is None
    assert infer_zone(["no timestamp at all"], written_at=0.0) is None
