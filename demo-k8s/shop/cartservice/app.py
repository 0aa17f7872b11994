"""The demo shop's cart service: consumes T_CART (tag ``cart``) as CID_CART and writes Redis.

It uses the official client's SimpleConsumer (receive, then ack), not the PushConsumer, whose
telemetry loop breaks against a proxy with metrics collection off. Each message is applied at
most once (a Redis key per message id), so a redelivery after a lost ack does not double an item.
An HTTP endpoint serves the direct channel (``POST /cart/items``) and the cart (``GET /cart``);
``/healthz`` reports the consumer's state (``running`` or ``retrying`` with its last error).

After a restart of the proxy (or broker, or name server) the consumer re-creates its client when
the proxy has lost its session or its receives have failed for 30 s, with a backoff between
starts, as a well-written client does (``rmqkeeper``); one drill never poisons the next.

Configuration (environment variables): CART_HOST, CART_PORT, ROCKETMQ_ENDPOINT, ROCKETMQ_TOPIC,
ROCKETMQ_TAG, ROCKETMQ_CONSUMER_GROUP, ROCKETMQ_REQUEST_TIMEOUT_S, REDIS_ADDR (host:port).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from rmqkeeper import KeptClient, Reconnect, receive_forever  # demo-k8s/common: keeps the client working

log = logging.getLogger("cartservice")

HOST = os.environ.get("CART_HOST", "127.0.0.1")
PORT = int(os.environ.get("CART_PORT", "8090"))
ENDPOINT = os.environ.get("ROCKETMQ_ENDPOINT", "127.0.0.1:8081")
TOPIC = os.environ.get("ROCKETMQ_TOPIC", "T_CART")
TAG = os.environ.get("ROCKETMQ_TAG", "cart")
GROUP = os.environ.get("ROCKETMQ_CONSUMER_GROUP", "CID_CART")
REQUEST_TIMEOUT_S = int(os.environ.get("ROCKETMQ_REQUEST_TIMEOUT_S", "3"))  # the client needs an int
REDIS_HOST, _, REDIS_PORT = os.environ.get("REDIS_ADDR", "127.0.0.1:6379").rpartition(":")
AWAIT_S = 5  # long-polling wait of one receive
INVISIBLE_S = 15  # a message not acked within this is delivered again

REQUESTS = Counter("cartservice_requests_total", "HTTP requests served", ["route", "method", "status"])
CONSUMED = Counter("cartservice_messages_consumed_total", "messages received, by outcome", ["result"])
RECEIVE_ERRORS = Counter("cartservice_receive_errors_total", "receive calls that failed", ["error"])
CONSUME_DELAY = Histogram(
    "cartservice_consume_delay_seconds",
    "now minus the message's born time, at consumption",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
LAST_DELAY = Gauge("cartservice_consume_delay_last_seconds", "consume delay of the last message")
LAST_CONSUMED = Gauge("cartservice_last_consumed_timestamp_seconds", "when the last message was applied")

db = redis.Redis(host=REDIS_HOST or "127.0.0.1", port=int(REDIS_PORT), socket_timeout=2, socket_connect_timeout=2)


# the first delivery of a message adds the item; later ones find the marker and do nothing (atomic)
_APPLY_ONCE = db.register_script(
    "if redis.call('SET', KEYS[1], 1, 'NX', 'EX', 3600) then "
    "redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2]) return 1 else return 0 end"
)


def apply_item(user_id: str, product_id: str, quantity: int, message_id: str | None = None) -> bool:
    """Add to the cart; with a message id, only the first delivery counts. False for a duplicate."""
    if message_id is None:
        db.hincrby(f"cart:{user_id}", product_id, quantity)
        return True
    return bool(_APPLY_ONCE(keys=[f"cart:msg:{message_id}", f"cart:{user_id}"], args=[product_id, quantity]))


def get_cart(user_id: str) -> dict[str, Any]:
    raw = db.hgetall(f"cart:{user_id}")
    items = [{"product_id": k.decode(), "quantity": int(v)} for k, v in sorted(raw.items())]
    return {"user_id": user_id, "items": items}


def _handle(consumer: Any, msg: Any) -> None:
    born_ms = getattr(msg, "born_timestamp", None)
    if born_ms:
        delay = max(0.0, time.time() - born_ms / 1000.0)
        CONSUME_DELAY.observe(delay)
        LAST_DELAY.set(delay)
    try:
        body = json.loads(msg.body)
        user_id, product_id, quantity = str(body["user_id"]), str(body["product_id"]), int(body["quantity"])
    except (ValueError, KeyError, TypeError) as exc:
        # like the original: an unreadable message is acknowledged, never retried
        log.error("unreadable message %s: %s", msg.message_id, exc)
        CONSUMED.labels("unreadable").inc()
        consumer.ack(msg)
        return
    try:
        # the add's own item_id when the frontend set one: a retried, relayed or fallen-back add counts once
        fresh = apply_item(user_id, product_id, quantity, str(body.get("item_id") or msg.message_id))
    except redis.RedisError as exc:
        # not acked: the broker delivers it again after INVISIBLE_S
        log.error("redis write failed for %s: %s", msg.message_id, exc)
        CONSUMED.labels("redis_error").inc()
        return
    consumer.ack(msg)
    LAST_CONSUMED.set(time.time())
    CONSUMED.labels("applied" if fresh else "duplicate").inc()


def _start_consumer() -> Any:
    from rocketmq import ClientConfiguration, Credentials, FilterExpression, SimpleConsumer

    config = ClientConfiguration(ENDPOINT, Credentials(), request_timeout=REQUEST_TIMEOUT_S)
    consumer = SimpleConsumer(config, GROUP, {TOPIC: FilterExpression(TAG)}, await_duration=AWAIT_S)
    consumer.startup()
    return consumer


keeper = Reconnect()


def consume_forever(stop: threading.Event, keeper: Reconnect, start: Callable[[], Any] = _start_consumer) -> None:
    consumer = KeptClient(start, log, role="consumer", keeper=keeper)
    receive_forever(stop, consumer, _handle, on_error=lambda exc: RECEIVE_ERRORS.labels(type(exc).__name__).inc(),
                    invisible_s=INVISIBLE_S)  # fmt: skip


def _count(request: web.Request, status: int) -> None:
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
    REQUESTS.labels(route, request.method, str(status)).inc()


async def add_item(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        user_id, product_id, quantity = str(body["user_id"]), str(body["product_id"]), int(body["quantity"])
    except (ValueError, KeyError, TypeError) as exc:
        _count(request, 400)
        raise web.HTTPBadRequest(text=f"need JSON user_id, product_id, quantity: {exc}") from exc
    try:
        item_id = str(body["item_id"]) if body.get("item_id") else None
        await asyncio.get_running_loop().run_in_executor(None, apply_item, user_id, product_id, quantity, item_id)
    except redis.RedisError as exc:
        _count(request, 503)
        raise web.HTTPServiceUnavailable(text=f"redis: {exc}") from exc
    _count(request, 200)
    return web.json_response({"ok": True})


async def view_cart(request: web.Request) -> web.Response:
    user_id = request.query.get("user_id", "")
    if not user_id:
        _count(request, 400)
        raise web.HTTPBadRequest(text="user_id is required")
    try:
        cart = await asyncio.get_running_loop().run_in_executor(None, get_cart, user_id)
    except redis.RedisError as exc:
        _count(request, 503)
        raise web.HTTPServiceUnavailable(text=f"redis: {exc}") from exc
    _count(request, 200)
    return web.json_response(cart)


async def healthz(request: web.Request) -> web.Response:
    try:
        await asyncio.get_running_loop().run_in_executor(None, db.ping)
        redis_ok = True
    except redis.RedisError:
        redis_ok = False
    consuming = keeper.state["state"] == "running"
    body = {"status": "ok" if redis_ok and consuming else "degraded", "redis": redis_ok, "consumer": dict(keeper.state)}
    return web.json_response(body, status=200 if redis_ok else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _consumer_thread(app: web.Application) -> Any:
    stop = threading.Event()
    thread = threading.Thread(target=consume_forever, args=(stop, keeper), name="consumer", daemon=True)
    thread.start()
    yield
    stop.set()


def make_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(_consumer_thread)
    app.router.add_post("/cart/items", add_item)
    app.router.add_get("/cart", view_cart)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    web.run_app(make_app(), host=HOST, port=PORT, access_log=None, print=None)


if __name__ == "__main__":
    main()
