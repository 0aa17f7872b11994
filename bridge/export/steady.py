"""The steady state as outside tools can check it: HTTP requests whose status code must be 2xx.

mqdrill's own probe measures success ratio and latency per window; a Chaos Mesh StatusCheck or a
Chaos Toolkit probe can only judge one request at a time by its status. So an export checks what
a status code can show (the frontend answers, the cart can be read) and aborts after the drill's
guard span of consecutive failures; the strong/weak verdict still needs mqdrill's probe and analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from bridge.spec.models import Drill, Guard

HEALTH_PATH = "/healthz"
CART_PATH = "/cart?user_id=mqdrill-steady-state"
OK_STATUS = 200


@dataclass(frozen=True)
class SteadyCheck:
    """One HTTP check of the steady state."""

    name: str  # e.g. frontend-healthy
    url: str
    timeout_s: int  # per request, whole seconds (both tools take integers or accept them)
    interval_s: int  # how often Chaos Mesh repeats it
    failure_threshold: int  # consecutive failures that break the steady state
    status: int = OK_STATUS


def _base(drill: Drill) -> str:
    return drill.steady_state.probe.frontend_url.rstrip("/")


def _probe_bases(drill: Drill) -> list[tuple[str, str]]:
    """(probe name, base URL) of the drill's own http probes (none for the demo shop preset)."""
    found = [(p.name, getattr(p, "base_url", None)) for p in drill.steady_state.probes if p.kind == "http"]
    return [(name, str(base).rstrip("/")) for name, base in found if base]


def checks(drill: Drill, url: str | None = None) -> list[SteadyCheck]:
    """The checks of a drill: the frontend's health endpoint, plus the cart view when the drill
    probes cart visibility. ``url`` replaces them with one check of that URL."""
    timeout = max(1, math.ceil(drill.steady_state.probe.timeout))
    interval = timeout  # never start a request before the previous one has timed out
    guard = drill.safety.guard or Guard()
    threshold = max(1, math.ceil(guard.for_ / interval))

    def check(name: str, target: str) -> SteadyCheck:
        return SteadyCheck(name, target, timeout, interval, threshold)

    if url is not None:
        return [check("steady-state", url)]
    bases = _probe_bases(drill)
    if bases:  # a drill with its own probes: each HTTP application's health endpoint
        return [check(f"{name.lower().replace('_', '-')}-healthy", base + HEALTH_PATH) for name, base in bases]
    out = [check("frontend-healthy", _base(drill) + HEALTH_PATH)]
    if "cart_visible" in drill.steady_state.probe.operations:
        out.append(check("cart-readable", _base(drill) + CART_PATH))
    return out


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host.startswith("127.") or host == "::1"


def loopback_note(urls: list[str], where: str) -> str | None:
    """A warning when a check would run somewhere a loopback address means something else."""
    local = sorted({u for u in urls if is_loopback(u)})
    if not local:
        return None
    return (
        f"the steady-state URL {local[0]} is a loopback address, but {where}; "
        "set steady_state.probe.frontend_url in the drill or pass --steady-state-url"
    )
