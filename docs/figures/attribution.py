"""Draws docs/figures/attribution.svg: probe rows as outcome intervals against the windows.

The intervals are computed by the analysis itself (bridge.analysis.attribution.with_outcome) from
a handful of rows like the probe writes, so the figure shows what the code does.
Run: .venv/bin/python docs/figures/attribution.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small, searchable
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bridge.analysis.attribution import END, START, Bounds, inside, with_outcome  # noqa: E402
from bridge.analysis.windows import Window  # noqa: E402

BASELINE, GAP, FAULT = Window("baseline", 0.0, 20.0), (20.0, 20.5), Window("fault", 20.5, 35.0)
ROWS = [  # t, sent, latency_ms, ok, op, what it shows
    (9.0, 9.2, 2500.0, 1, "cart_visible", "item seen 2.5 s after the add: baseline"),
    (17.8, 18.0, None, 0, "cart_visible", "added 2 s before the fault, never seen: in neither window"),
    (19.0, 19.0, None, 0, "add_to_cart", "sent 1 s before the fault, timed out: in neither window"),
    (24.0, 24.1, None, 0, "cart_visible", "added during the fault, never seen within 5 s: fault"),
    (27.0, 27.0, 40.0, 1, "add_to_cart", "answered in 40 ms: fault"),
    (31.0, 31.2, None, 0, "cart_visible", "gave up 5 s later, after the fault ended: in neither window"),
]


def main() -> None:
    frame = pl.DataFrame(
        [r[:5] for r in ROWS],
        schema={"t": pl.Float64, "sent": pl.Float64, "latency_ms": pl.Float64, "ok": pl.Int64, "op": pl.Categorical},
        orient="row",
    )
    spans = with_outcome(frame, Bounds(timeout_s=2.0, eventual_s=5.0))
    judged = {w.name: spans.select(inside(w)).to_series().to_list() for w in (BASELINE, FAULT)}
    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.axvspan(BASELINE.start, BASELINE.end, color="#dbe9f6", label="baseline window")
    ax.axvspan(*GAP, color="#eeeeee", label="inject requested → confirmed (no window)")
    ax.axvspan(FAULT.start, FAULT.end, color="#f8d9d4", label="fault window")
    for i, (row, start, end) in enumerate(zip(ROWS, spans[START], spans[END], strict=True)):
        y = len(ROWS) - i
        where = "baseline" if judged["baseline"][i] else "fault" if judged["fault"][i] else None
        colour = {"baseline": "#1f5f99", "fault": "#b03a2e", None: "#888888"}[where]
        ax.plot([start, end], [y, y], color=colour, lw=3, solid_capstyle="butt")
        ax.plot([row[0]], [y], marker="|", color="black", ms=10)
        ax.text(end + 0.3, y, row[5], va="center", fontsize=7.5)
    ax.set_xlim(0, 62)
    ax.set_ylim(0.3, len(ROWS) + 1.4)
    ax.set_yticks([])
    ax.set_xlabel("seconds from the start of the baseline   (| = intended send time t; bar = outcome interval)")
    ax.legend(loc="upper right", fontsize=7, frameon=False, ncol=3)
    ax.set_title("A row belongs to the window its whole outcome interval lies in", fontsize=10)
    fig.tight_layout()
    out = Path(__file__).with_suffix(".svg")
    fig.savefig(out, format="svg", metadata={"Date": None})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
