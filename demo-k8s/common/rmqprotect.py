"""The protections around a RocketMQ send that every demo application shares, switched by configuration.

These are what a team applies after a drill found a dependency on RocketMQ strong, and what the next
drill must show to work (see docs/protections.md). Their names are the mqdrill catalog's. This file
holds the generic mechanisms, one implementation for every application:

- ``retry-with-backoff``: bounded retries with exponential backoff and full jitter, inside a deadline;
- ``circuit-breaker``: after N failures in a row, stop calling the broker for a while (fail fast
  instead of waiting for the client's timeout), then let one call through;
- ``send-timeout``: a send that has not answered within a budget counts as failed (the call goes on
  in its thread; if it lands after all, the application must apply it once);
- the settings: which of them are on, and their tuning, read from ``<PREFIX>_PROTECTIONS`` and
  ``<PREFIX>_RETRY_*``, ``<PREFIX>_BREAKER_*``, ``<PREFIX>_SEND_TIMEOUT_S``, ``<PREFIX>_DEADLINE_S``.

What to do when the protected send still fails (``fallback-direct``, ``async-outbox``) depends on
the application, so each application wires that itself: the shop in ``shop/frontend/protections.py``,
the orders application in ``orders/orders/app.py`` and ``orders/fulfillment/app.py``.

:class:`Protection` drives a send through the switched-on mechanisms, from asyncio (:meth:`acall`,
the shop's frontend) or from a plain thread (:meth:`call`, the orders application's relay and
consumer); both drivers take their decisions (attempts, deadline, breaker) from the same code.

Each application imports this file from its own folder when built as an image (its Dockerfile copies
it next to ``app.py``) and from ``demo-k8s/common`` when the embedded environment runs it (``PYTHONPATH``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import random
import threading
import time
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar

NAMES = ("retry-with-backoff", "circuit-breaker", "send-timeout", "fallback-direct", "async-outbox")

S = TypeVar("S", bound="Settings")
T = TypeVar("T")


class ConfigError(ValueError):
    """A protection setting that cannot be used; the message names the variable and what is allowed."""


class CircuitOpen(RuntimeError):
    """The breaker is open: the broker was not called."""

    def __init__(self) -> None:
        super().__init__("circuit open")


class SendTimeout(TimeoutError):
    """The send did not answer within the send-timeout budget (it may still land)."""


class StillInFlight(RuntimeError):
    """A send of this key has not returned yet (it timed out, but may still land)."""


class InFlight:
    """The keys whose send is still running. After a send-timeout the send goes on in its thread;
    starting the same key again (a retry, the next relay round) would only send it twice, so a
    caller holds the key for the send's whole life and a second hold fails at once."""

    def __init__(self) -> None:
        self._keys: set[Hashable] = set()
        self._lock = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._keys

    @contextlib.contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        with self._lock:
            if key in self._keys:
                raise StillInFlight(f"{key}: the previous send has not returned yet")
            self._keys.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._keys.discard(key)


def int_setting(env: Mapping[str, str], key: str, default: int, lo: int, hi: int) -> int:
    try:
        value = int(env[key]) if key in env else default
    except ValueError as exc:
        raise ConfigError(f"{key}={env[key]!r}: not an integer (allowed {lo}..{hi})") from exc
    if not lo <= value <= hi:
        raise ConfigError(f"{key}={value}: allowed {lo}..{hi}")
    return value


def float_setting(env: Mapping[str, str], key: str, default: float, lo: float, hi: float) -> float:
    try:
        value = float(env[key]) if key in env else default
    except ValueError as exc:
        raise ConfigError(f"{key}={env[key]!r}: not a number (allowed {lo:g}..{hi:g})") from exc
    if not lo <= value <= hi:
        raise ConfigError(f"{key}={value:g}: allowed {lo:g}..{hi:g}")
    return value


@dataclass(frozen=True)
class Settings:
    """Which protections are on and how they are tuned.

    An application subclasses it to set its variables' prefix (``PREFIX``), to refuse a name that has
    no meaning in it (``REFUSED``: name → why), and to add settings of its own (override ``_fields``).
    """

    PREFIX: ClassVar[str] = "PROTECT"
    REFUSED: ClassVar[Mapping[str, str]] = {}

    enabled: frozenset[str] = frozenset()
    retry_attempts: int = 3  # sends in all, the first included
    retry_base_s: float = 0.05
    retry_cap_s: float = 0.5
    deadline_s: float = 2.5  # the whole protected send, retries included
    breaker_failures: int = 5
    breaker_open_s: float = 5.0
    send_timeout_s: float = 0.25  # well under the 500 ms p95 objective of the demo drills

    def on(self, name: str) -> bool:
        return name in self.enabled

    @classmethod
    def from_env(cls: type[S], env: Mapping[str, str]) -> S:
        return cls(**cls._fields(env))

    @classmethod
    def _fields(cls, env: Mapping[str, str]) -> dict[str, Any]:
        p = cls.PREFIX
        raw = env.get(f"{p}_PROTECTIONS", "")
        names = frozenset(n.strip() for n in raw.split(",") if n.strip())
        allowed = [n for n in NAMES if n not in cls.REFUSED]
        unknown = sorted(names - set(NAMES))
        if unknown:
            raise ConfigError(f"{p}_PROTECTIONS: unknown {', '.join(unknown)}; allowed: {', '.join(allowed)}")
        refused = sorted(names & set(cls.REFUSED))
        if refused:
            why = "; ".join(f"{n}: {cls.REFUSED[n]}" for n in refused)
            raise ConfigError(f"{p}_PROTECTIONS: not a switch here: {why} (allowed: {', '.join(allowed)})")
        d = {f.name: f.default for f in fields(cls)}  # a subclass may change a default
        return {
            "enabled": names,
            "retry_attempts": int_setting(env, f"{p}_RETRY_ATTEMPTS", d["retry_attempts"], 1, 10),
            "retry_base_s": float_setting(env, f"{p}_RETRY_BASE_S", d["retry_base_s"], 0.0, 5.0),
            "retry_cap_s": float_setting(env, f"{p}_RETRY_CAP_S", d["retry_cap_s"], 0.0, 10.0),
            "deadline_s": float_setting(env, f"{p}_DEADLINE_S", d["deadline_s"], 0.1, 60.0),
            "breaker_failures": int_setting(env, f"{p}_BREAKER_FAILURES", d["breaker_failures"], 1, 1000),
            "breaker_open_s": float_setting(env, f"{p}_BREAKER_OPEN_S", d["breaker_open_s"], 0.1, 600.0),
            "send_timeout_s": float_setting(env, f"{p}_SEND_TIMEOUT_S", d["send_timeout_s"], 0.01, 60.0),
        }


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


class _Plan:
    """The decisions of one protected send, shared by the sync and async drivers: may this attempt
    call the broker, and how long to pause before the next one (None: give up)."""

    def __init__(self, p: Protection) -> None:
        self._p = p
        s = p.settings
        self._delays = backoff_delays(s, p.rng) if s.on("retry-with-backoff") else []
        self._deadline = p.clock() + s.deadline_s
        self._breaker = p.breaker if s.on("circuit-breaker") else None
        self.attempt = 0

    def admit(self) -> None:
        if self._breaker is not None and not self._breaker.allow():
            raise CircuitOpen()

    def outcome(self, ok: bool) -> None:
        if self._breaker is not None:
            self._breaker.record(ok)

    def pause(self) -> float | None:
        """After a failed attempt: the pause before the next, or None when the attempts or the deadline are spent."""
        i, self.attempt = self.attempt, self.attempt + 1
        if i >= len(self._delays) or self._p.clock() + self._delays[i] >= self._deadline:
            return None
        return self._delays[i]


class Protection:
    """Drives a send through the protections switched on; raises the last failure (a
    :class:`CircuitOpen` when the breaker refused, a :class:`SendTimeout` when the budget ran out).

    With none on, it calls the send once, in the caller's thread (or the loop's executor), as an
    unprotected application would.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        workers: int = 8,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_open_s, clock)
        self._sleep = sleep
        self._asleep = asleep
        self._workers = workers
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def health(self) -> dict[str, Any]:
        """What /healthz shows of the protections: which are on, and the breaker's state."""
        return {"protections": sorted(self.settings.enabled), "breaker": self.breaker.state}

    def call(self, send: Callable[..., T], *args: Any) -> T:
        """The send from a plain thread; retries pause in this thread."""
        plan = _Plan(self)
        while True:
            plan.admit()
            try:
                result = self._one(send, args)
            except Exception:
                plan.outcome(False)
                pause = plan.pause()
                if pause is None:
                    raise
                self._sleep(pause)
            else:
                plan.outcome(True)
                return result

    async def acall(self, send: Callable[..., T], *args: Any) -> T:
        """The send from asyncio: it runs in the loop's executor; retries pause without blocking the loop."""
        plan = _Plan(self)
        while True:
            plan.admit()
            try:
                result = await self._aone(send, args)
            except Exception:
                plan.outcome(False)
                pause = plan.pause()
                if pause is None:
                    raise
                await self._asleep(pause)
            else:
                plan.outcome(True)
                return result

    def _one(self, send: Callable[..., T], args: tuple[Any, ...]) -> T:
        if not self.settings.on("send-timeout"):
            return send(*args)
        future = self._executor().submit(send, *args)
        try:
            return future.result(timeout=self.settings.send_timeout_s)
        except concurrent.futures.TimeoutError:
            # one still waiting for a worker never starts; one running goes on and may land
            future.cancel()
            raise SendTimeout(f"send took longer than {self.settings.send_timeout_s:g}s") from None

    async def _aone(self, send: Callable[..., T], args: tuple[Any, ...]) -> T:
        call = asyncio.get_running_loop().run_in_executor(None, send, *args)
        if not self.settings.on("send-timeout"):
            return await call
        try:
            # shield: a timed-out send goes on in its thread (it may still land), it is not cancelled
            return await asyncio.wait_for(asyncio.shield(call), self.settings.send_timeout_s)
        except TimeoutError:
            raise SendTimeout(f"send took longer than {self.settings.send_timeout_s:g}s") from None

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        # bounded: a broker that never answers holds at most `workers` threads, not one per send
        with self._pool_lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self._workers, thread_name_prefix="protected-send")
            return self._pool

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
