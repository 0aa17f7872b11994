"""Switch the demo applications' protections on or off: the services that send restart with them.

The protections are real code in the applications (the shared ``demo-k8s/common/rmqprotect.py``,
wired by the shop's ``frontend/protections.py`` and by the orders application's ``orders`` and
``fulfillment`` services); what is switched here is only the configuration they start with
(``SHOP_PROTECTIONS``, ``ORDERS_PROTECTIONS``), so a drill proves the same code a team would deploy.
The setting is saved in ``env.json`` and so survives later commands, and a drill that names
``protections_on`` gets exactly those (the runner calls :func:`set_protections`).

One setting serves both applications: each gets the names it implements (the orders application
has no ``async-outbox`` switch, its orders service always keeps an outbox), and a service restarts
only when its own share changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from bridge.env import lifecycle, orders, services
from bridge.env.config import EnvConfig
from bridge.errors import EnvironmentError_, InputError

# What the demo shop's frontend implements (its protections.NAMES), named as the catalog's protections.
SHOP_PROTECTIONS: tuple[str, ...] = (
    "retry-with-backoff",
    "circuit-breaker",
    "send-timeout",
    "fallback-direct",
    "async-outbox",
)

Say = Callable[[str], None]

# A stopped consumer's last receive (a 5 s long poll, AWAIT_S in the orders app) stays open at the
# broker: a message arriving meanwhile is popped for the dead client and stays invisible until it
# is redelivered, which after a broker restart took over a minute (seen on the real stack: the
# warm-up order published 0.5 s after fulfillment restarted was not confirmed within 60 s). So the
# warm-up waits the poll out before its first order.
CONSUMER_POLL_S = 6.0


def _quiet(_: str) -> None:
    return None


def checked(names: Iterable[str]) -> tuple[str, ...]:
    """The names, sorted and once each; an error naming what is allowed for an unknown one."""
    wanted = tuple(sorted({n for n in names if n and n != "none"}))
    unknown = [n for n in wanted if n not in SHOP_PROTECTIONS]
    if unknown:
        raise InputError(f"unknown protection {', '.join(unknown)}: allowed {', '.join(SHOP_PROTECTIONS)} (or none)")
    return wanted


def _restart(cfg: EnvConfig, name: str, timeout: float) -> None:
    services.stop(cfg, name)
    proc = services.start(cfg, name)
    if not services.wait_port(cfg, name, proc, timeout):
        raise EnvironmentError_(f"{name} did not come back within {timeout:g}s (see {cfg.log_file(name)})")


def set_protections(cfg: EnvConfig, names: Iterable[str], *, say: Say = _quiet, timeout: float = 60.0) -> EnvConfig:
    """Restart the running services whose protections change (nothing to do when they are already on)."""
    wanted = checked(names)
    new = replace(cfg, protections=wanted)
    shop = [] if wanted == cfg.protections else ["frontend"]
    orders_changed = orders.protections(new) != orders.protections(cfg)
    restart = [n for n in shop + (list(orders.PROTECTED_SERVICES) if orders_changed else [])
               if services.running(cfg, n) is not None]  # fmt: skip
    if wanted == cfg.protections and services.running(cfg, "frontend") is not None:
        return cfg  # already on (and so nothing to restart)
    new.save()
    for name in restart:  # a service not running takes the setting when it starts
        share = orders.protections(new) if orders.is_orders_service(name) else wanted
        say(f"restarting {name} with protections: {', '.join(share) or 'none'}")
        _restart(new, name, timeout)
    # A fresh service starts its producer on the first send (seconds): warm it up with real
    # messages, so the drill's preflight judges the application, not its start-up.
    if "frontend" in restart:
        for _ in range(3):
            if lifecycle.message_round_trip(new, timeout) < 1.0:
                break
    if "orders" in restart or "fulfillment" in restart:
        time.sleep(CONSUMER_POLL_S)
        for _ in range(3):
            if orders.order_round_trip(new, timeout) < 1.0:
                break
    return new
