"""Keeping an official RocketMQ 5 (gRPC) client working across proxy, broker and name-server restarts.

Every demo service (the shop's frontend and cartservice, the orders app's orders, fulfillment and
notifier) uses it, so that one drill never poisons the next: a well-written client throws away a
client that stays broken and starts afresh, with a backoff between starts.

Why a client must be re-created, from what the real stack showed:
- a restarted proxy has lost every client's settings; it answers each receive or send with
  ``50001 ... "settings" is null``, and the official client re-sends its settings only every
  5 minutes. Once the JVM has compiled that path it throws a pre-allocated exception without a
  message (``OmitStackTraceInFastThrow``), and the answer reads ``50001, null. NullPointerException``:
  both wordings are the same lost session;
- a SimpleConsumer started while the broker's routes were gone sends its settings only when a
  route shows a new endpoint, which may be never; its receives fail for as long as it lives.

Right after a start the lost-session answer can be a race (the client's settings travel on the
telemetry stream, asynchronously), so only one that persists for LOST_GRACE_S counts; any other
failure re-creates the client after RECREATE_AFTER_S. Failures are counted per client.

The services import this file from their own folder when built as images (each Dockerfile copies
it next to ``app.py``) and from ``demo-k8s/common`` when the embedded environment runs them
(``PYTHONPATH``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

LOST_SESSION = re.compile(r'settings"? is null|50001, null\. NullPointerException')
LOST_GRACE_S = 5.0
RECREATE_AFTER_S = 30.0
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 10.0)  # a start is cheap (one route query): keep trying every 10 s


def lost_session(text: str) -> bool:
    """True when the proxy's answer says it has lost this client's session."""
    return LOST_SESSION.search(text) is not None


class Reconnect:
    """The client's health as /healthz shows it, and when to throw the client away and start anew.

    ``state`` is ``starting`` (or the ``initial`` given), ``running`` (the last call succeeded) or
    ``retrying`` (with the error, since when, how many failures in a row, how many re-creations).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, initial: str = "starting") -> None:
        self.clock = clock
        self.state: dict[str, Any] = {"state": initial, "error": "", "since": 0.0, "failures": 0, "restarts": 0}
        self._failing_at: float | None = None  # this client's first failure since its start or last success
        self._lost_at: float | None = None  # its first lost-session answer of an unbroken run of them
        self._attempt = 0
        self._next_start = 0.0

    def ok(self) -> None:
        if self.state["state"] != "running":
            self.state.update(state="running", error="", since=time.time(), failures=0)
        self._failing_at, self._lost_at, self._attempt = None, None, 0

    def started(self) -> None:
        """A new client is up: it gets its own grace and its own count."""
        self._failing_at, self._lost_at = None, None

    def failed(self, exc: BaseException) -> bool:
        """Record a failed call; True when the client should be re-created now."""
        text = str(exc)
        now = self.clock()
        if self.state["state"] != "retrying":
            self.state["since"] = time.time()
        self.state.update(state="retrying", error=f"{type(exc).__name__}: {text[:200]}")
        self.state["failures"] += 1
        self._failing_at = now if self._failing_at is None else self._failing_at
        lost = lost_session(text)
        self._lost_at = (now if self._lost_at is None else self._lost_at) if lost else None
        stale = (self._lost_at is not None and now - self._lost_at >= LOST_GRACE_S) or (
            now - self._failing_at >= RECREATE_AFTER_S
        )
        return stale and now >= self._next_start

    def recreated(self) -> None:
        """A client was thrown away (or failed to start): the next start waits for the backoff."""
        self.state["restarts"] += 1
        self._failing_at, self._lost_at = None, None
        self._next_start = self.clock() + BACKOFF_S[min(self._attempt, len(BACKOFF_S) - 1)]
        self._attempt += 1

    def start_in(self) -> float:
        """Seconds until a new client may be started."""
        return max(0.0, self._next_start - self.clock())


def client_health(**clients: KeptClient) -> dict[str, dict[str, Any]]:
    """What /healthz shows of each client, by role (``consumer=…, producer=…``)."""
    return {role: dict(client.keeper.state) for role, client in clients.items()}


def shutdown_quietly(client: Any, log: logging.Logger) -> None:
    try:
        client.shutdown()
    except Exception as exc:  # a client whose proxy is gone may fail to say goodbye
        log.info("old client shutdown: %s: %s", type(exc).__name__, exc)


class KeptClient:
    """One client started lazily and re-created when it stays broken (thread-safe).

    ``get()`` returns the client, starting one when there is none; while the backoff runs it fails
    at once instead of waiting for a start-up. Callers report each call's outcome with ``ok()`` or
    ``failed(exc)``.
    """

    def __init__(
        self,
        start: Callable[[], Any],
        log: logging.Logger,
        *,
        role: str,
        keeper: Reconnect | None = None,
    ) -> None:
        self._start, self.log, self.role = start, log, role
        self.keeper = keeper or Reconnect()
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._client is not None

    def get(self, *, waited: bool = False) -> Any:
        """The client; ``waited`` when the caller has already waited out the backoff (a receive loop)."""
        with self._lock:
            if self._client is None:
                wait = self.keeper.start_in()
                if wait > 0 and not waited:
                    raise RuntimeError(f"{self.role} restarting: next start in {wait:.1f}s")
                try:
                    self._client = self._start()
                except Exception:
                    self.keeper.recreated()
                    raise
                self.keeper.started()
            return self._client

    def ok(self) -> None:
        with self._lock:
            self.keeper.ok()

    def failed(self, exc: BaseException) -> None:
        """Record a failed call; throw the client away when the proxy lost it or it stayed broken."""
        old = None
        with self._lock:
            if self.keeper.failed(exc) and self._client is not None:
                old, self._client = self._client, None
                self.keeper.recreated()
        if old is not None:
            text = str(exc)
            self.log.warning("re-creating the %s after: %s: %s", self.role, type(exc).__name__, text[:300])
            shutdown_quietly(old, self.log)

    def close(self) -> None:
        with self._lock:
            old, self._client = self._client, None
        if old is not None:
            shutdown_quietly(old, self.log)


def receive_forever(
    stop: threading.Event,
    consumer: KeptClient,
    handle: Callable[[Any, Any], None],
    *,
    on_error: Callable[[BaseException], None] | None = None,
    batch: int = 16,
    invisible_s: int = 15,
    pause_s: float = 0.5,
) -> None:
    """Receive and handle messages until ``stop``; a broken consumer is re-created, never given up on.

    ``handle(client, message)`` acknowledges what it applied. Errors are logged (a lost session
    right after a start is a race, not worth a log line) and passed to ``on_error`` for metrics.
    """
    log = consumer.log
    while not stop.is_set():
        if not consumer.started and stop.wait(consumer.keeper.start_in()):
            break
        try:
            client = consumer.get(waited=True)
            messages = client.receive(batch, invisible_s)
            consumer.ok()
            for msg in messages:
                handle(client, msg)
        except Exception as exc:  # the proxy may be down, paused or slow: keep trying
            consumer.failed(exc)
            if on_error is not None:
                on_error(exc)
            text = str(exc)
            if not lost_session(text):
                log.warning("receive failed: %s: %s", type(exc).__name__, text[:300])
            stop.wait(pause_s)
    consumer.close()
