"""sha256 manifests in ``sha256sum`` format, so an archive can be checked without mqdrill:
``cd <entry> && sha256sum -c MANIFEST.sha256``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = "MANIFEST.sha256"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.name != MANIFEST)


def build_manifest(root: Path) -> str:
    """The manifest text for every file under ``root`` (except the manifest itself)."""
    lines = [f"{file_sha256(p)}  {p.relative_to(root).as_posix()}" for p in _files(root)]
    return "".join(line + "\n" for line in lines)


@dataclass
class Check:
    """What differs between a directory and its manifest."""

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added or self.unreadable)

    def describe(self) -> str:
        parts = [
            f"{label}: {', '.join(items)}"
            for label, items in (
                ("changed", self.changed),
                ("missing", self.missing),
                ("added", self.added),
                ("unreadable", self.unreadable),
            )
            if items
        ]
        return "; ".join(parts) if parts else "all files match"


def parse_manifest(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        digest, sep, name = line.partition("  ")
        if sep and len(digest) == 64:
            out[name] = digest
    return out


def check_manifest(root: Path) -> Check:
    """Compare every file under ``root`` with ``MANIFEST.sha256``."""
    result = Check()
    try:
        expected = parse_manifest((root / MANIFEST).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        result.missing.append(MANIFEST)
        return result
    present = {p.relative_to(root).as_posix(): p for p in _files(root)}
    for name, digest in sorted(expected.items()):
        path = present.get(name)
        if path is None:
            result.missing.append(name)
            continue
        try:
            if file_sha256(path) != digest:
                result.changed.append(name)
        except OSError:
            result.unreadable.append(name)
    result.added = sorted(set(present) - set(expected))
    return result
