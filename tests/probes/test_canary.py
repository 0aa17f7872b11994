"""The rocketmq-canary: its ledger (rows from sends and receipts), its driver against a fake
RocketMQ, and the refusal of anything that is not a RocketMQ 5 proxy."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.errors import DrillFileError
from bridge.probes.canary_client import CanaryClientError, RocketmqCanaryClient, check_proxy
from bridge.probes.canary_core import CanaryLedger, body_of
from bridge.probes.kinds.rocketmq_canary import CanaryDriver
from bridge.probes.rows import ProbeRow
from bridge.spec.loader import parse_document
from tests.probes.fake_canary import FakeRocketmq
from tests.probes.hosting import run_probes


class ListSink:
    def __init__(self) -> None:
        self.rows: list[ProbeRow] = []
        self._lock = threading.Lock()

    def write(self, row: ProbeRow) -> None:
        with self._lock:
            self.rows.append(row)

    def of(self, op: str) -> list[ProbeRow]:
        return [r for r in self.rows if r.op == op]


# ---------------------------------------------------------------- the ledger
def test_a_received_message_gives_its_delay_from_the_send() -> None:
    ledger = CanaryLedger("run-1", bound_s=5.0)
    [send] = ledger.sent(0, t=100.0, sent=100.01, latency_ms=3.0)
    [delivery] = ledger.received(body_of("run-1", 0, 100.01), now=100.26)
    assert (send.op, send.ok, send.latency_ms) == ("canary_send", True, 3.0)
    assert delivery.op == "canary_delivery" and delivery.ok and delivery.t == 100.0 and delivery.sent == 100.01
    assert delivery.latency_ms == pytest.approx(250.0)
    assert not ledger.pending


def test_late_and_missing_messages_fail_and_foreign_or_repeated_ones_are_not_counted() -> None:
    ledger = CanaryLedger("run-1", bound_s=1.0)
    ledger.sent(0, 10.0, 10.0, 1.0)
    ledger.sent(1, 10.2, 10.2, 1.0)
    [late] = ledger.received(body_of("run-1", 0, 10.0), now=11.5)
    assert not late.ok and "delivered after 1.500s > 1s" in late.error
    assert ledger.received(body_of("run-1", 0, 10.0), now=11.6) == []  # a redelivery after a lost ack
    assert ledger.received(body_of("run-0", 1, 10.0), now=11.6) == []  # an earlier run's leftover
    assert ledger.received(b"not json", now=11.6) == []
    assert ledger.expire(now=11.1) == []  # seq 1 still has 0.1 s
    [missing] = ledger.expire(now=11.3)
    assert (missing.t, missing.ok, missing.latency_ms) == (10.2, False, None)
    assert missing.error == "not delivered within 1s"
    assert (ledger.duplicates, ledger.foreign) == (1, 2)


def test_a_failed_send_fails_its_delivery_too() -> None:
    ledger = CanaryLedger("r", bound_s=1.0, name="orders_canary")
    send, delivery = ledger.send_failed(0, 5.0, 5.01, "UNAVAILABLE")
    assert (send.op, send.ok, send.sent, send.error) == ("orders_canary_send", False, 5.01, "UNAVAILABLE")
    assert (delivery.op, delivery.ok, delivery.sent) == ("orders_canary_delivery", False, None)
    assert delivery.error == "send failed: UNAVAILABLE"


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.floats(0, 3)), min_size=1, max_size=40),
    st.randoms(use_true_random=False),
)
def test_every_send_has_exactly_one_delivery_row_whatever_the_order(
    plan: list[tuple[bool, int, float]], rnd: Any
) -> None:
    """Whatever fails, repeats, or arrives before its send returned, each send yields one send and one delivery row."""
    ledger = CanaryLedger("r", bound_s=2.0)
    events: list[tuple[str, int, float]] = []
    for seq, (ok, copies, delay) in enumerate(plan):
        events.append(("send" if ok else "fail", seq, 0.0))
        if ok:
            events += [("recv", seq, delay)] * copies
    rnd.shuffle(events)
    rows: list[ProbeRow] = []
    for what, seq, delay in events:
        t = float(seq)
        if what == "send":
            rows += ledger.sent(seq, t, t, 1.0)
        elif what == "fail":
            rows += ledger.send_failed(seq, t, t, "down")
        else:
            rows += ledger.received(body_of("r", seq, t), t + delay)
    rows += ledger.expire(float("inf"))
    sends = sorted(r.t for r in rows if r.op == "canary_send")
    deliveries = sorted(r.t for r in rows if r.op == "canary_delivery")
    assert sends == deliveries == [float(i) for i in range(len(plan))]
    for r in rows:
        if r.op == "canary_delivery" and r.ok:
            assert r.latency_ms is not None and r.latency_ms <= 2000.0


def test_a_message_received_before_its_send_returned_still_counts_once() -> None:
    ledger = CanaryLedger("r", bound_s=5.0)
    assert ledger.received(body_of("r", 7, 1.0), now=1.02) == []  # the consumer was faster than the producer's answer
    send, delivery = ledger.sent(7, t=1.0, sent=1.0, latency_ms=40.0)
    assert send.ok and delivery.ok and delivery.latency_ms == pytest.approx(20.0)
    assert ledger.received(body_of("r", 7, 1.0), now=1.5) == [] and ledger.duplicates == 1


# ---------------------------------------------------------------- the kind, hosted, against a fake RocketMQ
CANARY = """
apiVersion: mqdrill/v1
kind: Drill
scenario: broker-unavailable
app: orders
steady_state:
  probes:
    - kind: rocketmq-canary
      name: canary
      endpoint: 127.0.0.1:1
      topic: T_ORDER
      rate: 40
      within: {within}
"""


def _drill(within: str = "1s") -> list[object]:
    drill = parse_document(CANARY.format(within=within), "canary.yaml")
    return list(drill.steady_state.probes)  # type: ignore[union-attr]


def _run(fake: FakeRocketmq, *, seconds: float, within: str = "1s") -> ListSink:
    sink = ListSink()

    def inject(drivers: list[object]) -> None:
        assert isinstance(drivers[0], CanaryDriver)
        drivers[0].client = fake

    run_probes(_drill(within), sink, seconds=seconds, before=inject)
    assert fake.started and fake.closed
    return sink


def test_a_healthy_broker_delivers_every_canary_message() -> None:
    fake = FakeRocketmq()
    fake.extra = [body_of("an-earlier-run", 3, 1.0)]
    sink = _run(fake, seconds=0.5)
    sends, deliveries = sink.of("canary_send"), sink.of("canary_delivery")
    assert len(sends) >= 5 and all(r.ok and r.mode == "rocketmq" for r in sends)
    assert sorted(r.t for r in deliveries) == sorted(r.t for r in sends)
    assert all(r.ok for r in deliveries)
    assert len(sink.rows) == 2 * fake.accepted  # the leftover of another run made no row


def test_a_dead_proxy_fails_sends_and_deliveries_and_a_stuck_path_fails_deliveries() -> None:
    down = FakeRocketmq()
    down.down.set()
    sink = _run(down, seconds=0.3)
    assert sink.rows and not any(r.ok for r in sink.rows)
    assert {r.error for r in sink.of("canary_send")} == {"UNAVAILABLE: connection refused"}
    stuck = FakeRocketmq()
    stuck.swallow.set()
    sink = _run(stuck, seconds=0.3, within="200ms")
    assert all(r.ok for r in sink.of("canary_send"))
    assert {r.error for r in sink.of("canary_delivery")} == {"not delivered within 0.2s"}
    assert len(sink.of("canary_delivery")) == len(sink.of("canary_send"))


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("line", "field", "problem"),
    [
        ("endpoint: http://proxy:8081", "endpoint", "is not host:port"),
        ("endpoint: 'h:1;rm -rf /'", "endpoint", "is not host:port"),
        ("group: CID_ORDERS", "group", "an application's consumer group"),
        ("tag: 'a||b'", "tag", "not allowed here"),
        ("topic: 'T ORDER'", "topic", "not allowed here"),
    ],
)
def test_bad_canary_declarations_are_refused_with_file_line_and_field(line: str, field: str, problem: str) -> None:
    key = line.split(":")[0]
    text = "\n".join(
        f"      {line}" if row.strip().startswith(key + ":") else row for row in CANARY.format(within="1s").splitlines()
    )
    if key not in ("endpoint", "topic"):
        text += f"\n      {line}"
    with pytest.raises(DrillFileError) as info:
        parse_document(text, "bad.yaml")
    err = info.value
    assert err.file == "bad.yaml" and err.line is not None and err.field == f"steady_state.probes[0].{field}"
    assert problem in err.problem


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, int]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server, server.getsockname()[1]
    server.close()


def _answer_once(server: socket.socket, reply: bytes) -> threading.Thread:
    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(64)
            conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_an_http2_server_passes_and_a_remoting_server_is_refused(listener: tuple[socket.socket, int]) -> None:
    server, port = listener
    _answer_once(server, b"\x00\x00\x06\x04\x00\x00\x00\x00\x00" + b"\x00\x03\x00\x00\x00\x64")
    assert check_proxy(f"127.0.0.1:{port}") is None
    # a RocketMQ remoting answer starts with a length and a header, not an HTTP/2 SETTINGS frame
    _answer_once(server, b'\x00\x00\x00\x2a\x00\x00\x00\x20{"code":1}')
    problem = check_proxy(f"127.0.0.1:{port}")
    assert problem is not None and "does not speak gRPC" in problem and "RocketMQ 5 proxy" in problem


def test_the_real_client_refuses_a_closed_port_before_starting(listener: tuple[socket.socket, int]) -> None:
    server, port = listener
    server.close()
    client = RocketmqCanaryClient(f"127.0.0.1:{port}", "T_ORDER", "mqdrill-canary", "CID_MQDRILL_CANARY")
    with pytest.raises(CanaryClientError, match="nothing answers at .* needs a RocketMQ 5 proxy"):
        client.start()


def test_a_probe_that_cannot_reach_a_proxy_does_not_start(listener: tuple[socket.socket, int]) -> None:
    server, port = listener
    _answer_once(server, b"\x00\x00\x00\x2a\x00\x00\x00\x20{}")  # a remoting server, not gRPC
    probes = _drill()
    probes[0] = probes[0].model_copy(update={"endpoint": f"127.0.0.1:{port}"})  # type: ignore[attr-defined]
    error = run_probes(probes, ListSink(), seconds=0.1)
    assert error is not None and "rocketmq-canary canary" in error and "does not speak gRPC" in error
