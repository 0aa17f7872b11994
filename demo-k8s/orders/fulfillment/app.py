"""The fulfillment service: consumes ``T_ORDER`` (tag ``created``) as ``CID_FULFILLMENT``, reserves
the stock and publishes ``T_ORDER_EVENT`` (tag ``confirmed``), which confirms the order.

A message is acknowledged only after the event was published (at least once: the orders
service ignores a second confirmation), so a broker outage delays confirmations, never loses
them. It serves only ``/healthz`` and ``/metrics``.

Configuration (environment variables): FULFILLMENT_HOST, FULFILLMENT_PORT, ROCKETMQ_ENDPOINT,
ORDER_TOPIC, ORDER_TAG, EVENT_TOPIC, EVENT_TAG, FULFILLMENT_CONSUMER_GROUP, ROCKETMQ_REQUEST_TIMEOUT_S.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from rmqkeeper import KeptClient, Reconnect, receive_forever  # demo-k8s/common: keeps the clients working

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
    try:
        producer.get().send(_event(order_id))
    except Exception as exc:  # not acked: the broker delivers the order again after INVISIBLE_S
        producer.failed(exc)
        PUBLISH_ERRORS.labels(type(exc).__name__).inc()
        CONSUMED.labels("publish_error").inc()
        log.warning("could not confirm %s: %s: %s", order_id, type(exc).__name__, str(exc)[:300])
        return
    producer.ok()
    client.ack(msg)
    CONSUMED.labels("confirmed").inc()


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


async def healthz(request: web.Request) -> web.Response:
    body = {"status": "ok", "consumer": dict(consumer.keeper.state), "producer": dict(producer.keeper.state)}
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
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    web.run_app(make_app(), host=HOST, port=PORT, access_log=None, print=None)


if __name__ == "__main__":
    main()
