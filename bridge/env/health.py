"""The business path's health: can the shop's producer send, can its consumer consume, does a
message really go frontend → RocketMQ → cartservice → Redis?

Processes that run and ports that answer are not health: after a proxy restart the consumer can
sit in a loop of failed receives while every port answers. So the environment's health is also
what the shop says about its own clients (each ``/healthz`` reports its client's state and last
error) and, where asked, a real message round trip. :func:`wait_business` is what the local
engine uses to confirm a recovery, and ``env repair`` to decide what to restart.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from bridge.env import rocketmq
from bridge.env.config import EnvConfig
from bridge.errors import EnvironmentError_

PROBE_PRODUCT = "OLJCESPC7Z"
HEALTHZ_TIMEOUT_S = 2.0  # a paused service answers nothing: do not wait on it


@dataclass(frozen=True)
class PathCheck:
    """One link of the business path as seen now: ``ok``, the client's own state, and why not."""

    name: str  # consumer | producer | round_trip
    ok: bool
    state: str  # running, retrying, idle, unreachable, skipped, ...
    error: str = ""
    seconds: float | None = None  # round trip: how long the message took

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "state": self.state, "error": self.error}
        if self.seconds is not None:
            data["seconds"] = round(self.seconds, 2)
        return data


def http_json(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> tuple[int, Any]:
    """(status, parsed body or None); OSError when nothing answers."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except ValueError:
        return 0, None


def _healthz(cfg: EnvConfig, service: str) -> dict[str, Any] | str:
    """The service's /healthz body, or why it could not be read."""
    try:
        status, body = http_json("GET", cfg.url(service) + "/healthz", timeout=HEALTHZ_TIMEOUT_S)
    except OSError as exc:
        return f"{service} /healthz did not answer: {exc}"
    if not isinstance(body, dict):
        return f"{service} /healthz answered {status} without a JSON body"
    return body


def _client_check(name: str, part: Any) -> PathCheck:
    """A client's self-report (``{"state", "error", "since"}``) as a check; ``running``/``idle`` are ok."""
    if not isinstance(part, dict):
        return PathCheck(name, False, "unknown", f"no {name} state in /healthz")
    state = str(part.get("state", "unknown"))
    error = str(part.get("error") or "")
    since = part.get("since")
    if error and isinstance(since, int | float) and since > 0:
        error = f"{state} for {max(0.0, time.time() - since):.0f}s: {error}"
    return PathCheck(name, state in ("running", "idle"), state, error)


def consumer(cfg: EnvConfig) -> PathCheck:
    """cartservice's consumer: ``running`` once a receive succeeded, ``retrying`` while they fail."""
    body = _healthz(cfg, "cartservice")
    if isinstance(body, str):
        return PathCheck("consumer", False, "unreachable", body)
    return _client_check("consumer", body.get("consumer"))


def producer(cfg: EnvConfig) -> PathCheck:
    """The frontend's producer: ``idle`` before its first send, then the outcome of its last send."""
    body = _healthz(cfg, "frontend")
    if isinstance(body, str):
        return PathCheck("producer", False, "unreachable", body)
    return _client_check("producer", body.get("sending", {"state": "idle"}))


def message_round_trip(cfg: EnvConfig, timeout: float = 60.0) -> float:
    """Send one item through the frontend in rocketmq mode; seconds until it is in the cart."""
    user = f"mqdrill-health-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    deadline = started + timeout
    next_send = started
    while time.monotonic() < deadline:
        if time.monotonic() >= next_send:  # the first sends may fail while the producer starts
            body = {"user_id": user, "product_id": PROBE_PRODUCT, "quantity": 1, "channel": "rocketmq"}
            with contextlib.suppress(OSError):
                http_json("POST", cfg.url("frontend") + "/cart", body)
            next_send = time.monotonic() + 2
        try:
            status, cart = http_json("GET", f"{cfg.url('frontend')}/cart?user_id={user}")
        except OSError:
            status, cart = 0, None
        if status == 200 and cart and cart.get("items"):
            return time.monotonic() - started
        time.sleep(0.2)
    links = "; ".join(f"{c.name} {c.state}{': ' + c.error if c.error else ''}" for c in (producer(cfg), consumer(cfg)))
    raise EnvironmentError_(
        f"a message sent through {cfg.url('frontend')} did not reach the cart within {timeout:g}s ({links}); "
        f"logs in {cfg.log_dir} and {rocketmq.log_dir(cfg)}; `mqdrill env repair` restarts what stayed broken"
    )


def round_trip(cfg: EnvConfig, timeout: float) -> PathCheck:
    try:
        seconds = message_round_trip(cfg, timeout)
    except EnvironmentError_ as exc:
        return PathCheck("round_trip", False, "failed", exc.message)
    return PathCheck("round_trip", True, "ok", seconds=seconds)


def business(cfg: EnvConfig, *, with_round_trip: bool = False, timeout: float = 15.0) -> list[PathCheck]:
    """Every link's check; the round trip first (it also refreshes the producer's state)."""
    checks = [round_trip(cfg, timeout)] if with_round_trip else []
    return [*checks, producer(cfg), consumer(cfg)]


@dataclass(frozen=True)
class Confirmation:
    """Did the business path work again, and after how long (or why not)."""

    ok: bool
    seconds: float
    detail: str


REGISTERED = b"Registering current broker to name server completed"


def broker_log_offset(cfg: EnvConfig) -> int:
    """Where ``broker.log`` ends now; :func:`wait_business` looks for a registration after it."""
    path = rocketmq.log_dir(cfg) / "broker.log"
    return path.stat().st_size if path.exists() else 0


def _registered_since(cfg: EnvConfig, offset: int) -> bool:
    path = rocketmq.log_dir(cfg) / "broker.log"
    if not path.exists():
        return False
    with open(path, "rb") as f:
        f.seek(offset if path.stat().st_size >= offset else 0)
        return REGISTERED in f.read()


def wait_business(cfg: EnvConfig, timeout: float, *, registration_after: int | None = None) -> Confirmation:
    """Wait (bounded) until a message goes through and the consumer says it is running.

    ``registration_after`` (a ``broker.log`` offset): first wait for the broker to register with
    the name server again. A restarted name server knows no broker until the broker's next
    periodic registration (every 30 s); until then messages still go through on the proxy's
    cached route, and stop when the proxy refreshes it (every 5 s) — a round trip alone would
    confirm too early.
    """
    started = time.monotonic()
    deadline = started + timeout
    last = ""
    if registration_after is not None:
        while not _registered_since(cfg, registration_after):
            if time.monotonic() >= deadline:
                took = time.monotonic() - started
                return Confirmation(
                    False, took, f"the broker did not register with the restarted name server within {timeout:g}s"
                )
            time.sleep(0.5)
    while True:
        left = deadline - time.monotonic()
        trip = round_trip(cfg, max(1.0, min(left, 30.0)))
        cons = consumer(cfg)
        if trip.ok and cons.ok:
            took = time.monotonic() - started
            return Confirmation(True, took, f"a message reached the cart {took:.1f}s after recovery")
        last = trip.error if not trip.ok else f"consumer {cons.state}: {cons.error}"
        if time.monotonic() >= deadline:
            took = time.monotonic() - started
            return Confirmation(False, took, f"the business path did not work again within {timeout:g}s: {last}")
        time.sleep(0.5)
