"""Where RocketMQ lives on the host that ``blade`` acts on: ports, process matchers, store path.

On a host of your own the catalog's values hold (``BrokerStartup`` on 10911, the store under
``/home/rocketmq/store``). When the embedded environment plays the host, its layout does: ports
shifted by its offset, the store on its bounded filesystem, and each process matched by its
class name *and* its own configuration file, so that ``--process`` never reaches a second
RocketMQ on the same machine. ``MQDRILL_BLADE_HOST`` chooses: ``catalog``, ``embedded``, or
(unset) the embedded environment when one is up here, else the catalog.

``blade`` never matches a process whose command line contains "blade" (it excludes itself that
way): :func:`hidden_from_blade` names the targets that would be missed for that reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import InputError
from bridge.spec.catalog import Catalog

HOST_ENV = "MQDRILL_BLADE_HOST"
MIDDLEWARE = ("namesrv", "broker", "proxy")


@dataclass(frozen=True)
class HostLayout:
    """The RocketMQ parts on this host, as blade's matchers need them."""

    source: str  # what the values come from, shown in plans
    ports: dict[str, int]
    processes: dict[str, str]  # the --process matcher (a substring of the command line)
    store_path: str | None
    state_dir: str | None = None  # the embedded environment's, when it plays the host

    def apply(self, catalog: Catalog) -> Catalog:
        """The catalog with this host's ports, matchers and store path in its components."""
        comps = dict(catalog.components)
        for name, comp in catalog.components.items():
            update: dict[str, object] = {}
            if name in self.ports:
                update["port"] = self.ports[name]
            if name in self.processes:
                update["process"] = self.processes[name]
            if name == "broker" and self.store_path:
                update["store_path"] = self.store_path
            comps[name] = comp.model_copy(update=update)
        return catalog.model_copy(update={"components": comps})


def from_catalog(catalog: Catalog) -> HostLayout:
    comps = catalog.components
    return HostLayout(
        source="the catalog's host defaults",
        ports={n: comps[n].port for n in MIDDLEWARE if n in comps},
        processes={n: comps[n].process for n in MIDDLEWARE if n in comps},
        store_path=comps["broker"].store_path if "broker" in comps else None,
    )


def from_embedded(state_dir: str | Path | None = None) -> HostLayout:
    from bridge.env import rocketmq
    from bridge.env.config import default_config

    cfg = default_config(state_dir)
    conf = rocketmq.conf_dir(cfg)
    own = {"namesrv": f"-c {conf / 'namesrv.conf'}", "broker": f"-c {conf / 'broker.conf'}"}
    own["proxy"] = f"-pc {conf / 'rmq-proxy.json'}"
    return HostLayout(
        source=f"the embedded environment in {cfg.state_dir}",
        ports={n: cfg.service_port(n) for n in MIDDLEWARE},
        processes={n: f"{rocketmq.MAIN_CLASS[n].rsplit('.', 1)[1]} {own[n]}" for n in MIDDLEWARE},
        store_path=str(cfg.store_dir),
        state_dir=str(cfg.state_dir),
    )


def _embedded_up() -> bool:
    from bridge.env import services
    from bridge.env.config import default_config

    try:
        cfg = default_config()
    except Exception:  # noqa: BLE001 - a broken env config just means "not up"
        return False
    return (cfg.state_dir / "env.json").is_file() and services.running(cfg, "broker") is not None


def current(catalog: Catalog) -> HostLayout:
    """The layout ``MQDRILL_BLADE_HOST`` asks for (see the module docstring)."""
    choice = os.environ.get(HOST_ENV, "").strip()
    if choice not in ("", "catalog", "embedded"):
        raise InputError(f"{HOST_ENV}={choice!r}: allowed catalog, embedded, or unset (embedded when it is up)")
    if choice == "embedded" or (choice == "" and _embedded_up()):
        return from_embedded()
    return from_catalog(catalog)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def matching(pattern: str) -> list[tuple[int, str]]:
    """Processes whose command line contains ``pattern`` (blade's own rule), with their command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            line = cmdline(int(entry.name))
            if pattern in line:
                found.append((int(entry.name), line))
    return found


def hidden_from_blade(pattern: str) -> str | None:
    """Why blade would find no process for ``pattern`` although one runs, or None.

    blade skips every command line that contains "blade"; a RocketMQ started from a folder named
    so (its classpath, its config) is invisible to ``--process``.
    """
    seen = matching(pattern)
    hidden = [pid for pid, line in seen if "blade" in line]
    if seen and len(hidden) == len(seen):
        return (
            f"every process matching {pattern!r} (pid {', '.join(map(str, hidden))}) has 'blade' in its command "
            "line, and blade never matches those: start RocketMQ from paths without 'blade' in them"
        )
    return None


def plays_host() -> bool:
    """Is the embedded environment the host blade acts on (see :func:`current`)?"""
    choice = os.environ.get(HOST_ENV, "").strip()
    return choice == "embedded" or (choice == "" and _embedded_up())


def embedded_preflight(services: list[str]) -> str | None:
    """On the embedded environment as the host: the drill's target services run and blade can see them."""
    from bridge.env import services as env_services
    from bridge.env.config import default_config

    cfg = default_config()
    layout = from_embedded()
    for name in services:
        proc = env_services.running(cfg, name)
        if proc is None:
            return f"target service {name} is not running in the embedded environment; run `mqdrill env up`"
        if name in layout.processes and "blade" in cmdline(proc.pid):
            return hidden_from_blade(layout.processes[name]) or f"{name}'s command line contains 'blade'"
    return None
