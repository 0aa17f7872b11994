"""The orders service: a JSON API whose orders are confirmed asynchronously through RocketMQ.

``POST /api/orders`` stores the order as ``pending`` and answers ``201`` with a server-assigned
id at once; an outbox thread publishes ``T_ORDER`` (tag ``created``) and retries every second
until the broker takes it, so a RocketMQ outage never fails the POST, it only delays the
confirmation. The fulfillment service answers on ``T_ORDER_EVENT`` (tag ``confirmed``), which
this service consumes as ``CID_ORDERS`` (SimpleConsumer) to mark the order ``confirmed``.
``GET /api/orders/{id}`` shows the status. Orders live in SQLite (``ORDERS_DB``).

Unlike the demo shop, an outage here is invisible in every HTTP status: only the time until
``confirmed`` shows it, which is what an ``eventually`` probe measures.

Protections (``ORDERS_PROTECTIONS``, the catalog's names; the mechanisms are the shared
``demo-k8s/common/rmqprotect.py``), all around the outbox's publish, the only place this service
sends (the POST itself never waits on RocketMQ):

- ``send-timeout``: a publish that has not answered in 0.25 s counts as failed; it goes on in its
  thread and, if it lands, marks the order published itself (it is not sent again meanwhile);
- ``retry-with-backoff``: a failed publish is tried again at once, up to 3 sends with jittered
  backoff inside 2.5 s, before the relay pauses for RETRY_S;
- ``circuit-breaker``: after 5 failed publishes in a row the relay stops calling the broker for 5 s;
- ``fallback-direct``: while publishing fails, each pending order is confirmed by a direct HTTP call
  to fulfillment (``POST {FULFILLMENT_URL}/api/orders/{id}/fulfil``, which reserves the stock once
  per order id); the order stays in the outbox, so ``T_ORDER`` still goes out once the broker is
  back and the notifier still hears of it, late;
- ``async-outbox`` is refused: this service always keeps its orders in an outbox table.

Configuration (environment variables): ORDERS_HOST, ORDERS_PORT, ORDERS_DB, ROCKETMQ_ENDPOINT,
ORDER_TOPIC, ORDER_TAG, EVENT_TOPIC, EVENT_TAG, ORDERS_CONSUMER_GROUP, ROCKETMQ_REQUEST_TIMEOUT_S,
FULFILLMENT_URL, and ORDERS_PROTECTIONS with its tuning (ORDERS_RETRY_*, ORDERS_BREAKER_*,
ORDERS_DEADLINE_S, ORDERS_SEND_TIMEOUT_S).
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
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from rmqkeeper import KeptClient, Reconnect, client_health, receive_forever  # demo-k8s/common: keeps the clients working
from rmqprotect import CircuitOpen, InFlight, Protection, SendTimeout  # demo-k8s/common: the shared protections
from rmqprotect import Settings as _Settings

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
FULFILLMENT_URL = os.environ.get("FULFILLMENT_URL", "http://127.0.0.1:8071").rstrip("/")
RETRY_S = 1.0  # an unpublished order is tried again after this
DIRECT_TIMEOUT_S = 2.0  # one direct confirmation call (fallback-direct)
FALLBACK_BATCH = 200  # direct confirmations per relay round at most
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
DIRECT = Counter("orders_direct_confirmations_total", "fallback-direct calls to fulfillment, by result", ["result"])
OUTBOX = Gauge("orders_outbox_pending", "orders stored but not yet published")
CONFIRMED = Counter("orders_confirmed_total", "orders marked confirmed, by path (rocketmq, direct)", ["path"])
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

    def unpublished(self) -> list[tuple[str, str, float, str]]:
        """(id, body, created_at, status) of every order not yet published, oldest first."""
        with self._lock:
            return list(
                self._db.execute(
                    "SELECT id, body, created_at, status FROM orders WHERE published = 0 ORDER BY created_at"
                )
            )

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


@dataclass(frozen=True)
class Settings(_Settings):
    PREFIX = "ORDERS"
    REFUSED = {
        "async-outbox": "the orders service always stores an order first and publishes it from its outbox table;"
        " that is its design, not a switch"
    }


store = Store(DB_PATH)
wakeup: queue.SimpleQueue[str] = queue.SimpleQueue()
SETTINGS = Settings.from_env(os.environ)  # a bad protection setting stops the start, naming the variable
protection = Protection(SETTINGS)
in_flight = InFlight()  # orders whose publish has not returned (a timed-out one may still land)


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


def send_order(order_id: str, body: str, created_at: float) -> None:
    """One publish of one order, marked published as soon as the broker took it: a publish that lands
    after its send-timeout marks the order itself, from its thread, so it is not sent again."""
    with in_flight.hold(order_id):
        try:
            _publish(producer.get(), order_id, body, created_at)
        except Exception as exc:
            producer.failed(exc)
            raise
        producer.ok()
        store.mark_published(order_id)


def confirm_directly(order_id: str, body: str, created_at: float) -> None:
    """fallback-direct: fulfillment reserves the stock over HTTP and answers; the order is confirmed.
    Raises when fulfillment did not take it."""
    data = json.dumps({"id": order_id, "order": json.loads(body), "created_at": created_at}).encode()
    url = f"{FULFILLMENT_URL}/api/orders/{order_id}/fulfil"
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=DIRECT_TIMEOUT_S) as resp:  # noqa: S310 - our own configured URL
        if resp.status != 200:
            raise RuntimeError(f"fulfillment answered {resp.status}")
    delay = store.confirm(order_id, time.time())
    if delay is not None:
        CONFIRMED.labels("direct").inc()
        CONFIRM_DELAY.observe(delay)


def _fall_back(pending: list[tuple[str, str, float, str]]) -> int:
    """Confirm the pending orders over fulfillment's HTTP path; stop at the first failure (it is down)."""
    done = 0
    # the confirmed ones stay unpublished through the outage: skip them before counting the batch
    waiting = [row for row in pending if row[3] == "pending"]
    for order_id, body, created_at, _status in waiting[:FALLBACK_BATCH]:
        try:
            confirm_directly(order_id, body, created_at)
        except (OSError, RuntimeError, urllib.error.URLError) as exc:
            DIRECT.labels("error").inc()
            log.warning("direct confirmation of %s failed: %s: %s", order_id, type(exc).__name__, str(exc)[:200])
            break
        DIRECT.labels("ok").inc()
        done += 1
    return done


def _result(exc: BaseException) -> str:
    return {CircuitOpen: "circuit_open", SendTimeout: "timeout"}.get(type(exc), "error")


class _Quiet:
    """At most one warning a second: with fallback-direct the relay wakes for every new order."""

    def __init__(self) -> None:
        self._last = 0.0

    def warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last >= 1.0:
            self._last = now
            log.warning("publish failed: %s: %s", type(exc).__name__, str(exc)[:300])


def relay_once(quiet: _Quiet | None = None) -> bool:
    """One round of the outbox: publish every unpublished order, oldest first, through the protections
    switched on; on a failure keep it (and, with fallback-direct, confirm the pending ones directly).
    True when everything went out."""
    rows = store.unpublished()
    OUTBOX.set(len(rows))
    pending = [row for row in rows if row[0] not in in_flight]  # a publish still running is not repeated
    for i, (order_id, body, created_at, _status) in enumerate(pending):
        try:
            protection.call(send_order, order_id, body, created_at)
        except Exception as exc:  # the broker may be down or slow: the order stays in the outbox
            PUBLISHED.labels(_result(exc)).inc()
            (quiet or _Quiet()).warn(exc)
            if SETTINGS.on("fallback-direct"):
                _fall_back(pending[i:])
            return False
        PUBLISHED.labels("ok").inc()
    return True


def outbox_forever(stop: threading.Event) -> None:
    """Relay the outbox; after a failure try again after RETRY_S (or, with fallback-direct, as soon as
    a new order comes, so that it is confirmed directly at once)."""
    quiet = _Quiet()
    while not stop.is_set():
        if relay_once(quiet) or SETTINGS.on("fallback-direct"):
            with contextlib.suppress(queue.Empty):
                wakeup.get(timeout=RETRY_S)
        else:
            stop.wait(RETRY_S)  # the broker failed: do not hammer it for every new order
    producer.close()
    protection.close()


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
        CONFIRMED.labels("rocketmq").inc()
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
    body = {"status": "ok", **client_health(consumer=consumer, producer=producer), **protection.health()}
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
    log.info("protections on: %s", ", ".join(sorted(SETTINGS.enabled)) or "none")
    web.run_app(make_app(), host=HOST, port=PORT, access_log=None, print=None)


if __name__ == "__main__":
    main()
