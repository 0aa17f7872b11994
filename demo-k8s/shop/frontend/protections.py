"""Protections around the frontend's RocketMQ send, each switched on by configuration.

These are what a team applies after a drill found the cart strongly dependent on RocketMQ, and
what the next drill must show to work (see docs/protections.md). Their names are those of the
mqdrill catalog's protections. They are real implementations, the same code whether a drill runs
or not:

- ``retry-with-backoff``: bounded retries with exponential backoff and full jitter, inside the
  request's deadline;
- ``circuit-breaker``: after N failures in a row, stop calling the broker for a while (fast
  failure instead of a 3 s timeout per request), then let one call through;
- ``send-timeout``: a send that has not answered within a budget counts as failed (the call goes
  on in its thread; if it lands after all, the cart still applies the item once);
- ``fallback-direct``: when the send fails (or the breaker is open), add to the cart over the
  cart service's direct HTTP path instead;
- ``async-outbox``: when the send fails, keep the message in a durable local table (SQLite) and
  relay it when the broker is back, oldest first.

Every message carries an ``item_id`` chosen once, when the item is added: the cart service applies
an item once per ``item_id``, so a retry after a lost answer, a fallback after a send that did
arrive, or a relay from the outbox never counts an item twice.

Switched by ``SHOP_PROTECTIONS`` (comma-separated names, empty for none) and tuned by the
``SHOP_RETRY_*``, ``SHOP_BREAKER_*``, ``SHOP_SEND_TIMEOUT_S`` and ``SHOP_OUTBOX_*`` variables below.
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

NAMES = ("retry-with-backoff", "circuit-breaker", "send-timeout", "fallback-direct", "async-outbox")


class ConfigError(ValueError):
    """A protection setting that cannot be used; the message names the variable and what is allowed."""


@dataclass(frozen=True)
class Settings:
    enabled: frozenset[str] = frozenset()
    retry_attempts: int = 3  # sends in all, the first included
    retry_base_s: float = 0.05
    retry_cap_s: float = 0.5
    deadline_s: float = 2.5  # the whole protected send, retries included (the probe waits 2 s + margin)
    breaker_failures: int = 5
    breaker_open_s: float = 5.0
    send_timeout_s: float = 0.25  # well under the 500 ms p95 objective of the demo drills
    outbox_path: str = os.path.join(tempfile.gettempdir(), "frontend-outbox.sqlite")  # durable: give it a volume
    outbox_relay_s: float = 1.0

    def on(self, name: str) -> bool:
        return name in self.enabled

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        raw = env.get("SHOP_PROTECTIONS", "")
        names = frozenset(n.strip() for n in raw.split(",") if n.strip())
        unknown = sorted(names - set(NAMES))
        if unknown:
            raise ConfigError(f"SHOP_PROTECTIONS: unknown {', '.join(unknown)}; allowed: {', '.join(NAMES)}")
        return cls(
            enabled=names,
            retry_attempts=_int(env, "SHOP_RETRY_ATTEMPTS", cls.retry_attempts, 1, 10),
            retry_base_s=_float(env, "SHOP_RETRY_BASE_S", cls.retry_base_s, 0.0, 5.0),
            retry_cap_s=_float(env, "SHOP_RETRY_CAP_S", cls.retry_cap_s, 0.0, 10.0),
            deadline_s=_float(env, "SHOP_DEADLINE_S", cls.deadline_s, 0.1, 60.0),
            breaker_failures=_int(env, "SHOP_BREAKER_FAILURES", cls.breaker_failures, 1, 1000),
            breaker_open_s=_float(env, "SHOP_BREAKER_OPEN_S", cls.breaker_open_s, 0.1, 600.0),
            send_timeout_s=_float(env, "SHOP_SEND_TIMEOUT_S", cls.send_timeout_s, 0.01, 60.0),
            outbox_path=env.get("SHOP_OUTBOX_PATH", cls.outbox_path),
            outbox_relay_s=_float(env, "SHOP_OUTBOX_RELAY_S", cls.outbox_relay_s, 0.05, 60.0),
        )


def _int(env: Mapping[str, str], key: str, default: int, lo: int, hi: int) -> int:
    try:
        value = int(env[key]) if key in env else default
    except ValueError as exc:
        raise ConfigError(f"{key}={env[key]!r}: not an integer (allowed {lo}..{hi})") from exc
    if not lo <= value <= hi:
        raise ConfigError(f"{key}={value}: allowed {lo}..{hi}")
    return value


def _float(env: Mapping[str, str], key: str, default: float, lo: float, hi: float) -> float:
    try:
        value = float(env[key]) if key in env else default
    except ValueError as exc:
        raise ConfigError(f"{key}={env[key]!r}: not a number (allowed {lo:g}..{hi:g})") from exc
    if not lo <= value <= hi:
        raise ConfigError(f"{key}={value:g}: allowed {lo:g}..{hi:g}")
    return value


def backoff_delays(settings: Settings, rng: random.Random) -> list[float]:
    """The pauses before each retry: full jitter over an exponential ceiling (AWS's recipe), capped."""
    return [
        rng.uniform(0.0, min(settings.retry_cap_s, settings.retry_base_s * 2**i))
        for i in range(settings.retry_attempts - 1)
    ]


class CircuitBreaker:
    """Closed → open after ``failures`` failures in a row; open → half-open after ``open_s``; a
    half-open breaker lets one call through and closes on its success, re-opens on its failure."""

    def __init__(self, failures: int, open_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = failures
        self._open_s = open_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_out = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self._opened_at >= self._open_s else "open"

    def allow(self) -> bool:
        """May a call go to the broker now? In half-open, only one call at a time."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half-open" and not self._probe_out:
                self._probe_out = True
                return True
            return False

    def record(self, ok: bool) -> None:
        with self._lock:
            self._probe_out = False
            if ok:
                self._failures, self._opened_at = 0, None
                return
            self._failures += 1
            if self._opened_at is not None or self._failures >= self._limit:
                self._opened_at = self._clock()


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
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_open_s, clock)
        self.outbox = Outbox(settings.outbox_path) if settings.on("async-outbox") else None
        self.last_error = ""

    async def deliver(self, body: dict[str, Any]) -> str:
        if await self._send_with_retries(body):
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

    async def _send_with_retries(self, body: dict[str, Any]) -> bool:
        use_breaker = self.settings.on("circuit-breaker")
        delays = backoff_delays(self.settings, self._rng) if self.settings.on("retry-with-backoff") else []
        deadline = self._clock() + self.settings.deadline_s
        for attempt in range(len(delays) + 1):
            if use_breaker and not self.breaker.allow():
                self.last_error = "circuit open"
                return False
            try:
                await self._one_send(body)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                if use_breaker:
                    self.breaker.record(False)
            else:
                if use_breaker:
                    self.breaker.record(True)
                return True
            if attempt == len(delays) or self._clock() + delays[attempt] >= deadline:
                return False
            await self._sleep(delays[attempt])
        return False

    async def _one_send(self, body: dict[str, Any]) -> None:
        call = asyncio.get_running_loop().run_in_executor(None, self._send, body)
        if not self.settings.on("send-timeout"):
            await call
            return
        try:
            await asyncio.wait_for(asyncio.shield(call), self.settings.send_timeout_s)
        except TimeoutError:
            raise TimeoutError(f"send took longer than {self.settings.send_timeout_s:g}s") from None

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
