"""Switch the demo shop's protections on or off: the frontend restarts with ``SHOP_PROTECTIONS``.

The protections are real code in the shop (``demo-k8s/shop/frontend/protections.py``); what is
switched here is only the configuration the frontend starts with, so a drill proves the same code
a team would deploy. The setting is saved in ``env.json`` and so survives later commands, and a
drill that names ``protections_on`` gets exactly those (the runner calls :func:`set_protections`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from bridge.env import lifecycle, services
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


def _quiet(_: str) -> None:
    return None


def checked(names: Iterable[str]) -> tuple[str, ...]:
    """The names, sorted and once each; an error naming what is allowed for an unknown one."""
    wanted = tuple(sorted({n for n in names if n and n != "none"}))
    unknown = [n for n in wanted if n not in SHOP_PROTECTIONS]
    if unknown:
        raise InputError(f"unknown protection {', '.join(unknown)}: allowed {', '.join(SHOP_PROTECTIONS)} (or none)")
    return wanted


def set_protections(cfg: EnvConfig, names: Iterable[str], *, say: Say = _quiet, timeout: float = 60.0) -> EnvConfig:
    """Restart the frontend with these protections (nothing to do when they are already on)."""
    wanted = checked(names)
    running = services.running(cfg, "frontend") is not None
    if wanted == cfg.protections and running:
        return cfg
    new = replace(cfg, protections=wanted)
    new.save()
    if not running:
        return new  # takes effect when the frontend starts
    say(f"restarting frontend with protections: {', '.join(wanted) or 'none'}")
    services.stop(cfg, "frontend")
    proc = services.start(new, "frontend")
    if not services.wait_port(new, "frontend", proc, timeout):
        raise EnvironmentError_(f"frontend did not come back within {timeout:g}s (see {new.log_file('frontend')})")
    # A fresh frontend starts its producer on the first send (seconds): warm it up with real
    # messages, so the drill's preflight judges the application, not its start-up.
    for _ in range(3):
        if lifecycle.message_round_trip(new, timeout) < 1.0:
            break
    return new
