"""index.html: the archive as a plain, self-contained table (no scripts, no outside assets)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    ".strong{background:#f8d7da}.weak{background:#d4edda}.inconclusive{background:#fff3cd}"
)


def _cell(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _when(ts: Any) -> str:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return ""


def render_index(index: dict[str, Any]) -> str:
    rows = []
    for e in sorted(index.get("entries", []), key=lambda e: (-float(e.get("archived_at") or 0), str(e.get("id")))):
        eid = _cell(e.get("id"))
        link = f'<a href="{eid}/report.html">{eid}</a>'
        strength = _cell(e.get("strength"))
        rows.append(
            f"<tr><td>{link}</td><td>{_cell(e.get('kind'))}</td><td>{_cell(e.get('name'))}</td>"
            f"<td>{_cell(e.get('app'))}</td><td>{_cell(e.get('dependency'))}</td>"
            f'<td class="{strength}">{strength}</td><td>{_cell(e.get("recovered"))}</td>'
            f"<td>{_cell(e.get('conclusion'))}</td><td>{'yes' if e.get('verified') else 'no'}</td>"
            f"<td>{_when(e.get('archived_at'))}</td></tr>"
        )
    head = (
        "<tr><th>entry</th><th>kind</th><th>drill / suite</th><th>app</th><th>dependency</th>"
        "<th>strength</th><th>recovered</th><th>conclusion</th><th>verified</th><th>archived</th></tr>"
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>mqdrill archive</title>"
        f"<style>{_STYLE}</style></head><body><h1>mqdrill archive</h1>"
        f"<p>{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}. Each folder holds MANIFEST.sha256; "
        "check it with <code>sha256sum -c MANIFEST.sha256</code> or <code>mqdrill archive verify</code>.</p>"
        f"<table>{head}{''.join(rows)}</table></body></html>\n"
    )
