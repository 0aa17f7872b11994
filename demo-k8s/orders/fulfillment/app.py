"""The fulfillment service: consumes ``T_ORDER`` (tag ``created``) as ``CID_FULFILLMENT``, reserves
the stock and publishes ``T_ORDER_EVENT`` (tag ``confirmed``), which confirms the order.

A message is acknowledged only after the event was published (at least once: the orders
service ignores a second confirmation), so a broker outage delays confirmations, never loses
them. The stock is reserved once per order id, whichever path brings the order: ``T_ORDER``, or
``POST /api/orders/{id}/fulfil``, the direct path the orders service takes with its
``fallback-direct`` protection (it answers the confirmation in the HTTP reply and publishes no
event: the event goes out when the order's ``T_ORDER`` arrives after all). An order whose event
was already published is acknowledged without publishing it again. It also serves ``/healthz``
and ``/metrics``.

Protections (``ORDERS_PROTECTIONS``, as the orders service; the shared ``demo-k8s/common/rmqprotect.py``)
around the event's publish: ``send-timeout`` (0.25 s; a late publish still acknowledges its message
from its thread), ``retry-with-backoff`` (up to 3 sends inside 2.5 s before the message is left to
the broker's redelivery after INVISIBLE_S), ``circuit-breaker`` (after 5 failures in a row, 5 s
without calling the broker: the messages are left unacknowledged at once). ``fallback-direct`` is the
orders service's (this service only serves the endpoint it calls); ``async-outbox`` is refused: the
broker keeps an order message until its event is out.

Configuration (environment variables): FULFILLMENT_HOST, FULFILLMENT_PORT, ROCKETMQ_ENDPOINT,
ORDER_TOPIC, ORDER_TAG, EVENT_TOPIC, EVENT_TAG, FULFILLMENT_CONSUMER_GROUP, ROCKETMQ_REQUEST_TIMEOUT_S,
and ORDERS_PROTECTIONS with its tuning (ORDERS_RETRY_*, ORDERS_BREAKER_*, ORDERS_DEADLINE_S,
ORDERS_SEND_TIMEOUT_S).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from rmqkeeper import KeptClient, Reconnect, client_health, receive_forever  # demo-k8s/common: keeps the clients working
from rmqprotect import InFlight, Protection  # demo-k8s/common: the shared protections
from rmqprotect import Settings as _Settings

log = logging.getLogger("fulfillment")

HOST = os.environ.get("FULFILLMENT_HOST", "127.0.0.1")
PORT = int(os.environ.get("FULFILLMENT_PORT", "8071"))
ENDPOINT = os.environ.get("ROCKETMQ_ENDPOINT", "127.0.0.1:8081")
ORDER_TOPIC = os.environ.get("ORDER_TOPIC", "T_ORDER")
ORDER_TAG = os.environ.get("ORDER_TAG", "created")
EVENT_TOPIC = os.environ.get("EVENT_TOPIC", "T_ORDER_EVENT")
EVENT_TAG = os.environ.get("EVENT_TAG", "confirmed")
GROUP = os.environ.get("FULFILLMENT_CONSUMER_GROUP", "CID_FULFILLMENT")
REQUEST_TIMEOUT_S = int(os.environ.get("ROCKETMQ_REQUEST_TIMEOUT_S", "3"))
AWAIT_S = 5
INVISIBLE_S = 15

CONSUMED = Counter("fulfillment_messages_consumed_total", "order messages handled, by result", ["result"])
CONSUME_DELAY = Histogram(
    "fulfillment_consume_delay_seconds",
    "now minus the message's born time, at consumption",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
PUBLISH_ERRORS = Counter("fulfillment_publish_errors_total", "confirmation events that failed to publish", ["error"])
RECEIVE_ERRORS = Counter("fulfillment_receive_errors_total", "receive calls that failed", ["error"])
RESERVED = Counter("fulfillment_reservations_total", "orders whose stock was reserved, by path (rocketmq, direct)",
                   ["path"])  # fmt: skip


@dataclass(frozen=True)
class Settings(_Settings):
    PREFIX = "ORDERS"  # one setting for the whole orders application
    REFUSED = {
        "async-outbox": "fulfillment acknowledges an order only once its event is published, so the broker keeps"
        " the order until then; that is its design, not a switch"
    }


class Ledger:
    """What became of each order id seen lately: reserved (once), and whether its event went out.
    In memory and bounded: enough for redeliveries and the direct path, which come within minutes."""

    def __init__(self, keep: int = 100_000) -> None:
        self._orders: OrderedDict[str, bool] = OrderedDict()  # order id → event published
        self._keep = keep
        self._lock = threading.Lock()

    def reserve(self, order_id: str) -> bool:
        """Reserve the stock for this order; False when it was already reserved."""
        with self._lock:
            if order_id in self._orders:
                return False
            self._orders[order_id] = False
            while len(self._orders) > self._keep:
                self._orders.popitem(last=False)
            return True

    def announced(self, order_id: str) -> bool:
        with self._lock:
            return self._orders.get(order_id, False)

    def announce(self, order_id: str) -> None:
        with self._lock:
            self._orders[order_id] = True


SETTINGS = Settings.from_env(os.environ)  # a bad protection setting stops the start, naming the variable
protection = Protection(SETTINGS)
in_flight = InFlight()  # orders whose event publish has not returned (a timed-out one may still land)
ledger = Ledger()


def _config() -> Any:
    from rocketmq import ClientConfiguration, Credentials

    return ClientConfiguration(ENDPOINT, Credentials(), request_timeout=REQUEST_TIMEOUT_S)


def _event(order_id: str) -> Any:
    from rocketmq import Message

    msg = Message()
    msg.topic = EVENT_TOPIC
    msg.tag = EVENT_TAG
    msg.keys = order_id
    msg.body = json.dumps({"id": order_id, "status": "confirmed", "confirmed_at": time.time()}).encode()
    return msg


def _handle(client: Any, msg: Any) -> None:
    born_ms = getattr(msg, "born_timestamp", None)
    if born_ms:
        CONSUME_DELAY.observe(max(0.0, time.time() - born_ms / 1000.0))
    try:
        order_id = str(json.loads(msg.body)["id"])
    except (ValueError, KeyError, TypeError) as exc:
        log.error("unreadable order message %s: %s", msg.message_id, exc)
        CONSUMED.labels("unreadable").inc()
        client.ack(msg)
        return
    if ledger.reserve(order_id):
        RESERVED.labels("rocketmq").inc()
    if ledger.announced(order_id):  # a redelivery, or a second T_ORDER: its event is already out
        client.ack(msg)
        CONSUMED.labels("duplicate").inc()
        return
    try:
        ack_error = protection.call(_announce, client, msg, order_id)
    except Exception as exc:  # not acked: the broker delivers the order again after INVISIBLE_S
        PUBLISH_ERRORS.labels(type(exc).__name__).inc()
        CONSUMED.labels("publish_error").inc()
        log.warning("could not confirm %s: %s: %s", order_id, type(exc).__name__, str(exc)[:300])
        return
    CONSUMED.labels("confirmed").inc()
    if ack_error is not None:  # the receive loop judges the consumer by it, as before the protections
        raise ack_error


def _announce(client: Any, msg: Any, order_id: str) -> Exception | None:
    """Publish the order's event, then acknowledge its message: done in the send's own thread, so a
    publish that lands after its send-timeout still acknowledges it (and is not repeated). A failed
    ack is returned, not raised: the event is out, a retry must not publish it again."""
    with in_flight.hold(order_id):
        try:
            producer.get().send(_event(order_id))
        except Exception as exc:
            producer.failed(exc)
            raise
        producer.ok()
        ledger.announce(order_id)
        try:
            client.ack(msg)
        except Exception as exc:  # the message comes again; the ledger then acknowledges it unpublished
            return exc
        return None


def _start_consumer() -> Any:
    from rocketmq import FilterExpression, SimpleConsumer

    client = SimpleConsumer(_config(), GROUP, {ORDER_TOPIC: FilterExpression(ORDER_TAG)}, await_duration=AWAIT_S)
    client.startup()
    return client


def _start_producer() -> Any:
    from rocketmq import Producer

    client = Producer(_config(), (EVENT_TOPIC,))
    client.startup()
    return client


producer = KeptClient(_start_producer, log, role="producer", keeper=Reconnect(initial="idle"))
consumer = KeptClient(_start_consumer, log, role="consumer")


def consume_forever(stop: threading.Event) -> None:
    receive_forever(stop, consumer, _handle, on_error=lambda exc: RECEIVE_ERRORS.labels(type(exc).__name__).inc(),
                    invisible_s=INVISIBLE_S)  # fmt: skip
    producer.close()
    protection.close()


async def fulfil(request: web.Request) -> web.Response:
    """The direct path (the orders service's fallback-direct): reserve the stock, answer confirmed.
    No event is published here (the broker is what failed); it goes out when T_ORDER arrives."""
    order_id = request.match_info["order_id"]
    if ledger.reserve(order_id):
        RESERVED.labels("direct").inc()
    return web.json_response({"id": order_id, "status": "confirmed"})


async def healthz(request: web.Request) -> web.Response:
    body = {"status": "ok", **client_health(consumer=consumer, producer=producer), **protection.health()}
    return web.json_response(body)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _consumer_thread(app: web.Application) -> Any:
    stop = threading.Event()
    threading.Thread(target=consume_forever, args=(stop,), name="consumer", daemon=True).start()
    yield
    stop.set()


def make_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(_consumer_thread)
    app.router.add_post("/api/orders/{order_id}/fulfil", fulfil)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log.info("protections on: %s", ", ".join(sorted(SETTINGS.enabled)) or "none")
    web.run_app(make_app(), host=HOST, port=PORT, access_log=None, print=None)


if __name__ == "__main__":
    main()
