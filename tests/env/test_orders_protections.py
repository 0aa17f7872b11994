"""The orders application's protections (issue 13), driven with a fake broker, a fake clock and a
real HTTP server standing in for fulfillment's direct path.

The orders app uses the shop's implementation (demo-k8s/common/rmqprotect.py); here each switch is
shown to change what its services do: the orders service's outbox relay (its only publish: the POST
never waits on RocketMQ) and fulfillment's event publish.
"""

from __future__ import annotations

import http.server
import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.support.demo_apps import load_keeper, load_protect, load_service
from tests.support.fake_clients import FakeClock as Clock

rk = load_keeper()
rp = load_protect()
ORDER = {"customer": "c", "items": [{"sku": "S", "quantity": 1}]}


class Broker:
    """A producer that fails while ``down`` (or its first ``fail_first`` sends), or answers after
    ``delay`` real seconds; records the keys of what it took."""

    def __init__(self, down: bool = False, fail_first: int = 0, delay: float = 0.0) -> None:
        self.down, self.fail_first, self.delay = down, fail_first, delay
        self.calls = 0
        self.took: list[str] = []

    def send(self, msg: Any) -> None:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if self.down or self.calls <= self.fail_first:
            raise ConnectionError("UNAVAILABLE: broker unavailable")
        keys = msg.keys  # the client keeps a message's keys as a set
        self.took.append(",".join(sorted(keys)) if isinstance(keys, set) else str(keys))

    def shutdown(self) -> None:
        return None


def _wire(app: ModuleType, monkeypatch: pytest.MonkeyPatch, names: str, broker: Broker, clock: Clock,
          **env: str) -> None:  # fmt: skip
    """The app's module-level protection, producer and in-flight set, as its start would make them
    from ORDERS_PROTECTIONS, over the fake broker and clock."""
    settings = app.Settings.from_env({"ORDERS_PROTECTIONS": names, **env})
    monkeypatch.setattr(app, "SETTINGS", settings)
    protection = rp.Protection(settings, clock=clock, sleep=clock.sleep, rng=random.Random(1))
    monkeypatch.setattr(app, "protection", protection)
    monkeypatch.setattr(app, "in_flight", rp.InFlight())
    keeper = rk.Reconnect(clock, initial="idle")
    monkeypatch.setattr(app, "producer", rk.KeptClient(lambda: broker, app.log, role="producer", keeper=keeper))


@pytest.fixture
def orders_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    monkeypatch.setenv("ORDERS_DB", str(tmp_path / "first-load.sqlite3"))  # only if this test loads it first
    app = load_service("orders/orders")
    monkeypatch.setattr(app, "store", app.Store(str(tmp_path / "orders.sqlite3")))
    return app


def _orders(app: ModuleType, monkeypatch: pytest.MonkeyPatch, names: str, broker: Broker, clock: Clock | None = None,
            n: int = 1, **env: str) -> list[str]:  # fmt: skip
    _wire(app, monkeypatch, names, broker, clock or Clock(), **env)
    ids = [f"ord-{names or 'none'}-{i}" for i in range(n)]
    for i, order_id in enumerate(ids):
        app.store.add(order_id, ORDER, 100.0 + i)
    return ids


def _unpublished(app: ModuleType) -> list[str]:
    return [row[0] for row in app.store.unpublished()]


def _status(app: ModuleType, order_id: str) -> str:
    return str(app.store.get(order_id)["status"])


# --- the orders service's outbox relay ------------------------------------------------------------


def test_without_protections_a_failed_publish_waits_for_the_next_round(
    orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = Broker(fail_first=1)
    (order,) = _orders(orders_app, monkeypatch, "", broker)
    assert orders_app.relay_once() is False and broker.calls == 1 and _unpublished(orders_app) == [order]
    assert orders_app.relay_once() is True and broker.took == [order]  # a second round, RETRY_S later


def test_retry_publishes_through_a_blip_in_the_same_round_within_the_deadline(
    orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, clock = Broker(fail_first=2), Clock()
    (order,) = _orders(orders_app, monkeypatch, "retry-with-backoff", broker, clock)
    assert orders_app.relay_once() is True and broker.took == [order] and broker.calls == 3
    assert 0 < clock.now - 1000.0 <= 2.5 and not _unpublished(orders_app)


def test_retry_gives_up_at_the_deadline_and_keeps_the_order(
    orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, clock = Broker(down=True), Clock()
    env = {"ORDERS_RETRY_ATTEMPTS": "10", "ORDERS_RETRY_BASE_S": "1", "ORDERS_RETRY_CAP_S": "1"}
    (order,) = _orders(orders_app, monkeypatch, "retry-with-backoff", broker, clock, ORDERS_DEADLINE_S="2.5", **env)
    assert orders_app.relay_once() is False and _unpublished(orders_app) == [order]
    assert clock.now - 1000.0 < 2.5 and 1 < broker.calls < 10


def test_an_open_breaker_spares_the_broker_then_lets_one_publish_through(
    orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, clock = Broker(down=True), Clock()
    (order,) = _orders(orders_app, monkeypatch, "circuit-breaker", broker, clock, ORDERS_BREAKER_FAILURES="2")
    for _ in range(5):
        assert orders_app.relay_once() is False
    assert broker.calls == 2 and orders_app.protection.breaker.state == "open"
    broker.down = False
    clock.now += 5.0  # the breaker's open time
    assert orders_app.relay_once() is True and broker.took == [order]
    assert orders_app.protection.breaker.state == "closed"


def test_send_timeout_frees_the_relay_and_a_late_publish_still_marks_the_order_once(
    orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = Broker(delay=0.3)
    (order,) = _orders(orders_app, monkeypatch, "send-timeout", slow, ORDERS_SEND_TIMEOUT_S="0.05")
    started = time.monotonic()
    assert orders_app.relay_once() is False
    assert time.monotonic() - started < 0.25, "the relay waited for the slow broker"
    assert orders_app.relay_once() is True and slow.calls == 1, "a publish still in flight was sent again"
    time.sleep(0.4)
    assert slow.took == [order] and not _unpublished(orders_app), "the late publish marks its order published"
    orders_app.protection.close()


def test_without_send_timeout_the_relay_waits_for_a_slow_broker(
    orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = Broker(delay=0.3)
    _orders(orders_app, monkeypatch, "", slow)
    started = time.monotonic()
    assert orders_app.relay_once() is True
    assert time.monotonic() - started >= 0.3


class Fulfillment(http.server.BaseHTTPRequestHandler):
    """fulfillment's direct path as the orders service sees it: 200 (or ``status``) per POST."""

    status = 200
    seen: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(f"{self.path} {body['id']}")
        self.send_response(type(self).status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def fulfillment_url(orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Fulfillment]]:
    handler = type("H", (Fulfillment,), {"seen": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(orders_app, "FULFILLMENT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield handler
    server.shutdown()


def test_fallback_confirms_pending_orders_directly_and_keeps_them_for_rocketmq(
    orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch, fulfillment_url: type[Fulfillment]
) -> None:
    broker = Broker(down=True)
    ids = _orders(orders_app, monkeypatch, "fallback-direct", broker, n=2)
    assert orders_app.relay_once() is False
    assert fulfillment_url.seen == [f"/api/orders/{i}/fulfil {i}" for i in ids]
    assert [_status(orders_app, i) for i in ids] == ["confirmed", "confirmed"]
    assert _unpublished(orders_app) == ids, "T_ORDER still goes out once the broker is back"
    assert orders_app.relay_once() is False and len(fulfillment_url.seen) == 2, "a confirmed order is not re-sent"
    broker.down = False
    assert orders_app.relay_once() is True and broker.took == ids


def test_a_long_outage_keeps_confirming_new_orders_behind_the_confirmed_ones(
    orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch, fulfillment_url: type[Fulfillment]
) -> None:
    monkeypatch.setattr(orders_app, "FALLBACK_BATCH", 2)
    ids = _orders(orders_app, monkeypatch, "fallback-direct", Broker(down=True), n=3)
    for order_id in ids:  # confirmed directly earlier in the outage, still waiting for T_ORDER
        orders_app.store.confirm(order_id, 200.0)
    orders_app.store.add("ord-new", ORDER, 300.0)
    assert orders_app.relay_once() is False
    assert _status(orders_app, "ord-new") == "confirmed" and len(fulfillment_url.seen) == 1


def test_without_fallback_a_broker_outage_leaves_orders_pending(
    orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch, fulfillment_url: type[Fulfillment]
) -> None:
    (order,) = _orders(orders_app, monkeypatch, "", Broker(down=True))
    assert orders_app.relay_once() is False
    assert fulfillment_url.seen == [] and _status(orders_app, order) == "pending"


def test_fallback_stops_at_the_first_refusal_and_the_order_stays_pending(
    orders_app: ModuleType, monkeypatch: pytest.MonkeyPatch, fulfillment_url: type[Fulfillment]
) -> None:
    fulfillment_url.status = 503
    ids = _orders(orders_app, monkeypatch, "fallback-direct", Broker(down=True), n=3)
    assert orders_app.relay_once() is False
    assert len(fulfillment_url.seen) == 1 and {_status(orders_app, i) for i in ids} == {"pending"}


# --- fulfillment's event publish ------------------------------------------------------------------


class Consumer:
    def __init__(self) -> None:
        self.acked: list[str] = []

    def ack(self, msg: Any) -> None:
        self.acked.append(msg.message_id)


def _msg(order_id: str, n: int = 1) -> Any:
    body = json.dumps({"id": order_id}).encode()
    return type("M", (), {"body": body, "message_id": f"{order_id}/{n}", "born_timestamp": None})()


@pytest.fixture
def fulfillment(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    app = load_service("orders/fulfillment")
    monkeypatch.setattr(app, "ledger", app.Ledger())
    return app


def _reserved(path: str) -> float:
    return REGISTRY.get_sample_value("fulfillment_reservations_total", {"path": path}) or 0.0


def test_fulfillment_retry_acknowledges_after_a_blip_instead_of_waiting_for_redelivery(
    fulfillment: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    for names, acked in (("", []), ("retry-with-backoff", ["ord-r/1"])):
        broker, consumer = Broker(fail_first=1), Consumer()
        _wire(fulfillment, monkeypatch, names, broker, Clock())
        monkeypatch.setattr(fulfillment, "ledger", fulfillment.Ledger())
        fulfillment._handle(consumer, _msg("ord-r"))
        assert consumer.acked == acked, names  # unacked: the broker redelivers it only after INVISIBLE_S


def test_fulfillment_breaker_leaves_messages_unacknowledged_without_calling_the_broker(
    fulfillment: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, consumer = Broker(down=True), Consumer()
    _wire(fulfillment, monkeypatch, "circuit-breaker", broker, Clock(), ORDERS_BREAKER_FAILURES="2")
    for i in range(5):
        fulfillment._handle(consumer, _msg(f"ord-b{i}"))
    assert broker.calls == 2 and consumer.acked == []


def test_fulfillment_send_timeout_moves_on_and_the_late_event_acknowledges_its_message(
    fulfillment: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow, consumer = Broker(delay=0.3), Consumer()
    _wire(fulfillment, monkeypatch, "send-timeout", slow, Clock(), ORDERS_SEND_TIMEOUT_S="0.05")
    started = time.monotonic()
    fulfillment._handle(consumer, _msg("ord-t"))
    assert time.monotonic() - started < 0.25 and consumer.acked == []
    time.sleep(0.4)
    assert slow.took == ["ord-t"] and consumer.acked == ["ord-t/1"]
    fulfillment._handle(consumer, _msg("ord-t", 2))  # the broker delivers it again: the event is out already
    assert slow.calls == 1 and consumer.acked == ["ord-t/1", "ord-t/2"]
    fulfillment.protection.close()


def test_the_direct_path_and_the_later_message_reserve_once_and_announce_once(
    fulfillment: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    broker, consumer = Broker(), Consumer()
    _wire(fulfillment, monkeypatch, "", broker, Clock())
    direct, by_mq = _reserved("direct"), _reserved("rocketmq")
    request = type("R", (), {"match_info": {"order_id": "ord-d"}})()
    answer = asyncio.run(fulfillment.fulfil(request))
    assert json.loads(answer.body) == {"id": "ord-d", "status": "confirmed"}
    asyncio.run(fulfillment.fulfil(request))  # the orders service's next round, before it saw the answer
    fulfillment._handle(consumer, _msg("ord-d"))  # T_ORDER, once the broker is back
    fulfillment._handle(consumer, _msg("ord-d", 2))  # and a redelivery
    assert (_reserved("direct") - direct, _reserved("rocketmq") - by_mq) == (1.0, 0.0)
    assert broker.took == ["ord-d"], "the notifier hears of the order once"
    assert consumer.acked == ["ord-d/1", "ord-d/2"]


# --- the settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", ["orders/orders", "orders/fulfillment"])
def test_the_orders_app_refuses_async_outbox_saying_why(relative: str, orders_app: ModuleType) -> None:
    app = load_service(relative)
    with pytest.raises(rp.ConfigError, match=r"ORDERS_PROTECTIONS: not a switch here: async-outbox: .*its design"):
        app.Settings.from_env({"ORDERS_PROTECTIONS": "send-timeout,async-outbox"})
    with pytest.raises(rp.ConfigError, match="unknown teleport; allowed: retry-with-backoff, circuit-breaker, "
                                             "send-timeout, fallback-direct$"):  # fmt: skip
        app.Settings.from_env({"ORDERS_PROTECTIONS": "teleport"})
    settings = app.Settings.from_env({"ORDERS_PROTECTIONS": "send-timeout", "ORDERS_SEND_TIMEOUT_S": "0.5"})
    assert settings.on("send-timeout") and settings.send_timeout_s == 0.5
    with pytest.raises(rp.ConfigError, match="ORDERS_SEND_TIMEOUT_S=0: allowed 0.01..60"):
        app.Settings.from_env({"ORDERS_SEND_TIMEOUT_S": "0"})
