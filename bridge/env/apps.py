"""Starting what runs after the demo shop: the orders application, a user's own application and
Prometheus, each health-checked before ``up`` moves on.

Called by :func:`bridge.env.lifecycle.up` once RocketMQ and the shop work. Health checks:
the orders application by a real order (placed, confirmed through RocketMQ, counted by the
notifier); a user application by its health path (2xx) or, without one, its TCP port;
Prometheus by ``/-/ready`` and every scrape target reported up.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable

from bridge.env import orders, procs, prometheus, services
from bridge.env.config import ORDERS_SERVICES, EnvConfig
from bridge.errors import EnvironmentError_

Say = Callable[[str], None]


def _tail(cfg: EnvConfig, name: str) -> str:
    try:
        lines = cfg.log_file(name).read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "(no log)"
    return " / ".join(lines[-3:])[-400:]


def start_wait(cfg: EnvConfig, names: list[str], timeout: float) -> None:
    """Start each service not yet running and wait until each accepts connections."""
    started = {n: services.start(cfg, n) for n in names}
    for name, proc in started.items():
        if not services.wait_port(cfg, name, proc, timeout):
            raise EnvironmentError_(
                f"{name} did not start within {timeout:g}s; log {cfg.log_file(name)}: {_tail(cfg, name)}"
            )


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback URL from a validated path
            return bool(200 <= resp.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def user_app_healthy(cfg: EnvConfig) -> bool:
    app = cfg.user_app
    if app is None:
        return True
    if not services.port_open(cfg.user_app_port):
        return False
    return _http_ok(f"http://127.0.0.1:{cfg.user_app_port}{app.health}") if app.health else True


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    return procs.wait_until(predicate, timeout, step=0.25)


def _all_targets_up(cfg: EnvConfig) -> bool:
    health = prometheus.active_targets(cfg)
    return bool(health) and set(health) == set(prometheus.targets(cfg)) and all(h == "up" for h in health.values())


def up(cfg: EnvConfig, say: Say, timeout: float = 60.0) -> None:
    say("starting orders, fulfillment, notifier")
    start_wait(cfg, list(ORDERS_SERVICES), 30)
    seconds = orders.order_round_trip(cfg, timeout=timeout)
    say(f"an order went orders → broker → fulfillment → orders, notifier in {seconds:.1f}s")
    app = cfg.user_app
    if app is not None:
        if services.running(cfg, app.name) is None and services.port_open(cfg.user_app_port, 0.2):
            raise EnvironmentError_(
                f"port {cfg.user_app_port} of {app.name} is in use by another program; stop it or set `port:`"
            )
        say(f"starting {app.name}: {' '.join(app.argv)}")
        start_wait(cfg, [app.name], 30)
        if not _wait(lambda: user_app_healthy(cfg), 30):
            raise EnvironmentError_(
                f"{app.name} is not healthy at port {cfg.user_app_port}{app.health}; log {cfg.log_file(app.name)}"
            )
    say(f"starting prometheus at {prometheus.url(cfg)}")
    start_wait(cfg, ["prometheus"], 30)
    if not _wait(lambda: prometheus.ready(cfg), 30):
        raise EnvironmentError_(f"prometheus is not ready; log {cfg.log_file('prometheus')}")
    if not _wait(lambda: _all_targets_up(cfg), 20):
        raise EnvironmentError_(f"prometheus does not scrape every target: {prometheus.active_targets(cfg)}")
    say(f"prometheus scrapes {', '.join(sorted(prometheus.targets(cfg)))}")
