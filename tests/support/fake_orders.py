"""A stand-in for an application unlike the shop: JSON in and out, ids made by the server, and an
order confirmed asynchronously (a background task stands in for a RocketMQ consumer).

``POST /orders`` with ``{"sku", "ref"}`` answers 201 ``{"id": <server id>, "state": "PENDING"}``;
``GET /orders/{id}`` answers the order; it turns ``CONFIRMED`` after ``confirm_after_s`` unless
``confirming`` is off. ``order_status`` forces the POST's answer code (e.g. 500).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class OrdersState:
    confirm_after_s: float = 0.05
    confirming: bool = True
    order_status: int = 201
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)
    tokens_seen: list[str] = field(default_factory=list)
    polls: int = 0


class FakeOrders:
    def __init__(self) -> None:
        self.state = OrdersState()
        self._ids = itertools.count(1000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def login(self, request: web.Request) -> web.Response:
        return web.json_response({"token": "tok-42"})

    async def place(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.state.tokens_seen.append(request.headers.get("Authorization", ""))
        if self.state.order_status != 201:
            return web.json_response({"error": "down"}, status=self.state.order_status)
        oid = f"o{next(self._ids)}"
        self.state.refs.append(str(body["ref"]))
        self.state.orders[oid] = {"id": oid, "sku": body["sku"], "state": "PENDING", "at": time.monotonic()}
        return web.json_response({"id": oid, "state": "PENDING"}, status=201)

    async def get(self, request: web.Request) -> web.Response:
        self.state.polls += 1
        order = self.state.orders.get(request.match_info["oid"])
        if order is None:
            return web.json_response({"error": "no such order"}, status=404)
        s = self.state
        if s.confirming and time.monotonic() - order["at"] >= s.confirm_after_s:
            order["state"] = "CONFIRMED"
        return web.json_response({"id": order["id"], "state": order["state"]})

    def start(self) -> None:
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True, name="fake-orders").start()
        if not ready.wait(10):
            raise RuntimeError("fake orders app did not start")

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.add_routes(
            [web.post("/login", self.login), web.post("/orders", self.place), web.get("/orders/{oid}", self.get)]
        )

        async def boot() -> None:
            self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            server = site._server
            assert server is not None and server.sockets
            self.port = server.sockets[0].getsockname()[1]

        loop.run_until_complete(boot())
        ready.set()
        loop.run_forever()


@contextmanager
def running_orders() -> Iterator[FakeOrders]:
    app = FakeOrders()
    app.start()
    try:
        yield app
    finally:
        app.stop()
