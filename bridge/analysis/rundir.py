"""Read a run directory (contract v1) tolerantly: a crashed run still yields what it recorded.

Nothing here raises on a missing or damaged file. Each problem becomes a sentence in
``RunData.notes`` so the verdict can say why it is inconclusive. A CSV whose last line has no
newline was cut mid-write: that line is dropped. Rows whose required fields do not parse are
dropped and counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

# op is categorical: a handful of names over millions of rows (saves ~170 MiB at 10 M rows).
PROBE_SCHEMA: dict[str, Any] = {
    "t": pl.Float64,
    "sent": pl.Float64,  # empty when never sent; the outcome interval starts there (attribution)
    "latency_ms": pl.Float64,
    "ok": pl.Int64,
    "op": pl.Categorical,
}
METRIC_SCHEMA: dict[str, Any] = {
    "t": pl.Float64,
    "source": pl.String,
    "name": pl.String,
    "value": pl.Float64,
    "labels": pl.String,
}
SIGNATURE_SCHEMA: dict[str, Any] = {
    "t": pl.Float64,
    "source": pl.String,
    "signature": pl.String,
    "count": pl.Float64,
}


@dataclass
class RunData:
    """Everything a run directory recorded, as far as it could be read."""

    path: Path
    meta: dict[str, Any]
    events: list[dict[str, Any]]
    probes: pl.DataFrame
    metrics: pl.DataFrame
    signatures: pl.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id") or self.path.name)


def read_run(path: str | Path) -> RunData:
    """Read ``path`` as a run directory; never raises for missing or damaged content."""
    root = Path(path)
    notes: list[str] = []
    meta = _read_json(root / "run.json", notes)
    events = _read_events(root / "events.jsonl", notes)
    probes = _read_table(root, "probe", PROBE_SCHEMA, ("t", "ok"), notes)
    if "op" in probes.columns:
        probes = probes.with_columns(pl.col("op").fill_null("probe"))
    probes = probes.with_columns((pl.col("ok") > 0).cast(pl.Int8).alias("ok"))
    metrics = _read_table(root, "metrics", METRIC_SCHEMA, ("t", "name", "value"), notes, required=False)
    signatures = _read_table(root / "logs", "signatures", SIGNATURE_SCHEMA, ("t", "signature"), notes, required=False)
    if "count" in signatures.columns:
        signatures = signatures.with_columns(pl.col("count").fill_null(1.0))
    return RunData(root, meta, events, probes, metrics, signatures, notes)


def _read_json(path: Path, notes: list[str]) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        notes.append(f"{path.name} is missing.")
        return {}
    except (OSError, ValueError) as exc:
        notes.append(f"{path.name} could not be read ({type(exc).__name__}).")
        return {}
    if not isinstance(data, dict):
        notes.append(f"{path.name} is not a JSON object.")
        return {}
    return data


def _read_events(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        notes.append("events.jsonl is missing.")
        return []
    except OSError:
        notes.append("events.jsonl could not be read.")
        return []
    events: list[dict[str, Any]] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            obj["t"] = float(obj["t"])
            if not isinstance(obj.get("event"), str):
                raise ValueError("no event name")
        except (ValueError, TypeError, KeyError):
            bad += 1
            continue
        events.append(obj)
    if bad:
        notes.append(f"events.jsonl: {bad} line(s) could not be parsed and were skipped.")
    # Stable sort: the file is written in time order; this only guards against clock jitter.
    events.sort(key=lambda e: e["t"])
    return events


def _empty(schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _read_table(
    folder: Path,
    stem: str,
    schema: dict[str, Any],
    required_cols: tuple[str, ...],
    notes: list[str],
    *,
    required: bool = True,
) -> pl.DataFrame:
    parquet, csv = folder / f"{stem}.parquet", folder / f"{stem}.csv"
    frame: pl.DataFrame | None = None
    if parquet.exists():
        try:
            frame = pl.read_parquet(parquet, columns=[c for c in schema if c in _parquet_cols(parquet)])
        except Exception:  # noqa: BLE001 - any damage: fall back to the CSV, which is authoritative
            notes.append(f"{parquet.name} could not be read; using {csv.name}.")
            frame = None
    if frame is None:
        if not csv.exists():
            if required:
                notes.append(f"{csv.name} is missing.")
            return _empty(schema)
        frame = _read_csv(csv, schema, notes)
    return _conform(frame, schema, required_cols, csv.name, notes)


def _parquet_cols(path: Path) -> list[str]:
    return list(pl.read_parquet_schema(path))


def _read_csv(path: Path, schema: dict[str, Any], notes: list[str]) -> pl.DataFrame:
    with path.open("rb") as fh:
        header = fh.readline().decode("utf-8", errors="replace").strip()
        size = path.stat().st_size
        fh.seek(max(0, size - 1))
        cut = size > 0 and fh.read(1) != b"\n"
    present = [c.strip().strip('"') for c in header.split(",")] if header else []
    wanted = [c for c in schema if c in present]
    if not wanted:
        notes.append(f"{path.name} has no usable header.")
        return _empty(schema)
    try:
        frame = pl.read_csv(
            path,
            columns=wanted,
            schema_overrides={c: schema[c] for c in wanted},
            ignore_errors=True,
            truncate_ragged_lines=True,
            infer_schema=False,
            quote_char='"',
        )
    except Exception as exc:  # noqa: BLE001 - polars raises many kinds; the run must stay analysable
        notes.append(f"{path.name} could not be parsed ({type(exc).__name__}).")
        return _empty(schema)
    if cut and frame.height > 0:
        frame = frame.head(frame.height - 1)
        notes.append(f"{path.name}: the last line was cut mid-write and was dropped.")
    return frame


def _conform(
    frame: pl.DataFrame, schema: dict[str, Any], required_cols: tuple[str, ...], name: str, notes: list[str]
) -> pl.DataFrame:
    missing = [c for c in required_cols if c not in frame.columns]
    if missing:
        notes.append(f"{name} lacks column(s) {', '.join(missing)}.")
        return _empty(schema)
    frame = frame.with_columns([pl.lit(None, dtype=dt).alias(c) for c, dt in schema.items() if c not in frame.columns])
    frame = frame.select([pl.col(c).cast(dt, strict=False) for c, dt in schema.items()])
    before = frame.height
    frame = frame.drop_nulls(list(required_cols))
    if frame.height < before:
        notes.append(f"{name}: {before - frame.height} row(s) with unreadable required fields were dropped.")
    return frame
