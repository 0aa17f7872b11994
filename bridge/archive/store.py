"""The archive: runs and suites moved under the archive root, checksummed, made read-only, indexed.

Layout under the archive root (``--archive-root``, else ``$MQDRILL_ARCHIVE``, else
``$MQDRILL_REPORTS/archive``, by default ``reports/archive`` in the repository)::

    index.json          {"schema": "mqdrill.archive/v1", "entries": [...]}
    index.html          the same, browsable, with links to each report.html
    <entry>/            the run or suite directory, moved here, files 0444 and folders 0555
        ARCHIVE.json    conclusion, verified, archived_at, original path
        MANIFEST.sha256 sha256 of every other file (sha256sum -c format); its own hash is in index.json

An archived directory refuses re-analysis and re-reports (:func:`ensure_writable`).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.archive.manifest import MANIFEST, Check, build_manifest, check_manifest, file_sha256
from bridge.errors import ArchiveError, InputError

MARKER = "ARCHIVE.json"
INDEX_SCHEMA = "mqdrill.archive/v1"
Clock = Callable[[], float]


def archive_root(option: str | Path | None = None) -> Path:
    """Where the archive lives: the option, else $MQDRILL_ARCHIVE, else <reports>/archive."""
    from bridge.paths import reports_dir

    return Path(option or os.environ.get("MQDRILL_ARCHIVE") or reports_dir() / "archive")


def archived_marker(path: Path) -> Path | None:
    """The ARCHIVE.json governing ``path`` (itself or a parent, e.g. a suite), if any."""
    for p in (path.resolve(), *path.resolve().parents):
        if (p / MARKER).is_file():
            return p / MARKER
    return None


def ensure_writable(path: str | Path, root: str | Path | None = None) -> None:
    """Raise ArchiveError when ``path`` is archived, or was moved into the archive."""
    p = Path(path)
    marker = archived_marker(p) if p.exists() else None
    if marker is not None:
        raise ArchiveError(
            f"{p} is archived ({marker.parent.name}); it cannot be re-analysed or re-reported "
            "in place. Copy it elsewhere to work on it."
        )
    if not p.exists():
        entry = find_by_origin(p, root)
        if entry is not None:
            raise ArchiveError(
                f"{p} was archived as {entry['id']} under {archive_root(root)}; it cannot be "
                "re-analysed or re-reported in place."
            )


def load_index(root: str | Path | None = None) -> dict[str, Any]:
    path = archive_root(root) / "index.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"schema": INDEX_SCHEMA, "entries": []}
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ArchiveError(f"{path} is not an archive index (no entries list)")
    return data


def find_by_origin(path: Path, root: str | Path | None = None) -> dict[str, Any] | None:
    target = str(path.resolve())
    for e in load_index(root)["entries"]:
        if e.get("origin") == target:
            return dict(e)
    return None


def _kind(path: Path) -> tuple[str, dict[str, Any]]:
    for name, kind in (("run.json", "run"), ("suite.json", "suite")):
        f = path / name
        if f.is_file():
            try:
                meta = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
            return kind, meta if isinstance(meta, dict) else {}
    raise InputError(f"{path} is neither a run directory (run.json) nor a suite directory (suite.json)")


def _summary(path: Path, kind: str, meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": meta.get("drill") or meta.get("name") or path.name}
    if kind == "run":
        out.update(
            app=meta.get("app"),
            dependency=meta.get("dependency") or meta.get("component"),
            scenario=meta.get("scenario"),
        )
        try:
            v = json.loads((path / "verdict.json").read_text(encoding="utf-8"))["verdicts"][0]
            out.update(strength=v.get("strength"), recovered=v.get("recovered"))
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            out.update(strength=None, recovered=None)
        if meta.get("protections_on") is not None:
            out["protections_on"] = meta["protections_on"]
    else:
        loop = _loop(path)
        if loop:
            out["loop"] = loop
    return out


def _loop(suite: Path) -> list[dict[str, Any]]:
    """The governance loop a suite holds: each protected run beside the unprotected one, with the
    step (fix, regression, same) and the protection that was verified."""
    from bridge.analysis.runcompare import suite_comparisons

    out = []
    for c in suite_comparisons(suite):
        out.append(
            {
                "step": c.step,
                "sentence": c.sentence(),
                "protection": c.after.protection,
                "before": {"run": Path(c.before.run_dir).name, "strength": c.before.strength},
                "after": {"run": Path(c.after.run_dir).name, "strength": c.after.strength},
            }
        )
    return out


def _freeze(root: Path) -> None:
    for p in sorted(root.rglob("*"), reverse=True):
        if p.is_file() and not p.is_symlink():
            p.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        elif p.is_dir():
            p.chmod(0o555)
    root.chmod(0o555)


def archive(
    path: str | Path,
    *,
    conclusion: str,
    verified: bool,
    root: str | Path | None = None,
    clock: Clock = time.time,
    auto: bool = False,
) -> dict[str, Any]:
    """Move ``path`` (a run or suite) into the archive, checksum it, freeze it, index it."""
    src = Path(path)
    if not src.is_dir():
        raise InputError(f"{src} is not a directory")
    if archived_marker(src) is not None:
        raise ArchiveError(f"{src} is already archived")
    if not conclusion.strip():
        raise InputError("--conclusion must not be empty: say what the team concluded")
    kind, meta = _kind(src)
    aroot = archive_root(root)
    aroot.mkdir(parents=True, exist_ok=True)
    index = load_index(aroot)
    entry_id = _unique_id(str(meta.get("run_id") or meta.get("suite_id") or src.name), index, aroot)
    now = clock()
    record = {
        "id": entry_id,
        "kind": kind,
        "origin": str(src.resolve()),
        "conclusion": conclusion,
        "verified": verified,
        "auto": auto,
        "archived_at": now,
        **_summary(src, kind, meta),
    }
    dest = aroot / entry_id
    shutil.move(str(src), str(dest))
    (dest / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (dest / MANIFEST).write_text(build_manifest(dest), encoding="utf-8")
    record["manifest_sha256"] = file_sha256(dest / MANIFEST)
    _freeze(dest)
    index["entries"].append(record)
    _write_index(aroot, index)
    return record


def _unique_id(base: str, index: dict[str, Any], aroot: Path) -> str:
    taken = {e.get("id") for e in index["entries"]}
    candidate, n = base, 1
    while candidate in taken or (aroot / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _write_index(aroot: Path, index: dict[str, Any]) -> None:
    from bridge.archive.html import render_index

    tmp = aroot / "index.json.tmp"
    tmp.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, aroot / "index.json")
    tmp_html = aroot / "index.html.tmp"
    tmp_html.write_text(render_index(index), encoding="utf-8")
    os.replace(tmp_html, aroot / "index.html")


def verify(entry: str | None = None, root: str | Path | None = None) -> dict[str, Check]:
    """Check one entry (or all) against its manifest and the manifest's hash in the index."""
    aroot = archive_root(root)
    entries = load_index(aroot)["entries"]
    if entry is not None:
        entries = [e for e in entries if e.get("id") == entry]
        if not entries:
            raise InputError(f"no archive entry named {entry!r} under {aroot}")
    results: dict[str, Check] = {}
    for e in entries:
        dest = aroot / str(e["id"])
        if not dest.is_dir():
            results[e["id"]] = Check(missing=[str(e["id"]) + "/"])
            continue
        check = check_manifest(dest)
        manifest = dest / MANIFEST
        if manifest.is_file() and file_sha256(manifest) != e.get("manifest_sha256"):
            check.changed.append(MANIFEST)
        results[e["id"]] = check
    return results
