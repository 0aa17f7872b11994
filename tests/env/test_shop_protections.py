"""The demo shop's protections (issue 13), driven with a fake send, a fake clock and a real SQLite outbox.

The shop is a separate application: its module is loaded from its file (with demo-k8s/common, where
the generic mechanisms live, on its path), as the env's tests do.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.demo_apps import load_module
from tests.support.fake_clients import FakeClock

P = load_module("shop/frontend/protections", "shop_protections")


class Broker:
    """A send that fails while ``down`` (or for the first ``fail_first`` calls), recording what arrived."""

    def __init__(self, down: bool = False, fail_first: int = 0) -> None:
        self.down = down
        self.fail_first = fail_first
        self.calls = 0
        self.arrived: list[str] = []

    def send(self, body: dict[str, Any]) -> str:
        self.calls += 1
        if self.down or self.calls <= self.fail_first:
            raise ConnectionError("broker unavailable")
        self.arrived.append(body["item_id"])
        return f"msg-{self.calls}"


def _sender(
    tmp_path: Path, names: str, broker: Broker, clock: FakeClock, direct: list[str] | None = None, **env: str
) -> Any:
    async def _direct(body: dict[str, Any]) -> None:
        if direct is None:
            raise RuntimeError("cartservice answered 503")
        direct.append(body["item_id"])

    settings = P.Settings.from_env({"SHOP_PROTECTIONS": names, "SHOP_OUTBOX_PATH": str(tmp_path / "o.db"), **env})
    return P.ProtectedSender(settings, broker.send, _direct, clock=clock, sleep=clock.asleep, rng=random.Random(1))


def _deliver(sender: Any, item: str) -> str:
    return asyncio.run(sender.deliver({"item_id": item, "user_id": "u", "product_id": "p", "quantity": 1}))


def test_without_protections_a_failed_send_is_failed_and_tried_once(tmp_path: Path) -> None:
    broker, clock = Broker(down=True), FakeClock(100.0)
    assert _deliver(_sender(tmp_path, "", broker, clock), "a") == P.FAILED
    assert broker.calls == 1


def test_retry_rides_out_a_short_outage_within_the_deadline(tmp_path: Path) -> None:
    broker, clock = Broker(fail_first=2), FakeClock(100.0)
    sender = _sender(tmp_path, "retry-with-backoff", broker, clock)
    assert _deliver(sender, "a") == P.SENT and broker.arrived == ["a"] and broker.calls == 3
    assert clock.now - 100.0 <= sender.settings.deadline_s


def test_retry_gives_up_at_its_attempts_and_never_passes_the_deadline(tmp_path: Path) -> None:
    broker, clock = Broker(down=True), FakeClock(100.0)
    sender = _sender(
        tmp_path,
        "retry-with-backoff",
        broker,
        clock,
        SHOP_RETRY_ATTEMPTS="10",
        SHOP_RETRY_BASE_S="1",
        SHOP_RETRY_CAP_S="1",
        SHOP_DEADLINE_S="2.5",
    )
    assert _deliver(sender, "a") == P.FAILED
    assert clock.now - 100.0 < 2.5 and broker.calls < 10


def test_backoff_is_jittered_below_an_exponential_cap() -> None:
    settings = P.Settings(retry_attempts=6, retry_base_s=0.1, retry_cap_s=0.5)
    delays = P.backoff_delays(settings, random.Random(3))
    assert len(delays) == 5
    assert all(0 <= d <= min(0.5, 0.1 * 2**i) for i, d in enumerate(delays))
    assert len(set(delays)) == 5  # jitter: no two retries of concurrent clients line up


def test_breaker_opens_after_failures_in_a_row_then_lets_one_call_through() -> None:
    clock = FakeClock(100.0)
    b = P.CircuitBreaker(3, 5.0, clock)
    for _ in range(3):
        assert b.allow()
        b.record(False)
    assert b.state == "open" and not b.allow()
    clock.now += 5.0
    assert b.state == "half-open" and b.allow() and not b.allow()  # one trial call at a time
    b.record(False)
    assert b.state == "open"
    clock.now += 5.0
    assert b.allow()
    b.record(True)
    assert b.state == "closed" and b.allow() and b.allow()


def test_an_open_breaker_fails_fast_without_calling_the_broker(tmp_path: Path) -> None:
    broker, clock = Broker(down=True), FakeClock(100.0)
    sender = _sender(tmp_path, "circuit-breaker", broker, clock, SHOP_BREAKER_FAILURES="2")
    assert [_deliver(sender, x) for x in "abc"] == [P.FAILED] * 3
    assert broker.calls == 2 and sender.last_error == "circuit open"


def test_send_timeout_hands_a_slow_send_to_the_fallback(tmp_path: Path) -> None:
    arrived: list[str] = []

    def slow(body: dict[str, Any]) -> str:
        time.sleep(0.3)
        arrived.append(body["item_id"])
        return "late"

    async def direct(body: dict[str, Any]) -> None:
        arrived.append("direct:" + body["item_id"])

    env = {"SHOP_PROTECTIONS": "send-timeout,fallback-direct", "SHOP_SEND_TIMEOUT_S": "0.05"}
    sender = P.ProtectedSender(P.Settings.from_env(env), slow, direct)
    assert _deliver(sender, "a") == P.FALLBACK and "send took longer than 0.05s" in sender.last_error
    time.sleep(0.4)
    # the late send still lands: both paths carry the same item_id, which the cart applies once
    assert sorted(arrived) == ["a", "direct:a"]


def test_fallback_takes_the_direct_path_when_the_send_fails(tmp_path: Path) -> None:
    broker, clock, direct = Broker(down=True), FakeClock(100.0), []
    sender = _sender(tmp_path, "fallback-direct,circuit-breaker", broker, clock, direct, SHOP_BREAKER_FAILURES="1")
    assert [_deliver(sender, x) for x in "ab"] == [P.FALLBACK, P.FALLBACK]
    assert direct == ["a", "b"] and broker.calls == 1  # the open breaker spared the second send


def test_outbox_keeps_every_failed_item_and_relays_each_once_in_order(tmp_path: Path) -> None:
    broker, clock = Broker(down=True), FakeClock(100.0)
    sender = _sender(tmp_path, "async-outbox", broker, clock)
    assert [_deliver(sender, x) for x in "abc"] == [P.OUTBOX] * 3
    assert sender.outbox.relay(broker.send) == 0 and sender.outbox.pending() == 3  # still down: kept
    broker.down = False
    assert sender.outbox.relay(broker.send) == 3 and sender.outbox.pending() == 0
    assert broker.arrived == ["a", "b", "c"]
    assert sender.outbox.relay(broker.send) == 0 and broker.arrived == ["a", "b", "c"]


def test_the_outbox_survives_a_restart_of_the_frontend(tmp_path: Path) -> None:
    broker, clock = Broker(down=True), FakeClock(100.0)
    first = _sender(tmp_path, "async-outbox", broker, clock)
    _deliver(first, "a")
    first.outbox.close()
    again = _sender(tmp_path, "async-outbox", broker, clock)
    broker.down = False
    assert again.outbox.relay(broker.send) == 1 and broker.arrived == ["a"]


def test_the_relay_loop_drains_the_outbox_once_the_broker_is_back(tmp_path: Path) -> None:
    broker, clock = Broker(down=True), FakeClock(100.0)
    sender = _sender(tmp_path, "async-outbox", broker, clock, SHOP_OUTBOX_RELAY_S="0.05")

    async def scenario() -> None:
        for x in "ab":
            await sender.deliver({"item_id": x, "user_id": "u", "product_id": "p", "quantity": 1})
        stop = asyncio.Event()
        task = asyncio.create_task(sender.relay_forever(stop))
        await asyncio.sleep(0.2)
        assert sender.outbox.pending() == 2
        broker.down = False
        for _ in range(100):
            if not sender.outbox.pending():
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(scenario())
    assert broker.arrived == ["a", "b"] and sender.outbox.pending() == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SHOP_PROTECTIONS": "retry-with-backoff,teleport"},
            "unknown teleport; allowed: retry-with-backoff, circuit-breaker, send-timeout, fallback-direct, "
            "async-outbox",
        ),
        ({"SHOP_RETRY_ATTEMPTS": "x"}, "SHOP_RETRY_ATTEMPTS='x': not an integer"),
        ({"SHOP_BREAKER_OPEN_S": "0"}, "SHOP_BREAKER_OPEN_S=0: allowed 0.1..600"),
    ],
)
def test_bad_settings_name_the_variable_and_what_is_allowed(env: dict[str, str], message: str) -> None:
    with pytest.raises(P.ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        P.Settings.from_env(env)
