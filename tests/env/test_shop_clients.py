"""The demo shop's RocketMQ clients start afresh when the proxy has lost them, with a backoff.

The shop's own modules are loaded from their files (the shop is a separate application), and
driven with fake RocketMQ clients and a fake clock: the real proxy's answer after a restart,
`50001 ... "settings" is null`, is what the fakes raise.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

import pytest

from tests.support.demo_apps import load_keeper, load_service
from tests.support.fake_clients import FakeClock as Clock
from tests.support.fake_clients import FakeConsumer

keeper_mod = load_keeper()
LOST = (
    'InternalErrorException: 50001, Cannot invoke "apache.rocketmq.v2.Settings.getClientType()" '
    'because "settings" is null. NullPointerException.'
)


def _load(name: str) -> ModuleType:
    return load_service(f"shop/{name}")


@pytest.fixture(scope="module")
def cart() -> ModuleType:
    return _load("cartservice")


@pytest.fixture(scope="module")
def front() -> ModuleType:
    return _load("frontend")


def test_a_consumer_the_proxy_lost_is_recreated_and_consumes_again(cart: ModuleType) -> None:
    clock, stop = Clock(), threading.Event()
    made = [FakeConsumer(clock, LOST, stop, ok_calls=2), FakeConsumer(clock, None, stop, ok_calls=2)]
    queue = list(made)
    keeper = cart.Reconnect(clock)
    cart.consume_forever(stop, keeper, start=lambda: queue.pop(0))
    first, second = made
    # the first lost-session answer starts the grace; one LOST_GRACE_S later the client is thrown away
    assert first.receives == int(keeper_mod.LOST_GRACE_S) + 1 and first.shut
    assert second.receives >= 1 and not queue
    assert keeper.state["state"] == "running" and keeper.state["restarts"] == 1 and keeper.state["error"] == ""


def test_a_lost_session_answer_right_after_start_up_is_not_a_reason_to_restart(cart: ModuleType) -> None:
    clock, stop = Clock(), threading.Event()
    only = FakeConsumer(clock, LOST, stop, fails=3, ok_calls=2)  # the race: gone after 3 s, before the grace ends
    keeper = cart.Reconnect(clock)
    cart.consume_forever(stop, keeper, start=lambda: only)
    assert keeper.state["restarts"] == 0 and keeper.state["state"] == "running" and only.receives == 5


def test_the_keeper_reports_the_error_and_backs_off_between_starts(cart: ModuleType) -> None:
    clock = Clock()
    keeper = cart.Reconnect(clock)
    assert not keeper.failed(RuntimeError(LOST))
    clock.now += keeper_mod.LOST_GRACE_S - 0.1
    assert not keeper.failed(RuntimeError(LOST))
    clock.now += 0.1
    assert keeper.failed(RuntimeError(LOST))
    assert keeper.state["state"] == "retrying" and '"settings" is null' in keeper.state["error"]
    assert keeper.state["since"] > 0 and keeper.state["failures"] == 3
    waits = []
    for _ in range(7):
        keeper.recreated()
        waits.append(keeper.start_in())
        clock.now += keeper.start_in()
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    # a run of other errors re-creates the client only after RECREATE_AFTER_S of this client's life
    keeper.ok()
    assert not keeper.failed(RuntimeError("UNAVAILABLE: connection refused"))
    clock.now += keeper_mod.RECREATE_AFTER_S - 1
    assert not keeper.failed(RuntimeError("UNAVAILABLE: connection refused"))
    clock.now += 1
    assert keeper.failed(RuntimeError("UNAVAILABLE: connection refused"))
    keeper.recreated()
    assert keeper.start_in() == 1.0, "a success resets the backoff"
    clock.now += 1.0
    assert not keeper.failed(RuntimeError("UNAVAILABLE: connection refused")), "a new client starts its own count"


class FakeProducer:
    def __init__(self, errors: list[str | None]) -> None:
        self.errors = errors
        self.shut = False
        self.sent = 0

    def send(self, msg: Any) -> Any:
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise RuntimeError(error)
        self.sent += 1
        return type("Receipt", (), {"message_id": f"id-{self.sent}"})()

    def shutdown(self) -> None:
        self.shut = True


def _body() -> dict[str, Any]:
    return {"user_id": "u", "product_id": "OLJCESPC7Z", "quantity": 1}


def test_a_producer_the_proxy_lost_is_recreated_after_a_backoff(front: ModuleType) -> None:
    clock = Clock()
    lost, fresh = FakeProducer([LOST] * 5), FakeProducer([])
    made = [lost, fresh]
    producer = front.CartProducer(start=lambda: made.pop(0), clock=clock)
    assert producer.sending["state"] == "idle"
    for i in range(3):  # lost-session answers: the client is thrown away once they last LOST_GRACE_S
        clock.now += keeper_mod.LOST_GRACE_S / 2 if i else 0.0
        with pytest.raises(RuntimeError, match="settings"):
            producer.send(_body())
    assert lost.shut and producer.sending["state"] == "retrying" and producer.sending["restarts"] == 1
    with pytest.raises(RuntimeError, match="producer restarting"):  # backing off: fails at once
        producer.send(_body())
    clock.now += 1.0
    assert producer.send(_body()) == "id-1"
    assert producer.sending["state"] == "running" and producer.sending["error"] == "" and not made


def test_a_producer_that_cannot_start_backs_off_instead_of_starting_on_every_send(front: ModuleType) -> None:
    clock = Clock()
    starts = []

    def start() -> Any:
        starts.append(clock.now)
        raise RuntimeError("UNAVAILABLE: failed to connect to all addresses")

    producer = front.CartProducer(start=start, clock=clock)
    for _ in range(7):
        with pytest.raises(RuntimeError):
            producer.send(_body())
        clock.now += 0.5
    assert starts == [1000.0, 1001.0, 1003.0], "starts 1 s then 2 s apart; sends in between fail at once"
