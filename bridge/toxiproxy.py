"""The Toxiproxy boundary: the only module that talks to Toxiproxy's HTTP API.

Plain ``urllib`` with a non-browser User-Agent (the server answers 403 to ``Mozilla/…``).
Every failure becomes :class:`bridge.errors.ToxiproxyError` carrying the HTTP status.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import ToxiproxyError

TOXIC_TYPES = ("latency", "timeout", "bandwidth", "reset_peer", "slicer", "limit_data", "slow_close")
STREAMS = ("upstream", "downstream")


@dataclass(frozen=True)
class Toxic:
    """One toxic as Toxiproxy stores it."""

    name: str
    type: str
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: Mapping[str, int | float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Toxic:
        return cls(
            name=raw["name"],
            type=raw["type"],
            stream=raw.get("stream", "downstream"),
            toxicity=float(raw.get("toxicity", 1.0)),
            attributes=dict(raw.get("attributes") or {}),
        )


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()


def _proxy(raw: Mapping[str, Any]) -> Proxy:
    toxics = tuple(Toxic.from_json(t) for t in raw.get("toxics") or ())
    return Proxy(raw["name"], raw["listen"], raw["upstream"], bool(raw.get("enabled", True)), toxics)


class ToxiproxyClient:
    """A small client for the Toxiproxy HTTP API at ``base_url`` (e.g. ``http://127.0.0.1:8474``)."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("User-Agent", "mqdrill")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()
            raise ToxiproxyError(
                f"toxiproxy {method} {path}: HTTP {exc.code}: {detail}",
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ToxiproxyError(f"toxiproxy at {self.base_url} unreachable ({method} {path}): {exc}") from exc
        return json.loads(raw) if raw.strip() else None

    def version(self) -> str:
        req = urllib.request.Request(self.base_url + "/version", headers={"User-Agent": "mqdrill"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return str(resp.read().decode().strip())
        except (urllib.error.URLError, OSError) as exc:
            raise ToxiproxyError(f"toxiproxy at {self.base_url} unreachable: {exc}") from exc

    def proxies(self) -> dict[str, Proxy]:
        raw = self._call("GET", "/proxies")
        return {name: _proxy(p) for name, p in raw.items()}

    def proxy(self, name: str) -> Proxy:
        return _proxy(self._call("GET", f"/proxies/{name}"))

    def ensure_proxy(self, name: str, listen: str, upstream: str) -> Proxy:
        """Create or replace a proxy (``/populate`` keeps one whose listen/upstream are unchanged)."""
        raw = self._call("POST", "/populate", [{"name": name, "listen": listen, "upstream": upstream}])
        found = [p for p in raw.get("proxies", []) if p["name"] == name]
        return _proxy(found[0]) if found else self.proxy(name)

    def set_enabled(self, name: str, enabled: bool) -> Proxy:
        return _proxy(self._call("POST", f"/proxies/{name}", {"enabled": enabled}))

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def toxics(self, proxy: str) -> list[Toxic]:
        return [Toxic.from_json(t) for t in self._call("GET", f"/proxies/{proxy}/toxics")]

    def add_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        if toxic.type not in TOXIC_TYPES:
            raise ToxiproxyError(f"unknown toxic type {toxic.type!r}: allowed {', '.join(TOXIC_TYPES)}")
        if toxic.stream not in STREAMS:
            raise ToxiproxyError(f"unknown toxic stream {toxic.stream!r}: allowed upstream, downstream")
        return Toxic.from_json(self._call("POST", f"/proxies/{proxy}/toxics", toxic.to_json()))

    def remove_toxic(self, proxy: str, name: str, *, missing_ok: bool = True) -> None:
        try:
            self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")
        except ToxiproxyError as exc:
            if not (missing_ok and "HTTP 404" in str(exc)):
                raise

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset")
