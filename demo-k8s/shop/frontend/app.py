"""The demo shop's frontend: products, add-to-cart over RocketMQ or HTTP, the cart view.

Like the original Alibaba Cloud demo, the ``rocketmq`` channel sends synchronously and only
LOGS a failed send: the HTTP answer stays a success (303 to the cart for a form, 200 for JSON),
so an outage shows in the cart, the logs and the metrics, never in the status code. The ``http``
channel calls the cart service directly, and its failures do reach the caller.

Configuration (environment variables): FRONTEND_HOST, FRONTEND_PORT, ROCKETMQ_ENDPOINT,
ROCKETMQ_TOPIC, ROCKETMQ_TAG, ROCKETMQ_PRODUCER_GROUP, ROCKETMQ_REQUEST_TIMEOUT_S, CARTSERVICE_URL,
and SHOP_PROTECTIONS (retry, breaker, fallback, outbox: see protections.py) with their tuning.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from protections import FAILED, ProtectedSender, Settings
from rmqkeeper import KeptClient, Reconnect  # demo-k8s/common: keeps the client working

log = logging.getLogger("frontend")

HOST = os.environ.get("FRONTEND_HOST", "127.0.0.1")
PORT = int(os.environ.get("FRONTEND_PORT", "8080"))
ENDPOINT = os.environ.get("ROCKETMQ_ENDPOINT", "127.0.0.1:8081")
TOPIC = os.environ.get("ROCKETMQ_TOPIC", "T_CART")
TAG = os.environ.get("ROCKETMQ_TAG", "cart")
GROUP = os.environ.get("ROCKETMQ_PRODUCER_GROUP", "PID_CART")
REQUEST_TIMEOUT_S = int(os.environ.get("ROCKETMQ_REQUEST_TIMEOUT_S", "3"))  # the client needs an int
CARTSERVICE_URL = os.environ.get("CARTSERVICE_URL", "http://127.0.0.1:8090").rstrip("/")

PRODUCTS = [
    {"id": "OLJCESPC7Z", "name": "Sunglasses", "price_usd": 19.99},
    {"id": "66VCHSJNUP", "name": "Tank Top", "price_usd": 18.99},
    {"id": "1YMWWN1N4O", "name": "Watch", "price_usd": 109.99},
    {"id": "L9ECAV7KIM", "name": "Loafers", "price_usd": 89.99},
    {"id": "2ZYFJ3GM2N", "name": "Hairdryer", "price_usd": 24.99},
    {"id": "0PUK6V6EV0", "name": "Candle Holder", "price_usd": 18.99},
    {"id": "LS4PSXUNUM", "name": "Salt & Pepper Shakers", "price_usd": 18.49},
    {"id": "9SIQT8TOJO", "name": "Bamboo Glass Jar", "price_usd": 5.49},
    {"id": "6E92ZMYYFZ", "name": "Mug", "price_usd": 8.99},
]
PRODUCT_IDS = {p["id"] for p in PRODUCTS}

REQUESTS = Counter("frontend_requests_total", "HTTP requests served", ["route", "method", "status"])
SEND_LATENCY = Histogram(
    "frontend_send_seconds",
    "RocketMQ send latency (successful and failed sends)",
    ["result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
)
SEND_ERRORS = Counter("frontend_send_errors_total", "RocketMQ sends that failed, by error type", ["error"])
MESSAGES_SENT = Counter("frontend_messages_sent_total", "RocketMQ messages sent successfully", ["topic"])
HTTP_ADD_ERRORS = Counter("frontend_http_add_errors_total", "direct-channel calls to cartservice that failed")
OUTCOMES = Counter(
    "frontend_rocketmq_adds_total", "rocketmq-channel adds by outcome (sent, fallback, outbox, failed)", ["outcome"]
)
OUTBOX_PENDING = Gauge("frontend_outbox_pending", "messages waiting in the local outbox")
SETTINGS = Settings.from_env(os.environ)  # a bad protection setting stops the start, naming the variable


class CartProducer:
    """A RocketMQ producer started lazily and re-created when it stays broken (``rmqkeeper``).

    ``sending`` is what /healthz shows: ``idle`` before the first send, ``running`` after a send
    went through, ``retrying`` after one failed (with the error, since when, failures in a row,
    re-creations so far). While it backs off between starts a send fails at once.
    """

    def __init__(self, start: Callable[[], Any] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        keeper = Reconnect(clock, initial="idle")
        self._client = KeptClient(start or self._start_producer, log, role="producer", keeper=keeper)
        self.sending = keeper.state

    @staticmethod
    def _start_producer() -> Any:
        from rocketmq import ClientConfiguration, Credentials, Producer

        config = ClientConfiguration(ENDPOINT, Credentials(), request_timeout=REQUEST_TIMEOUT_S)
        producer = Producer(config, (TOPIC,))
        producer.startup()
        return producer

    @property
    def started(self) -> bool:
        return self._client.started

    def send(self, body: dict[str, Any]) -> str:
        from rocketmq import Message

        msg = Message()
        msg.topic = TOPIC
        msg.tag = TAG
        msg.keys = f"{body['user_id']}:{body['product_id']}"
        msg.body = json.dumps(body).encode()
        msg.add_property("producer_group", GROUP)
        try:
            receipt = self._client.get().send(msg)
        except Exception as exc:
            self._client.failed(exc)
            raise
        self._client.ok()
        return str(receipt.message_id)


producer = CartProducer()


def _count(request: web.Request, status: int) -> None:
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
    REQUESTS.labels(route, request.method, str(status)).inc()


async def _read_form(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            raw = await request.json()
        except json.JSONDecodeError as exc:
            raise web.HTTPBadRequest(text=f"invalid JSON: {exc}") from exc
        return dict(raw) if isinstance(raw, dict) else {}
    return dict(await request.post())


def _parse_add(form: dict[str, Any]) -> tuple[str, str, int, str]:
    user_id = str(form.get("user_id") or "").strip()
    product_id = str(form.get("product_id") or "").strip()
    channel = str(form.get("channel") or form.get("channel_select") or "rocketmq").strip()
    try:
        quantity = int(form.get("quantity", 1))
    except (TypeError, ValueError):
        quantity = 0
    problems = []
    if not user_id:
        problems.append("user_id is required")
    if product_id not in PRODUCT_IDS:
        problems.append(f"product_id {product_id!r} is unknown (GET /products lists them)")
    if not 1 <= quantity <= 100:
        problems.append("quantity must be an integer 1..100")
    if channel not in ("rocketmq", "http"):
        problems.append(f"channel {channel!r} is unknown: allowed rocketmq, http")
    if problems:
        raise web.HTTPBadRequest(text="; ".join(problems))
    return user_id, product_id, quantity, channel


async def products(request: web.Request) -> web.Response:
    _count(request, 200)
    return web.json_response(PRODUCTS)


def _timed_send(body: dict[str, Any]) -> str:
    """One synchronous send (a worker thread runs it), measured; a failure is counted and raised."""
    started = time.monotonic()
    try:
        msg_id = producer.send(body)
    except Exception as exc:
        SEND_LATENCY.labels("error").observe(time.monotonic() - started)
        SEND_ERRORS.labels(type(exc).__name__).inc()
        raise
    SEND_LATENCY.labels("ok").observe(time.monotonic() - started)
    MESSAGES_SENT.labels(TOPIC).inc()
    log.info("sent %s user=%s product=%s", msg_id, body["user_id"], body["product_id"])
    return msg_id


async def _direct_add(session: ClientSession, body: dict[str, Any]) -> None:
    """The cart service's direct HTTP path; raises when it did not take the item."""
    async with session.post(f"{CARTSERVICE_URL}/cart/items", json=body) as resp:
        if resp.status >= 300:
            raise RuntimeError(f"cartservice answered {resp.status}")


async def _send_rocketmq(sender: ProtectedSender, body: dict[str, Any]) -> None:
    """Send through the protections switched on; like the original demo, a failure is only logged."""
    outcome = await sender.deliver(body)
    OUTCOMES.labels(outcome).inc()
    if outcome == FAILED:
        log.error("send to %s failed: %s", TOPIC, sender.last_error)
    elif outcome != "sent":
        log.warning("send to %s failed (%s), item kept by %s", TOPIC, sender.last_error, outcome)


async def add_to_cart(request: web.Request) -> web.Response:
    try:
        user_id, product_id, quantity, channel = _parse_add(await _read_form(request))
    except web.HTTPBadRequest:
        _count(request, 400)
        raise
    # item_id: chosen once per add, so the cart applies it once whatever path or retry delivers it
    body = {
        "user_id": user_id,
        "product_id": product_id,
        "quantity": quantity,
        "sent_at": time.time(),
        "item_id": uuid.uuid4().hex,
    }
    if channel == "rocketmq":
        await _send_rocketmq(request.app["sender"], body)
    else:
        try:
            await _direct_add(request.app["session"], body)
        except Exception as exc:
            HTTP_ADD_ERRORS.inc()
            log.error("direct add to cart failed: %s", exc)
            _count(request, 502)
            raise web.HTTPBadGateway(text=f"cartservice: {exc}") from exc
    if request.content_type == "application/json":
        _count(request, 200)
        return web.json_response({"accepted": True, "channel": channel})
    _count(request, 303)
    raise web.HTTPSeeOther(location=f"/cart?user_id={user_id}")


async def view_cart(request: web.Request) -> web.Response:
    user_id = request.query.get("user_id", "")
    if not user_id:
        _count(request, 400)
        raise web.HTTPBadRequest(text="user_id is required")
    session: ClientSession = request.app["session"]
    try:
        async with session.get(f"{CARTSERVICE_URL}/cart", params={"user_id": user_id}) as resp:
            data = await resp.json()
            status = resp.status
    except Exception as exc:
        _count(request, 502)
        raise web.HTTPBadGateway(text=f"cartservice: {exc}") from exc
    _count(request, status)
    return web.json_response(data, status=status)


async def healthz(request: web.Request) -> web.Response:
    sending = dict(producer.sending)
    return web.json_response(
        {"status": "ok", "producer": "started" if producer.started else "idle", "sending": sending}
    )


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _session(app: web.Application) -> Any:
    session = ClientSession(timeout=ClientTimeout(total=5))
    app["session"] = session
    sender = ProtectedSender(SETTINGS, _timed_send, lambda body: _direct_add(session, body))
    app["sender"] = sender
    outbox = sender.outbox
    if outbox is not None:
        OUTBOX_PENDING.set_function(outbox.pending)  # read at each scrape, so the relay shows too
    stop = asyncio.Event()
    relay = asyncio.create_task(sender.relay_forever(stop))
    if SETTINGS.enabled:
        log.info("protections on: %s", ", ".join(sorted(SETTINGS.enabled)))
    yield
    stop.set()
    await relay
    if sender.outbox is not None:
        sender.outbox.close()
    await session.close()


def make_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(_session)
    app.router.add_get("/products", products)
    app.router.add_post("/cart", add_to_cart)
    app.router.add_get("/cart", view_cart)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    web.run_app(make_app(), host=HOST, port=PORT, access_log=None, print=None)


if __name__ == "__main__":
    main()
