"""The orders application (demo-k8s/orders) in the embedded environment.

Three processes: ``orders`` (JSON API, publishes ``T_ORDER``, consumes ``T_ORDER_EVENT``),
``fulfillment`` (consumes ``T_ORDER``, publishes ``T_ORDER_EVENT``) and ``notifier`` (a pure
consumer of ``T_ORDER_EVENT``). Like the shop, each reaches the RocketMQ proxy only through a
Toxiproxy listener, so network faults on the proxy or broker act on them too: the producer side
(``orders``) shares the frontend's listener, the consumer side the cartservice's, so a fault's
``client: frontend|cartservice`` picks the same side of both applications.

Health: :func:`order_round_trip` places an order and waits until it is confirmed and the
notifier has counted the event, so ``up`` returns only once the whole asynchronous path works.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bridge.env.config import DEMO_COMMON_DIR, HOST, ORDERS_SERVICES, REPO_ROOT, EnvConfig
from bridge.errors import EnvironmentError_

ORDERS_DIR = REPO_ROOT / "demo-k8s" / "orders"
ORDER_TOPIC = "T_ORDER"
EVENT_TOPIC = "T_ORDER_EVENT"
TOPICS: tuple[str, ...] = (ORDER_TOPIC, EVENT_TOPIC)
# Groups are auto-created by the broker (autoCreateSubscriptionGroup); named here for the docs.
GROUPS = {"orders": "CID_ORDERS", "fulfillment": "CID_FULFILLMENT", "notifier": "CID_NOTIFIER"}
HEALTH_ORDER = {"customer": "mqdrill-health", "items": [{"sku": "health", "quantity": 1}]}
CANARY_TAG = "mqdrill-canary"  # the tag a rocketmq-canary uses on T_ORDER; no application subscribes to it
# The protections the orders application implements (demo-k8s/common/rmqprotect.py, wired in its
# orders and fulfillment services); it refuses async-outbox, which its orders service always has.
ORDERS_PROTECTIONS: tuple[str, ...] = ("retry-with-backoff", "circuit-breaker", "send-timeout", "fallback-direct")
# The services that send, and so read ORDERS_PROTECTIONS (the notifier only consumes).
PROTECTED_SERVICES: tuple[str, ...] = ("orders", "fulfillment")


def is_orders_service(name: str) -> bool:
    return name in ORDERS_SERVICES


def endpoint(cfg: EnvConfig, name: str) -> str:
    """The Toxiproxy listener a service dials to reach the RocketMQ proxy."""
    listener = "tp_frontend" if name == "orders" else "tp_cartservice"
    return f"{HOST}:{cfg.port(listener)}"


def protections(cfg: EnvConfig) -> tuple[str, ...]:
    """The environment's protections that the orders application implements (ORDERS_PROTECTIONS)."""
    return tuple(n for n in cfg.protections if n in ORDERS_PROTECTIONS)


def service_env(cfg: EnvConfig, name: str) -> dict[str, str]:
    upper = name.upper()
    env = {
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(DEMO_COMMON_DIR),  # rmqkeeper, the demo services' shared client keeper
        "HOME": str(cfg.state_dir / name),  # the RocketMQ client logs under ~/logs
        f"{upper}_HOST": HOST,
        f"{upper}_PORT": str(cfg.port(name)),
        "ROCKETMQ_ENDPOINT": endpoint(cfg, name),
        "ORDER_TOPIC": ORDER_TOPIC,
        "EVENT_TOPIC": EVENT_TOPIC,
        f"{upper}_CONSUMER_GROUP": GROUPS[name],
    }
    if name in PROTECTED_SERVICES:
        env["ORDERS_PROTECTIONS"] = ",".join(protections(cfg))
    if name == "orders":
        env["ORDERS_DB"] = str(cfg.state_dir / "orders" / "orders.sqlite3")
        env["FULFILLMENT_URL"] = cfg.url("fulfillment")  # fallback-direct's path
    return env


def argv(cfg: EnvConfig, name: str) -> tuple[str, ...]:
    return (cfg.python, str(ORDERS_DIR / name / "app.py"))


def workdir(name: str) -> Path:
    return ORDERS_DIR / name


def _http(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback URL we built
            raw = resp.read()
            return resp.status, json.loads(raw) if raw.startswith((b"{", b"[")) else raw.decode()
    except urllib.error.HTTPError as exc:
        return exc.code, None


def notified_count(cfg: EnvConfig) -> float:
    """``notifier_messages_consumed_total`` as the notifier exposes it (0 when unreachable)."""
    try:
        status, text = _http("GET", f"{cfg.url('notifier')}/metrics")
    except OSError:
        return 0.0
    if status != 200 or not isinstance(text, str):
        return 0.0
    for line in text.splitlines():
        if line.startswith("notifier_messages_consumed_total "):
            return float(line.split()[1])
    return 0.0


def order_round_trip(cfg: EnvConfig, timeout: float = 60.0) -> float:
    """Place one order; seconds until it is confirmed and the notifier has counted an event."""
    started = time.monotonic()
    deadline = started + timeout
    before = notified_count(cfg)
    order_id = ""
    while time.monotonic() < deadline and not order_id:
        with contextlib.suppress(OSError):
            status, body = _http("POST", f"{cfg.url('orders')}/api/orders", HEALTH_ORDER)
            if status == 201 and isinstance(body, dict):
                order_id = str(body["id"])
        if not order_id:
            time.sleep(0.5)
    while order_id and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            status, body = _http("GET", f"{cfg.url('orders')}/api/orders/{order_id}")
            confirmed = status == 200 and isinstance(body, dict) and body.get("status") == "confirmed"
            if confirmed and notified_count(cfg) > before:
                return time.monotonic() - started
        time.sleep(0.2)
    raise EnvironmentError_(
        f"an order placed at {cfg.url('orders')} was not confirmed and notified within {timeout:g}s "
        f"(order {order_id or 'not accepted'}); logs in {cfg.log_dir}"
    )
