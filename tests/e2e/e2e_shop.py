"""A tiny client of the demo shop for the end-to-end tests (plain urllib, like a probe)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

PRODUCT = "66VCHSJNUP"


def new_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def call(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 10.0) -> tuple[int, Any, float]:
    """(status, JSON body or None, seconds); status 0 when nothing answered."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None, time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return exc.code, None, time.monotonic() - started
    except OSError:
        return 0, None, time.monotonic() - started


def add(frontend: str, user: str, channel: str = "rocketmq", quantity: int = 1) -> tuple[int, float]:
    body = {"user_id": user, "product_id": PRODUCT, "quantity": quantity, "channel": channel}
    status, _, seconds = call("POST", f"{frontend}/cart", body)
    return status, seconds


def quantity(frontend: str, user: str) -> int | None:
    """The user's quantity of PRODUCT, or None if the cart could not be read."""
    status, cart, _ = call("GET", f"{frontend}/cart?user_id={user}", timeout=5)
    if status != 200 or cart is None:
        return None
    return sum(i["quantity"] for i in cart["items"] if i["product_id"] == PRODUCT)


def wait_quantity(frontend: str, user: str, want: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if quantity(frontend, user) == want:
            return True
        time.sleep(0.2)
    return False


def metric(url: str, name: str, labels: str = "") -> float:
    """Sum of a Prometheus sample family's values whose label text contains ``labels``."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (line[len(name)] in "{ ") and labels in line:
            total += float(line.rsplit(" ", 1)[1])
    return total
