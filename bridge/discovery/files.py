"""Writing drafted drills without ever clobbering a user's edits.

Each file starts with a header carrying the SHA-256 of the body mqdrill wrote. A file is
rewritten only when it is absent or still exactly what mqdrill wrote (its body matches its
header); a file without the header, or whose body changed, is the user's and is kept.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bridge.discovery.drafts import Drafts

HEADER = "# Written by `mqdrill discover`; review the targets before running it.\n"
YOUR_PART = "# YOUR PART (discovery cannot know it; until you set it, the drill judges only what is written):"
_SUM = re.compile(r"^# mqdrill-checksum: sha256:([0-9a-f]{64})\n", re.MULTILINE)


@dataclass(frozen=True)
class Written:
    written: tuple[Path, ...]
    unchanged: tuple[Path, ...]  # already there, exactly as mqdrill would write it
    kept: tuple[Path, ...]  # edited (or not written by mqdrill): not overwritten


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def render_file(document: dict[str, object], user_parts: tuple[str, ...] = ()) -> str:
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if user_parts:  # comments inside the checksummed body: filling them in counts as an edit
        lines = [YOUR_PART, *(f"#   TODO(you): {p}" for p in user_parts)]
        body = "\n".join(lines) + "\n" + body
    return f"{HEADER}# mqdrill-checksum: sha256:{_digest(body)}\n{body}"


def is_pristine(text: str) -> bool:
    """Whether ``text`` is still exactly what mqdrill wrote (header checksum matches the body)."""
    m = _SUM.search(text)
    return m is not None and _digest(text[m.end() :]) == m.group(1)


def write_drills(drafts: Drafts, directory: Path) -> Written:
    directory.mkdir(parents=True, exist_ok=True)
    written, unchanged, kept = [], [], []
    for d in drafts.drills:
        path = directory / d.file_name
        text = render_file(d.document, d.user_parts)
        if path.exists():
            old = path.read_text(encoding="utf-8", errors="replace")
            if old == text:
                unchanged.append(path)
                continue
            if not is_pristine(old):
                kept.append(path)
                continue
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return Written(tuple(written), tuple(unchanged), tuple(kept))
