"""A stand-in for the demo shop's frontend: a real aiohttp server on 127.0.0.1 with switchable behaviour.

Runs its own event loop in a daemon thread, so synchronous tests (and the probe's own thread)
talk to it over real sockets. Behaviours:

- ``normal``: adds answer 302 (like the original demo), the cart shows the item after ``visible_after_s``
- ``slow``: every answer is delayed by ``delay_s``
- ``stalled``: requests hang until the behaviour changes (accepted, never answered)
- ``erroring``: every answer is HTTP 500
- ``never_visible``: adds succeed, the cart never shows the item
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web

PRODUCT = "OLJCESPC7Z"


@dataclass
class ShopState:
    behaviour: str = "normal"
    delay_s: float = 0.0
    visible_after_s: float = 0.0
    add_status: int = 302
    carts: dict[str, tuple[float, str]] = field(default_factory=dict)  # user -> (added at, product)
    adds: int = 0
    cart_gets: int = 0


class FakeShop:
    def __init__(self) -> None:
        self.state = ShopState()
        self._changed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, behaviour: str, **settings: float) -> None:
        """Switch behaviour (thread-safe); stalled requests are released when it changes."""
        assert self._loop is not None

        def apply() -> None:
            self.state.behaviour = behaviour
            for key, value in settings.items():
                setattr(self.state, key, value)
            assert self._changed is not None
            self._changed.set()
            self._changed = asyncio.Event()

        done = threading.Event()
        self._loop.call_soon_threadsafe(lambda: (apply(), done.set()))
        done.wait(5)

    async def _gate(self) -> web.Response | None:
        """Apply the behaviour common to every route; a response means: answer this instead."""
        if self.state.behaviour == "stalled":
            assert self._changed is not None
            await self._changed.wait()
        if self.state.behaviour == "slow":
            await asyncio.sleep(self.state.delay_s)
        if self.state.behaviour == "erroring":
            return web.Response(status=500, text="boom")
        return None

    async def products(self, request: web.Request) -> web.Response:
        return await self._gate() or web.json_response([{"id": PRODUCT, "name": "Vintage typewriter"}])

    async def add(self, request: web.Request) -> web.Response:
        form = await request.post()  # before the gate: a stalled client may have gone when it opens
        if (early := await self._gate()) is not None:
            return early
        self.state.adds += 1
        if self.state.behaviour != "never_visible":
            self.state.carts[str(form["user_id"])] = (time.monotonic(), str(form["product_id"]))
        if self.state.add_status in (301, 302, 303):
            raise web.HTTPFound("/cart")
        return web.Response(status=int(self.state.add_status), text="ok")

    async def cart(self, request: web.Request) -> web.Response:
        if (early := await self._gate()) is not None:
            return early
        self.state.cart_gets += 1
        user = request.query.get("user_id", "")
        items = []
        entry = self.state.carts.get(user)
        if entry is not None and time.monotonic() - entry[0] >= self.state.visible_after_s:
            items.append({"product_id": entry[1], "quantity": 1})
        return web.json_response({"user_id": user, "items": items})

    def start(self) -> None:
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True, name="fake-shop").start()
        if not ready.wait(10):
            raise RuntimeError("fake shop did not start")

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.add_routes([web.get("/products", self.products), web.post("/cart", self.add), web.get("/cart", self.cart)])

        async def boot() -> None:
            self._changed = asyncio.Event()
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
def running_shop() -> Iterator[FakeShop]:
    shop = FakeShop()
    shop.start()
    try:
        yield shop
    finally:
        shop.stop()


def reset(shop: FakeShop) -> FakeShop:
    """Back to normal behaviour with default settings (releases anything stalled)."""
    shop.set("normal", delay_s=0.0, visible_after_s=0.0, add_status=302)
    shop.state.carts.clear()
    return shop
