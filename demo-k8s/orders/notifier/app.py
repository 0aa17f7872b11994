"""The notifier: a pure consumer of ``T_ORDER_EVENT`` (every tag) as ``CID_NOTIFIER``.

It has no API to probe: it "notifies the customer" (a log line) and is judged only by its
metrics, which a Prometheus server scrapes: messages consumed, the consume delay (now minus the
message's born time) as a histogram, and failures by reason. Messages whose body is not an
order event count as failures and are acknowledged (never retried).

Configuration (environment variables): NOTIFIER_HOST, NOTIFIER_PORT, ROCKETMQ_ENDPOINT,
EVENT_TOPIC, NOTIFIER_CONSUMER_GROUP, ROCKETMQ_REQUEST_TIMEOUT_S.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from rmqkeeper import KeptClient, Reconnect, receive_forever  # demo-k8s/common: keeps the client working

log = logging.getLogger("notifier")

HOST = os.environ.get("NOTIFIER_HOST", "127.0.0.1")
PORT = int(os.environ.get("NOTIFIER_PORT", "8072"))
ENDPOINT = os.environ.get("ROCKETMQ_ENDPOINT", "127.0.0.1:8081")
EVENT_TOPIC = os.environ.get("EVENT_TOPIC", "T_ORDER_EVENT")
GROUP = os.environ.get("NOTIFIER_CONSUMER_GROUP", "CID_NOTIFIER")
REQUEST_TIMEOUT_S = int(os.environ.get("ROCKETMQ_REQUEST_TIMEOUT_S", "3"))
AWAIT_S = 5
INVISIBLE_S = 15

CONSUMED = Counter("notifier_messages_consumed_total", "events consumed (notifications sent)")
FAILURES = Counter("notifier_failures_total", "events that could not be handled, by reason", ["reason"])
CONSUME_DELAY = Histogram(
    "notifier_consume_delay_seconds",
    "now minus the message's born time, at consumption",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
LAST_CONSUMED = Gauge("notifier_last_consumed_timestamp_seconds", "when the last event was handled")
keeper = Reconnect()  # the consumer's state, as /healthz shows it


def _handle(consumer: Any, msg: Any) -> None:
    born_ms = getattr(msg, "born_timestamp", None)
    if born_ms:
        CONSUME_DELAY.observe(max(0.0, time.time() - born_ms / 1000.0))
    try:
        event = json.loads(msg.body)
        order_id, status = str(event["id"]), str(event["status"])
    except (ValueError, KeyError, TypeError):
        FAILURES.labels("unreadable").inc()
        consumer.ack(msg)
        return
    log.info("notify: order %s is %s", order_id, status)
    consumer.ack(msg)
    CONSUMED.inc()
    LAST_CONSUMED.set(time.time())


def _start_consumer() -> Any:
    from rocketmq import ClientConfiguration, Credentials, FilterExpression, SimpleConsumer

    config = ClientConfiguration(ENDPOINT, Credentials(), request_timeout=REQUEST_TIMEOUT_S)
    consumer = SimpleConsumer(config, GROUP, {EVENT_TOPIC: FilterExpression("*")}, await_duration=AWAIT_S)
    consumer.startup()
    return consumer


def consume_forever(stop: threading.Event) -> None:
    consumer = KeptClient(_start_consumer, log, role="consumer", keeper=keeper)
    receive_forever(stop, consumer, _handle, on_error=lambda exc: FAILURES.labels("receive").inc(),
                    invisible_s=INVISIBLE_S)  # fmt: skip


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "consumer": dict(keeper.state)})


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
