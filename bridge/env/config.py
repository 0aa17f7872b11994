"""Where the embedded environment lives: its state directory, its ports, its binaries.

Every port is loopback-only and shifted by one ``port_offset`` so that a test session can run a
second environment beside a developer's (``MQDRILL_PORT_OFFSET``). The state directory defaults
to ``.state/env`` under the repository, or ``$MQDRILL_STATE``. ``up`` writes the configuration to
``<state>/env.json`` so that later commands, the local engine and its watchdogs use exactly the
environment that was started.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bridge.env.userapp import UserApp, load_app
from bridge.errors import EnvironmentError_

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
# the demo services' shared client keeper (rmqkeeper.py): on their PYTHONPATH when we run them
DEMO_COMMON_DIR = REPO_ROOT / "demo-k8s" / "common"

# The services `up` starts, in start order; `down` stops them in reverse.
SERVICES: tuple[str, ...] = (
    "redis", "toxiproxy", "namesrv", "broker", "proxy", "cartservice", "frontend",
    "fulfillment", "notifier", "orders", "prometheus",  # the second application, then Prometheus
)  # fmt: skip
# The orders application (demo-k8s/orders): the second demo application, unlike the shop.
ORDERS_SERVICES: tuple[str, ...] = ("fulfillment", "notifier", "orders")
# A user's own process (`env up --app FILE`) is named in the config and started before Prometheus.
# The services a LocalAction may name.
TARGET_SERVICES: tuple[str, ...] = (
    "namesrv", "broker", "broker-b", "proxy", "frontend", "cartservice", "redis", "orders", "fulfillment", "notifier",
)  # fmt: skip
# The second broker group, started when ``broker_groups`` is 2 (after "broker", in start order).
SECOND_BROKER = "broker-b"

DEFAULT_PORTS: dict[str, int] = {
    "frontend": 8080,  # the demo shop's web front, as in the original demo
    "cartservice": 8090,  # the cart service's HTTP (direct channel, health, metrics)
    "proxy_grpc": 8081,  # RocketMQ proxy, gRPC (the Python clients reach it only via Toxiproxy)
    "proxy_remoting": 18080,  # moved off 8080, which the frontend uses
    "namesrv": 9876,
    "broker": 10911,  # the broker also binds this − 2 (fast port) and + 1 (HA)
    "broker_metrics": 5557,  # Prometheus exporter
    "broker_b": 10921,  # the second broker group (broker_groups: 2); also binds − 2 and + 1
    "broker_b_metrics": 5558,
    "redis": 6389,  # not 6379: a system redis may already be there
    "toxiproxy_api": 8474,
    "tp_frontend": 18081,  # Toxiproxy listener: frontend → proxy gRPC
    "tp_cartservice": 18082,  # Toxiproxy listener: cartservice → proxy gRPC
    "tp_namesrv": 19876,  # Toxiproxy listener: proxy → namesrv
    "tp_redis": 16389,  # Toxiproxy listener: cartservice → redis
    # 8070-8079 and 9095: no port of another layout (offsets 0, 1000, ..., 4000) lands on these
    "orders": 8070,  # the orders application's JSON API (demo-k8s/orders)
    "fulfillment": 8071,  # its fulfillment consumer (health, metrics)
    "notifier": 8072,  # its notifier, a pure consumer (health, metrics)
    "user_app": 8075,  # a user's own process, unless its config names another port
    "prometheus": 9095,  # the Prometheus server scraping the applications and the broker
}


@dataclass(frozen=True)
class ProxyRoute:
    """One Toxiproxy proxy: a listener in front of one upstream port."""

    name: str
    listen_port: int
    upstream: str  # host:port


@dataclass(frozen=True)
class EnvConfig:
    """Everything needed to start, find and stop the embedded environment."""

    state_dir: Path
    cache_dir: Path
    port_offset: int = 0
    heap_mb: int = 256  # per JVM; the brief caps it at 512
    store_fs_mb: int = 256  # size of the bounded filesystem under the broker's store path
    python: str = field(default_factory=lambda: str(REPO_ROOT / ".venv" / "bin" / "python"))
    # An existing RocketMQ 5 instead of the embedded one: its proxy's gRPC endpoint (host:port)
    # and, optionally, its name server (host:port) for creating the topic and group.
    external_proxy: str = ""
    external_namesrv: str = ""
    # The demo shop's protections switched on (SHOP_PROTECTIONS of its frontend); see bridge/env/protect.py.
    protections: tuple[str, ...] = ()
    # Broker groups on the one name server: 2 adds broker-b, so one broker can die while the other serves.
    broker_groups: int = 1
    # one more application from a config file (`env up --app FILE`), started before Prometheus
    user_app: UserApp | None = None

    @property
    def external(self) -> bool:
        return bool(self.external_proxy)

    @property
    def services(self) -> tuple[str, ...]:
        """The services this environment runs, in start order."""
        names = SERVICES
        if self.user_app is not None:
            names = (*SERVICES[:-1], self.user_app.name, SERVICES[-1])
        if self.external:
            return tuple(s for s in names if s not in ("namesrv", "broker", "proxy"))
        if self.broker_groups > 1:
            at = names.index("broker") + 1
            names = (*names[:at], SECOND_BROKER, *names[at:])
        return names

    @property
    def user_app_port(self) -> int:
        app = self.user_app
        return app.port if app is not None and app.port is not None else self.port("user_app")

    @property
    def namesrv_addr(self) -> str:
        return self.external_namesrv or f"{HOST}:{self.port('namesrv')}"

    def port(self, name: str) -> int:
        return DEFAULT_PORTS[name] + self.port_offset

    @property
    def ports(self) -> dict[str, int]:
        return {name: self.port(name) for name in DEFAULT_PORTS}

    def url(self, service: str) -> str:
        return f"http://{HOST}:{self.port(service)}"

    @property
    def toxiproxy_url(self) -> str:
        return self.url("toxiproxy_api")

    @property
    def routes(self) -> tuple[ProxyRoute, ...]:
        grpc = self.external_proxy or f"{HOST}:{self.port('proxy_grpc')}"
        routes = [
            ProxyRoute("frontend-proxy", self.port("tp_frontend"), grpc),
            ProxyRoute("cartservice-proxy", self.port("tp_cartservice"), grpc),
            ProxyRoute("redis-proxy", self.port("tp_redis"), f"{HOST}:{self.port('redis')}"),
        ]
        if not self.external:
            routes.append(ProxyRoute("namesrv-proxy", self.port("tp_namesrv"), f"{HOST}:{self.port('namesrv')}"))
        return tuple(routes)

    # Paths under the state directory.
    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def store_dir(self) -> Path:
        return self.state_dir / "broker" / "store"

    @property
    def second_store_dir(self) -> Path:
        """broker-b's store: a plain directory (disk-fill drills aim at the first broker's bounded one)."""
        return self.state_dir / SECOND_BROKER / "store"

    @property
    def faults_dir(self) -> Path:
        return self.state_dir / "faults"

    @property
    def rocketmq_lib(self) -> Path:
        return self.cache_dir / "rocketmq" / "lib"

    @property
    def toxiproxy_bin(self) -> Path:
        return self.cache_dir / "bin" / "toxiproxy-server"

    def service_port(self, service: str) -> int:
        """The port that identifies a service (iptables rules, health checks)."""
        if self.user_app is not None and service == self.user_app.name:
            return self.user_app_port
        names = {"proxy": "proxy_grpc", SECOND_BROKER: "broker_b"}
        return self.port(names.get(service, service))

    def pid_file(self, service: str) -> Path:
        return self.run_dir / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.log_dir / f"{service}.out"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state_dir"] = str(self.state_dir)
        data["cache_dir"] = str(self.cache_dir)
        data["user_app"] = self.user_app.to_json() if self.user_app is not None else None
        return data

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> EnvConfig:
        keys = (
            "port_offset",
            "heap_mb",
            "store_fs_mb",
            "python",
            "external_proxy",
            "external_namesrv",
            "broker_groups",
        )
        known: dict[str, Any] = {k: raw[k] for k in keys if k in raw}
        if isinstance(raw.get("protections"), list):
            known["protections"] = tuple(str(x) for x in raw["protections"])
        app = UserApp.from_json(raw["user_app"]) if raw.get("user_app") else None
        return cls(state_dir=Path(raw["state_dir"]), cache_dir=Path(raw["cache_dir"]), user_app=app, **known)

    def with_offset(self, offset: int) -> EnvConfig:
        return replace(self, port_offset=offset)

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "env.json").write_text(json.dumps(self.to_json(), indent=2) + "\n")


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise EnvironmentError_(f"{name}={raw!r} is not an integer") from exc


def default_config(state_dir: str | Path | None = None) -> EnvConfig:
    """The configuration from the environment variables, or the saved one if ``up`` already ran.

    ``MQDRILL_STATE`` (state dir), ``MQDRILL_CACHE`` (jars and binaries, default ``.cache``),
    ``MQDRILL_PORT_OFFSET`` (added to every port; 0..20000), ``MQDRILL_ROCKETMQ_PROXY`` and
    ``MQDRILL_ROCKETMQ_NAMESRV`` (use an existing RocketMQ 5 instead of starting one),
    ``MQDRILL_APP`` (a file describing one more application to start: :mod:`bridge.env.userapp`).
    """
    state = Path(state_dir or os.environ.get("MQDRILL_STATE") or REPO_ROOT / ".state" / "env").resolve()
    saved = state / "env.json"
    if saved.is_file():
        return EnvConfig.from_json(json.loads(saved.read_text()))
    cache = Path(os.environ.get("MQDRILL_CACHE") or REPO_ROOT / ".cache").resolve()
    offset = _int_env("MQDRILL_PORT_OFFSET", 0)
    if not 0 <= offset <= 20000:
        raise EnvironmentError_(f"MQDRILL_PORT_OFFSET={offset} is out of range: allowed 0..20000")
    groups = _int_env("MQDRILL_BROKER_GROUPS", 1)
    if groups not in (1, 2):
        raise EnvironmentError_(f"MQDRILL_BROKER_GROUPS={groups} is out of range: allowed 1 or 2")
    return EnvConfig(
        state_dir=state,
        cache_dir=cache,
        port_offset=offset,
        broker_groups=groups,
        external_proxy=_addr_env("MQDRILL_ROCKETMQ_PROXY"),
        external_namesrv=_addr_env("MQDRILL_ROCKETMQ_NAMESRV"),
        user_app=load_app(os.environ["MQDRILL_APP"]) if os.environ.get("MQDRILL_APP") else None,
    )


def _addr_env(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if raw:
        host, _, port = raw.rpartition(":")
        if not host or not port.isdigit():
            raise EnvironmentError_(f"{name}={raw!r} must be host:port (e.g. 127.0.0.1:8081)")
    return raw


def load_config(state_dir: str | Path) -> EnvConfig:
    """The configuration ``up`` saved in ``state_dir``; an error naming the file if it is missing."""
    saved = Path(state_dir) / "env.json"
    if not saved.is_file():
        raise EnvironmentError_(f"no environment in {state_dir}: {saved} is missing (run `mqdrill env up`)")
    return EnvConfig.from_json(json.loads(saved.read_text()))
