"""The probe's operations against the demo shop's frontend, one HTTP exchange each.

``add_to_cart`` posts a form (``user_id``, ``product_id``, ``quantity``, ``channel``) and counts a
2xx or 3xx answer as success without following the redirect (the original demo answers every
add with a redirect to ``/cart``, even when the broker send failed: only the cart shows it).
``cart_visible`` polls ``GET /cart?user_id=…`` until the product shows up anywhere in the JSON.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

PRODUCT_KEYS = ("product_id", "productId", "id")
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Answer:
    """One HTTP exchange: ``status`` None when no answer came (then ``error`` says why)."""

    ok: bool
    status: int | None
    error: str
    latency_ms: float | None
    body: Any = None  # parsed JSON, for GET /cart


def describe(exc: BaseException) -> str:
    """A short, stable error text: the class name, plus the OS reason when there is one."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connect: {type(exc.os_error).__name__}"
    return type(exc).__name__


async def add_to_cart(
    session: aiohttp.ClientSession,
    base_url: str,
    *,
    user_id: str,
    product_id: str,
    channel: str,
    timeout_s: float,
    now: Callable[[], float] = time.perf_counter,
) -> Answer:
    # Encoded here rather than by aiohttp's FormData: the same bytes, a tenth of the CPU at 1,000 req/s.
    body = urlencode({"user_id": user_id, "product_id": product_id, "quantity": "1", "channel": channel}).encode()
    start = now()
    try:
        async with session.post(
            f"{base_url}/cart",
            data=body,
            headers=FORM_HEADERS,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as resp:
            await resp.read()
            latency = (now() - start) * 1000.0
            ok = 200 <= resp.status < 400
            return Answer(ok, resp.status, "" if ok else f"http {resp.status}", latency)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return Answer(False, None, describe(exc), None)


async def get_cart(
    session: aiohttp.ClientSession,
    base_url: str,
    *,
    user_id: str,
    timeout_s: float,
    now: Callable[[], float] = time.perf_counter,
) -> Answer:
    start = now()
    try:
        async with session.get(
            f"{base_url}/cart",
            params={"user_id": user_id},
            allow_redirects=False,
            headers={"Accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as resp:
            raw = await resp.read()
            latency = (now() - start) * 1000.0
            if resp.status != 200:
                return Answer(False, resp.status, f"http {resp.status}", latency)
            try:
                body = json.loads(raw)
            except ValueError:
                return Answer(False, resp.status, "cart is not JSON", latency)
            return Answer(True, resp.status, "", latency, body)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return Answer(False, None, describe(exc), None)


def cart_has(body: Any, product_id: str) -> bool:
    """True when an object naming ``product_id`` (under a product-id key) appears anywhere in ``body``."""
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in PRODUCT_KEYS:
                if key in item and str(item[key]) == product_id:
                    return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def first_product_id(body: Any) -> str | None:
    """The first product id in a ``GET /products`` answer: a list of objects, or an object holding one."""
    if isinstance(body, dict):
        for key in ("products", "items", "data"):
            if isinstance(body.get(key), list):
                return first_product_id(body[key])
        return None
    if isinstance(body, list):
        for entry in body:
            if isinstance(entry, dict):
                for key in PRODUCT_KEYS:
                    if entry.get(key) not in (None, ""):
                        return str(entry[key])
            elif isinstance(entry, str | int) and not isinstance(entry, bool):
                return str(entry)
    return None


async def fetch_product_id(session: aiohttp.ClientSession, base_url: str, *, timeout_s: float) -> str:
    """The product every add uses; raises :class:`LookupError` with a reason when none can be read."""
    try:
        async with session.get(
            f"{base_url}/products",
            headers={"Accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as resp:
            raw = await resp.read()
            if resp.status != 200:
                raise LookupError(f"GET {base_url}/products answered {resp.status}")
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise LookupError(f"GET {base_url}/products failed: {describe(exc)}") from exc
    try:
        product = first_product_id(json.loads(raw))
    except ValueError as exc:
        raise LookupError(f"GET {base_url}/products did not answer JSON") from exc
    if product is None:
        raise LookupError(f"GET {base_url}/products listed no product id")
    return product
