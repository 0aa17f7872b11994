"""The demo shop's frontend: its wiring of the protections around the RocketMQ send.

The generic mechanisms (``retry-with-backoff``, ``circuit-breaker``, ``send-timeout`` and the
settings) are ``demo-k8s/common/rmqprotect.py``, the one implementation every demo application
uses. What the shop does when the protected send still fails is its own, here:

- ``fallback-direct``: when the send fails (or the breaker is open), add to the cart over the
  cart service's direct HTTP path instead;
- ``async-outbox``: when the send fails, keep the message in a durable local table (SQLite) and
  relay it when the broker is back, oldest first.

Every message carries an ``item_id`` chosen once, when the item is added: the cart service applies
an item once per ``item_id``, so a retry after a lost answer, a fallback after a send that did
arrive, or a relay from the outbox never counts an item twice.

Switched by ``SHOP_PROTECTIONS`` (comma-separated names, empty for none) and tuned by the
``SHOP_RETRY_*``, ``SHOP_BREAKER_*``, ``SHOP_DEADLINE_S``, ``SHOP_SEND_TIMEOUT_S`` and
``SHOP_OUTBOX_*`` variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import rmqprotect  # demo-k8s/common: the protections every demo application shares
from rmqprotect import NAMES, CircuitBreaker, CircuitOpen, ConfigError, Protection, backoff_delays

__all__ = [
    "FAILED", "FALLBACK", "NAMES", "OUTBOX", "SENT", "CircuitBreaker", "ConfigError", "Outbox",
    "ProtectedSender", "Settings", "backoff_delays",
]  # fmt: skip


@dataclass(frozen=True)
class Settings(rmqprotect.Settings):
    PREFIX = "SHOP"

    deadline_s: float = 2.5  # the probe waits 2 s + margin for an add-to-cart
    outbox_path: str = os.path.join(tempfile.gettempdir(), "frontend-outbox.sqlite")  # durable: give it a volume
    outbox_relay_s: float = 1.0

    @classmethod
    def _fields(cls, env: Mapping[str, str]) -> dict[str, Any]:
        return {
            **super()._fields(env),
            "outbox_path": env.get("SHOP_OUTBOX_PATH", cls.outbox_path),
            "outbox_relay_s": rmqprotect.float_setting(env, "SHOP_OUTBOX_RELAY_S", cls.outbox_relay_s, 0.05, 60.0),
        }


class Outbox:
    """A durable queue of messages not yet sent: one SQLite table, relayed oldest first."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, added REAL)"
        )
        self._lock = threading.Lock()

    def put(self, body: Mapping[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT INTO outbox (body, added) VALUES (?, ?)", (json.dumps(dict(body)), time.time()))

    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def relay(self, send: Callable[[dict[str, Any]], object], limit: int = 100) -> int:
        """Send up to ``limit`` messages, oldest first; stop at the first failure (the broker is still
        away) and keep it. A message leaves the table only after its send returned."""
        with self._lock:
            rows = self._db.execute("SELECT id, body FROM outbox ORDER BY id LIMIT ?", (limit,)).fetchall()
        sent = 0
        for row_id, body in rows:
            try:
                send(json.loads(body))
            except Exception:
                break
            with self._lock:
                self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
            sent += 1
        return sent

    def close(self) -> None:
        self._db.close()


# What became of one add-to-cart.
SENT, FALLBACK, OUTBOX, FAILED = "sent", "fallback", "outbox", "failed"


class ProtectedSender:
    """The send path with whatever protections the settings switch on.

    ``send`` is the blocking RocketMQ send (run in a worker thread); ``direct`` the cart service's
    HTTP add, awaited. Neither raises past this class: the outcome says what happened.
    """

    def __init__(
        self,
        settings: Settings,
        send: Callable[[dict[str, Any]], object],
        direct: Callable[[dict[str, Any]], Awaitable[object]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._send = send
        self._direct = direct
        # the retries, the breaker and the send timeout: the shared implementation (rmqprotect)
        self.protection = Protection(settings, clock=clock, asleep=sleep, rng=rng)
        self.breaker = self.protection.breaker
        self.outbox = Outbox(settings.outbox_path) if settings.on("async-outbox") else None
        self.last_error = ""

    async def deliver(self, body: dict[str, Any]) -> str:
        if await self._send_protected(body):
            return SENT
        if self.settings.on("fallback-direct"):
            try:
                await self._direct(body)
                return FALLBACK
            except Exception as exc:
                self.last_error = f"fallback: {type(exc).__name__}: {exc}"
        if self.outbox is not None:
            self.outbox.put(body)
            return OUTBOX
        return FAILED

    async def _send_protected(self, body: dict[str, Any]) -> bool:
        try:
            await self.protection.acall(self._send, body)
        except CircuitOpen as exc:
            self.last_error = str(exc)
            return False
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        return True

    async def relay_forever(self, stop: asyncio.Event) -> None:
        """Relay the outbox while the app runs; the breaker (when on) decides whether to try."""
        if self.outbox is None:
            return
        while not stop.is_set():
            breaker = self.settings.on("circuit-breaker")
            if self.outbox.pending() and (not breaker or self.breaker.allow()):
                sent = await asyncio.get_running_loop().run_in_executor(None, self.outbox.relay, self._send)
                if breaker:
                    self.breaker.record(sent > 0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.outbox_relay_s)
