"""Which containers are RocketMQ servers (name server, broker, proxy) or admin tools.

Evidence is read per container first: its command (``mqnamesrv``, ``mqbroker``, ``mqproxy``,
the ``*Startup`` classes), then its image and container name on a RocketMQ image, then its
ports (9876, 10911, 8081 — only on the generic RocketMQ image: nginx on 8081, or an application
image called ``rocketmq-demo``, is not a proxy). Only when no container of the pod says anything
of itself do the pod's labels decide, and then for the one container on a RocketMQ image: so a
sidecar in a broker pod is never "the broker".

A broker started with ``--enable-proxy`` is a broker and a proxy in one container. Admin tools
(rocketmq-dashboard, the older rocketmq-console, rocketmq-exporter) are recognised first: they
carry a name-server address like a client but are never judged as applications.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SYNONYMS: dict[str, tuple[str, ...]] = {
    "namesrv": ("namesrv", "nameserver", "name-server", "nameservice", "name-service", "name_service"),
    "broker": ("broker",),
    "proxy": ("proxy",),
}
COMMAND_HINTS = {
    "namesrv": ("mqnamesrv", "NamesrvStartup"),
    "broker": ("mqbroker", "BrokerStartup"),
    "proxy": ("mqproxy", "ProxyStartup"),
}
SERVER_PORTS = {9876: "namesrv", 10911: "broker", 8081: "proxy"}
ADMIN_HINTS = ("rocketmq-dashboard", "rocketmq-console", "rocketmq-exporter", "rocketmq-console-ng")
ADMIN_WORDS = ("dashboard", "console", "exporter")
LABEL_KEYS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/component",
    "app",
    "component",
    "k8s-app",
    "name",
    "role",
)


def _argv(container: Mapping[str, Any]) -> str:
    return " ".join(str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])])


def _image(container: Mapping[str, Any]) -> str:
    return str(container.get("image", "")).lower()


def _named(text: str) -> list[str]:
    return [kind for kind, words in SYNONYMS.items() if any(w in text for w in words)]


def is_admin(labels: Mapping[str, str], container: Mapping[str, Any]) -> bool:
    """rocketmq-dashboard / console / exporter, by image, or by name and labels on a RocketMQ pod."""
    image = _image(container)
    if any(h in image for h in ADMIN_HINTS):
        return True
    said = " ".join([str(container.get("name", "")).lower(), *(labels.get(k, "").lower() for k in LABEL_KEYS)])
    rocketmq = "rocketmq" in image or "rocketmq" in " ".join(labels.values()).lower()
    return rocketmq and any(w in said for w in ADMIN_WORDS) and "mqbroker" not in _argv(container)


def own_kinds(container: Mapping[str, Any]) -> tuple[str, ...]:
    """The server kinds a container says it runs, from its own command, image, name or ports."""
    argv = _argv(container)
    by_command = [k for k, hints in COMMAND_HINTS.items() if any(h in argv for h in hints)]
    if by_command:
        if "broker" in by_command and "--enable-proxy" in argv and "proxy" not in by_command:
            by_command.append("proxy")  # RocketMQ 5 local mode: the proxy runs inside the broker
        return tuple(by_command)
    image = _image(container)
    if "rocketmq" not in image:
        return ()
    repo = image.rsplit("/", 1)[-1].split(":", 1)[0]
    by_image = _named(repo)
    if by_image:
        return tuple(by_image)
    if repo != "rocketmq":  # an application's own image (myorg/rocketmq-demo): its name and ports say nothing
        return ()
    by_name = _named(str(container.get("name", "")).lower())
    if by_name:
        return tuple(by_name)
    ports = {int(p.get("containerPort", 0)) for p in container.get("ports") or []}
    return tuple(kind for port, kind in SERVER_PORTS.items() if port in ports)[:1]


def pod_servers(labels: Mapping[str, str], containers: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """container name → the server kinds it runs, for the containers of one pod that are servers."""
    out = {str(c.get("name")): own_kinds(c) for c in containers if not is_admin(labels, c)}
    out = {name: kinds for name, kinds in out.items() if kinds}
    if out:
        return out
    said = " ".join(labels.get(k, "").lower() for k in LABEL_KEYS)
    if "rocketmq" not in " ".join(labels.values()).lower() and not any("rocketmq" in _image(c) for c in containers):
        return {}
    kinds = _named(said)
    usable = [c for c in containers if not is_admin(labels, c)]
    candidates = [c for c in usable if "rocketmq" in _image(c)] or (usable if len(usable) == 1 else [])
    if len(kinds) == 1 and len(candidates) == 1:
        return {str(candidates[0].get("name")): (kinds[0],)}
    return {}


def server_kind(labels: Mapping[str, str], container: Mapping[str, Any]) -> str | None:
    """The first server kind of a single-container pod (kept for callers of the old API)."""
    kinds = pod_servers(labels, [container]).get(str(container.get("name")), ())
    return kinds[0] if kinds else None
