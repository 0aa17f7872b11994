"""A small HTTPS client for the test bed's API server, independent of the code under test.

The bed and the tests that play the user's cluster administrator (install CRDs, register
webhooks, apply RBAC, read what the controllers wrote) talk to the API server with this, never
through ``bridge.k8s``: what mqdrill does is then checked against what the server says.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, body: str, what: str) -> None:
        super().__init__(f"{what}: HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body

    @property
    def message(self) -> str:
        try:
            return str(json.loads(self.body).get("message", self.body))
        except ValueError:
            return self.body


@dataclass
class Rest:
    """Requests to ``base`` with a client certificate or a bearer token, CA-verified."""

    base: str
    ca: Path
    cert: Path | None = None
    key: Path | None = None
    token: str | None = None
    timeout_s: float = 10.0

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        if self.cert is not None and self.key is not None:
            ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: str = "",
        raw: bool = False,
    ) -> Any:
        url = self.base + path + (f"?{query}" if query else "")
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", content_type)
        req.add_header("Accept", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s, context=self._context()) as resp:  # noqa: S310
                text = resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode("utf-8", "replace"), f"{method} {path}") from None
        if raw:
            return text
        return json.loads(text) if text.strip().startswith(("{", "[")) else text

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def get_or_none(self, path: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.request("GET", path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        try:
            return self.request("DELETE", path, **kw)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def merge_patch(self, path: str, patch: Any) -> Any:
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def apply(self, path: str, obj: dict[str, Any], *, manager: str = "mqdrill-testbed") -> Any:
        """Server-side apply (``path`` names the object): CRDs too large for a client-side apply."""
        return self.request(
            "PATCH",
            path,
            obj,
            content_type="application/apply-patch+yaml",
            query=f"fieldManager={manager}&force=true",
        )

    def wait_for(self, what: str, check: Any, *, timeout_s: float = 60.0, poll_s: float = 0.5) -> Any:
        """Poll ``check()`` until it returns something truthy; raise naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = check()
            except (ApiError, OSError, ValueError) as exc:
                last = exc
            else:
                if last:
                    return last
            time.sleep(poll_s)
        raise TimeoutError(f"{what} not reached within {timeout_s:g}s (last: {str(last)[:300]})")
