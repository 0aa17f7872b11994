"""The orders service: a JSON API whose orders are confirmed asynchronously through RocketMQ.

``POST /api/orders`` stores the order as ``pending`` and answers ``201`` with a server-assigned
id at once; an outbox thread publishes ``T_ORDER`` (tag ``created``) and retries every second
until the broker takes it, so a RocketMQ outage never fails the POST, it only delays the
confirmation. The fulfillment service answers on ``T_ORDER_EVENT`` (tag ``confirmed``), which
this service consumes as ``CID_ORDERS`` (SimpleConsumer) to mark the order ``confirmed``.
``GET /api/orders/{id}`` shows the status. Orders live in SQLite (``ORDERS_DB``).

Unlike the demo shop, an outage here is invisible in every HTTP status: only the time until
``confirmed`` shows it, which is what an ``eventually`` probe measures.

Configuration (environment variables): ORDERS_HOST, ORDERS_PORT, ORDERS_DB, ROCKETMQ_ENDPOINT,
ORDER_TOPIC, ORDER_TAG, EVENT_TOPIC, EVENT_TAG, ORDERS_CONSUMER_GROUP, ROCKETMQ_REQUEST_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import sqlite3
import threading
import time
import uuid
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from rmqkeeper import KeptClient, Reconnect, receive_forever  # demo-k8s/common: keeps the clients working

log = logging.getLogger("orders")

HOST = os.environ.get("ORDERS_HOST", "127.0.0.1")
PORT = int(os.environ.get("ORDERS_PORT", "8070"))
DB_PATH = os.environ.get("ORDERS_DB", "orders.sqlite3")
ENDPOINT = os.environ.get("ROCKETMQ_ENDPOINT", "127.0.0.1:8081")
ORDER_TOPIC = os.environ.get("ORDER_TOPIC", "T_ORDER")
ORDER_TAG = os.environ.get("ORDER_TAG", "created")
EVENT_TOPIC = os.environ.get("EVENT_TOPIC", "T_ORDER_EVENT")
EVENT_TAG = os.environ.get("EVENT_TAG", "confirmed")
GROUP = os.environ.get("ORDERS_CONSUMER_GROUP", "CID_ORDERS")
REQUEST_TIMEOUT_S = int(os.environ.get("ROCKETMQ_REQUEST_TIMEOUT_S", "3"))  # the client needs an int
RETRY_S = 1.0  # an unpublished order is tried again after this
AWAIT_S = 5
INVISIBLE_S = 15

REQUESTS = Counter("orders_http_requests_total", "HTTP requests served", ["route", "method", "status"])
LATENCY = Histogram(
    "orders_http_request_seconds",
    "HTTP request latency",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
PUBLISHED = Counter("orders_published_total", "order-created publications, by result", ["result"])
OUTBOX = Gauge("orders_outbox_pending", "orders stored but not yet published")
CONFIRMED = Counter("orders_confirmed_total", "orders marked confirmed")
CONFIRM_DELAY = Histogram(
    "orders_confirm_delay_seconds",
    "order created → confirmed",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
RECEIVE_ERRORS = Counter("orders_receive_errors_total", "receive calls that failed", ["error"])


class Store:
    """Orders in SQLite; one connection guarded by a lock (the API, the outbox and the consumer share it)."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL,"
                " created_at REAL NOT NULL, confirmed_at REAL, published INTEGER NOT NULL DEFAULT 0)"
            )

    def add(self, order_id: str, body: dict[str, Any], created_at: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO orders (id, body, status, created_at) VALUES (?, ?, 'pending', ?)",
                (order_id, json.dumps(body), created_at),
            )

    def get(self, order_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, body, status, created_at, confirmed_at FROM orders WHERE id = ?", (order_id,)
            ).fetchone()
        if row is None:
            return None
        body = json.loads(row[1])
        return {"id": row[0], **body, "status": row[2], "created_at": row[3], "confirmed_at": row[4]}

    def unpublished(self) -> list[tuple[str, str, float]]:
        with self._lock:
            return list(self._db.execute("SELECT id, body, created_at FROM orders WHERE published = 0"))

    def mark_published(self, order_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE orders SET published = 1 WHERE id = ?", (order_id,))

    def confirm(self, order_id: str, when: float) -> float | None:
        """Mark confirmed; the created → confirmed delay, or None if unknown or already confirmed."""
        with self._lock:
            row = self._db.execute("SELECT created_at, status FROM orders WHERE id = ?", (order_id,)).fetchone()
            if row is None or row[1] == "confirmed":
                return None
            self._db.execute("UPDATE orders SET status = 'confirmed', confirmed_at = ? WHERE id = ?", (when, order_id))
        return max(0.0, when - float(row[0]))


store = Store(DB_PATH)
wakeup: queue.SimpleQueue[str] = queue.SimpleQueue()


def _config() -> Any:
    from rocketmq import ClientConfiguration, Credentials

    return ClientConfiguration(ENDPOINT, Credentials(), request_timeout=REQUEST_TIMEOUT_S)


def _publish(producer: Any, order_id: str, body: str, created_at: float) -> None:
    from rocketmq import Message

    msg = Message()
    msg.topic = ORDER_TOPIC
    msg.tag = ORDER_TAG
    msg.keys = order_id
    msg.body = json.dumps({"id": order_id, "order": json.loads(body), "created_at": created_at}).encode()
    producer.send(msg)


def _start_producer() -> Any:
    from rocketmq import Producer

    client = Producer(_config(), (ORDER_TOPIC,))
    client.startup()
    return client


def _start_consumer() -> Any:
    from rocketmq import FilterExpression, SimpleConsumer

    client = SimpleConsumer(_config(), GROUP, {EVENT_TOPIC: FilterExpression(EVENT_TAG)}, await_duration=AWAIT_S)
    client.startup()
    return client


producer = KeptClient(_start_producer, log, role="producer", keeper=Reconnect(initial="idle"))
consumer = KeptClient(_start_consumer, log, role="consumer")


def outbox_forever(stop: threading.Event) -> None:
    """Publish every unpublished order; on failure keep it and try again after RETRY_S."""
    while not stop.is_set():
        pending = store.unpublished()
        OUTBOX.set(len(pending))
        try:
            for order_id, body, created_at in pending:
                _publish(producer.get(), order_id, body, created_at)
                store.mark_published(order_id)
                PUBLISHED.labels("ok").inc()
                producer.ok()
        except Exception as exc:  # the broker may be down or slow: the order stays in the outbox
            producer.failed(exc)
            PUBLISHED.labels("error").inc()
            log.warning("publish failed: %s: %s", type(exc).__name__, str(exc)[:300])
            stop.wait(RETRY_S)
            continue
        with contextlib.suppress(queue.Empty):
            wakeup.get(timeout=RETRY_S)
    producer.close()


def _apply_event(consumer: Any, msg: Any) -> None:
    try:
        event = json.loads(msg.body)
        order_id = str(event["id"])
    except (ValueError, KeyError, TypeError) as exc:
        log.error("unreadable event %s: %s", msg.message_id, exc)
        consumer.ack(msg)
        return
    delay = store.confirm(order_id, time.time())
    if delay is not None:
        CONFIRMED.inc()
        CONFIRM_DELAY.observe(delay)
    consumer.ack(msg)


def consume_forever(stop: threading.Event) -> None:
    receive_forever(stop, consumer, _apply_event, on_error=lambda exc: RECEIVE_ERRORS.labels(type(exc).__name__).inc(),
                    invisible_s=INVISIBLE_S)  # fmt: skip


def _problem(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)


def parse_order(raw: Any) -> tuple[dict[str, Any] | None, str]:
    """The order to store, or None and what is wrong with it."""
    if not isinstance(raw, dict):
        return None, "the body must be a JSON object"
    customer = raw.get("customer")
    items = raw.get("items")
    if not isinstance(customer, str) or not 1 <= len(customer) <= 100:
        return None, "customer must be a string of 1..100 characters"
    if not isinstance(items, list) or not 1 <= len(items) <= 50:
        return None, "items must be a list of 1..50 {sku, quantity}"
    clean = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not item["sku"]:
            return None, f"items[{i}].sku must be a non-empty string"
        qty = item.get("quantity", 1)
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= 1000:
            return None, f"items[{i}].quantity must be an integer 1..1000"
        clean.append({"sku": item["sku"][:64], "quantity": qty})
    return {"customer": customer, "items": clean}, ""


async def create_order(request: web.Request) -> web.Response:
    try:
        raw = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _problem(400, "the body is not JSON")
    order, problem = parse_order(raw)
    if order is None:
        return _problem(400, problem)
    order_id = f"ord-{uuid.uuid4().hex[:16]}"
    now = time.time()
    await asyncio.get_running_loop().run_in_executor(None, store.add, order_id, order, now)
    wakeup.put(order_id)
    body = {"id": order_id, "status": "pending", "created_at": now}
    return web.json_response(body, status=201, headers={"Location": f"/api/orders/{order_id}"})


async def get_order(request: web.Request) -> web.Response:
    order = await asyncio.get_running_loop().run_in_executor(None, store.get, request.match_info["order_id"])
    if order is None:
        return _problem(404, "no such order")
    return web.json_response(order)


async def healthz(request: web.Request) -> web.Response:
    body = {"status": "ok", "consumer": dict(consumer.keeper.state), "producer": dict(producer.keeper.state)}
    return web.json_response(body)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


@web.middleware
async def measured(request: web.Request, handler: Any) -> web.StreamResponse:
    started = time.monotonic()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as exc:
        REQUESTS.labels(route, request.method, str(exc.status)).inc()
        raise
    LATENCY.labels(route, request.method).observe(time.monotonic() - started)
    REQUESTS.labels(route, request.method, str(response.status)).inc()
    return response


async def _threads(app: web.Application) -> Any:
    stop = threading.Event()
    for target in (outbox_forever, consume_forever):
        threading.Thread(target=target, args=(stop,), name=target.__name__, daemon=True).start()
    yield
    stop.set()


def make_app() -> web.Application:
    app = web.Application(middlewares=[measured])
    app.cleanup_ctx.append(_threads)
    app.router.add_post("/api/orders", create_order)
    app.router.add_get("/api/orders/{order_id}", get_order)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    web.run_app(make_app(), host=HOST, port=PORT, access_log=None, print=None)


if __name__ == "__main__":
    main()
