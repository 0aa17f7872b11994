"""The rocketmq-canary: its ledger (rows from sends and receipts), its driver against a fake
RocketMQ, and the refusal of anything that is not a RocketMQ 5 proxy."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.errors import InputError
from bridge.probes.canary import CanaryConfig, CanaryProbe, preflight
from bridge.probes.canary_client import check_proxy
from bridge.probes.canary_core import CanaryLedger, body_of
from bridge.probes.rows import ProbeRow
from tests.probes.fake_canary import FakeRocketmq


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
    send, delivery = ledger.send_failed(5.0, 5.01, "UNAVAILABLE")
    assert (send.op, send.ok, send.sent, send.error) == ("orders_canary_send", False, 5.01, "UNAVAILABLE")
    assert (delivery.op, delivery.ok, delivery.sent) == ("orders_canary_delivery", False, None)
    assert delivery.error == "send failed: UNAVAILABLE"


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.floats(0, 3)), min_size=1, max_size=40),
    st.randoms(use_true_random=False),
)
def test_every_send_has_exactly_one_delivery_row_whatever_the_order(
    plan: list[tuple[bool, int, float]], rnd: object
) -> None:
    """Whatever fails, repeats or arrives out of order, each send yields one send and one delivery row."""
    import random

    assert isinstance(rnd, random.Random)
    ledger = CanaryLedger("r", bound_s=2.0)
    rows: list[ProbeRow] = []
    receipts: list[tuple[float, bytes]] = []
    for seq, (ok, copies, delay) in enumerate(plan):
        t = float(seq)
        if ok:
            rows += ledger.sent(seq, t, t, 1.0)
            receipts += [(t + delay, body_of("r", seq, t))] * copies
        else:
            rows += ledger.send_failed(t, t, "down")
    rnd.shuffle(receipts)
    for now, body in sorted(receipts, key=lambda r: r[0]):
        rows += ledger.expire(now)
        rows += ledger.received(body, now)
    rows += ledger.expire(float("inf"))
    sends = sorted(r.t for r in rows if r.op == "canary_send")
    deliveries = sorted(r.t for r in rows if r.op == "canary_delivery")
    assert sends == deliveries == [float(i) for i in range(len(plan))]
    for r in rows:
        if r.op == "canary_delivery" and r.ok:
            assert r.latency_ms is not None and r.latency_ms <= 2000.0


# ---------------------------------------------------------------- the probe against a fake RocketMQ
def _run(fake: FakeRocketmq, *, seconds: float, bound: float = 0.5, during: object = None) -> ListSink:
    sink = ListSink()
    probe = CanaryProbe(CanaryConfig("127.0.0.1:1", "T_ORDER", rate=40, delivery_bound_s=bound), fake, sink)
    probe.start()
    threading.Event().wait(seconds)
    probe.stop()
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
    sink = _run(stuck, seconds=0.3, bound=0.2)
    assert all(r.ok for r in sink.of("canary_send"))
    assert {r.error for r in sink.of("canary_delivery")} == {"not delivered within 0.2s"}


# ---------------------------------------------------------------- refusals
def test_configuration_problems_are_named() -> None:
    bad = CanaryConfig("not a url", "T ORDER", tag="a||b", group="CID_ORDERS", rate=0)
    text = "; ".join(bad.problems())
    for fragment in ("endpoint:", "topic:", "tag:", "an application's consumer group", "rate:"):
        assert fragment in text
    assert CanaryConfig("127.0.0.1:8081", "T_ORDER").problems() == []


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
    _answer_once(server, b"\x00\x00\x06\x04\x00\x00\x00\x00\x00" + b"\x00\x03\x00\x00\x00\x64").join(0)
    assert check_proxy(f"127.0.0.1:{port}") is None
    # a RocketMQ remoting answer starts with a length and a header, not an HTTP/2 SETTINGS frame
    _answer_once(server, b'\x00\x00\x00\x2a\x00\x00\x00\x20{"code":1}')
    problem = check_proxy(f"127.0.0.1:{port}")
    assert problem is not None and "does not speak gRPC" in problem and "RocketMQ 5 proxy" in problem


def test_preflight_refuses_a_closed_port_and_a_bad_endpoint(listener: tuple[socket.socket, int]) -> None:
    server, port = listener
    server.close()
    with pytest.raises(InputError, match="nothing answers at .* needs a RocketMQ 5 proxy"):
        preflight(CanaryConfig(f"127.0.0.1:{port}", "T_ORDER"), timeout=1)
    with pytest.raises(InputError, match="is not host:port"):
        preflight(CanaryConfig("http://x/;rm -rf", "T_ORDER"))
