"""The orders application's RocketMQ clients start afresh when the proxy has lost them, as the
shop's do (both use demo-k8s/common/rmqkeeper.py).

Seen on the real stack (CI, 2026-12-02): after a broker restart the proxy answered the notifier's
and fulfillment's receives with a NullPointerException for 17 minutes; once the JVM had compiled
that path, the answer lost its message (``50001, null. NullPointerException``). Clients that never
re-created themselves kept every later drill of the orders app from starting.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

import pytest

from tests.support.demo_apps import load_keeper, load_service
from tests.support.fake_clients import FakeClock as Clock
from tests.support.fake_clients import FakeConsumer

rk = load_keeper()
BARE = "InternalErrorException: 50001, null. NullPointerException"
HELPFUL = 'InternalErrorException: 50001, Cannot invoke "...getClientType()" because "settings" is null'


@pytest.mark.parametrize("text", [BARE, HELPFUL])
def test_both_wordings_of_the_lost_session_count(text: str) -> None:
    assert rk.lost_session(text)


@pytest.mark.parametrize("text", ["UNAVAILABLE: failed to connect", "50001, null", "NotFoundException: no route"])
def test_other_failures_are_not_a_lost_session(text: str) -> None:
    assert not rk.lost_session(text)


@pytest.mark.parametrize(("relative", "attr"), [("orders/notifier", "keeper"), ("orders/fulfillment", None),
                                                ("orders/orders", None)])  # fmt: skip
def test_each_consumer_of_the_orders_app_is_recreated_after_the_bare_answer(
    relative: str, attr: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("ORDERS_DB", str(tmp_path / "orders.sqlite3"))
    app: ModuleType = load_service(relative)
    clock, stop = Clock(), threading.Event()
    made = [FakeConsumer(clock, BARE, stop), FakeConsumer(clock, None, stop)]
    queue = list(made)
    keeper = rk.Reconnect(clock)
    if attr is not None:
        monkeypatch.setattr(app, attr, keeper)
        monkeypatch.setattr(app, "_start_consumer", lambda: queue.pop(0))
    else:
        kept = rk.KeptClient(lambda: queue.pop(0), app.log, role="consumer", keeper=keeper)
        monkeypatch.setattr(app, "consumer", kept)
    app.consume_forever(stop)
    first, second = made
    assert first.shut and first.receives == int(rk.LOST_GRACE_S) + 1, "thrown away one grace after the first answer"
    assert second.receives == 1 and not queue
    assert keeper.state["state"] == "running" and keeper.state["restarts"] == 1


class FakeProducer:
    def __init__(self, error: str | None) -> None:
        self.error, self.sent, self.shut = error, 0, False

    def send(self, msg: Any) -> None:
        if self.error:
            raise RuntimeError(self.error)
        self.sent += 1

    def shutdown(self) -> None:
        self.shut = True


def test_fulfillment_recreates_a_lost_producer_and_confirms_the_redelivered_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = load_service("orders/fulfillment")
    clock = Clock()
    lost, fresh = FakeProducer(BARE), FakeProducer(None)
    made = [lost, fresh]
    kept = rk.KeptClient(lambda: made.pop(0), app.log, role="producer", keeper=rk.Reconnect(clock, initial="idle"))
    monkeypatch.setattr(app, "producer", kept)
    acked: list[Any] = []
    consumer = type("C", (), {"ack": lambda self, m: acked.append(m)})()
    msg = type("M", (), {"body": b'{"id": "ord-1"}', "message_id": "m1", "born_timestamp": None})()
    for _ in range(3):  # the same order delivered again while the proxy has lost the producer
        app._handle(consumer, msg)
        clock.now += rk.LOST_GRACE_S / 2
    assert lost.shut and not acked, "an order is acknowledged only once its confirmation is published"
    clock.now += 1.0  # the backoff before the next start
    app._handle(consumer, msg)
    assert fresh.sent == 1 and acked == [msg] and kept.keeper.state["state"] == "running"


@pytest.mark.parametrize("relative", ["orders/orders", "orders/fulfillment"])
def test_healthz_shows_each_clients_state_and_the_protections(
    relative: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import asyncio
    import json

    monkeypatch.setenv("ORDERS_DB", str(tmp_path / "orders.sqlite3"))
    app: ModuleType = load_service(relative)
    monkeypatch.setattr(app.consumer, "keeper", rk.Reconnect())  # the module is shared: keep its own keeper clean
    app.consumer.keeper.failed(RuntimeError(BARE))
    body = json.loads(asyncio.run(app.healthz(None)).body)
    assert body["consumer"]["state"] == "retrying" and "NullPointerException" in body["consumer"]["error"]
    assert body["producer"]["state"] == "idle"
    assert body["protections"] == sorted(app.SETTINGS.enabled) and body["breaker"] == "closed"
