"""Figures a person reads: no negative time axis, whole units, percentages, plain names in legends."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from bridge.analysis import analyze, plots  # noqa: E402
from bridge.analysis.analyze import Analysis  # noqa: E402
from bridge.analysis.synthetic import Scenario, write_run  # noqa: E402


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    sc = Scenario(backlog=True, slo={"success_ratio_min": 0.99, "latency_p95_ms_max": 500, "visibility_s_max": 5})
    return analyze(write_run(tmp_path_factory.mktemp("plots") / "run", sc))


def _labels(ax: matplotlib.axes.Axes) -> list[str]:
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_yticklabels() if t.get_text()]


def test_timeline_axes_read_as_percentages_and_whole_milliseconds(analysis: Analysis) -> None:
    fig = plots.timeline(analysis)
    top, bottom = fig.axes
    assert all(label.endswith("%") for label in _labels(top))
    assert bottom.get_ylim()[0] == 0  # symlog's margin would otherwise show -10 ms
    lat = _labels(bottom)
    assert lat and all(label.endswith(" ms") and "." not in label and "-" not in label for label in lat)
    legend = [t.get_text() for t in top.get_legend().get_texts()] + [
        t.get_text() for t in bottom.get_legend().get_texts()
    ]
    assert "add-to-cart requests" in legend and "add-to-cart requests, 95th percentile" in legend
    assert not [t for t in legend if "_" in t]  # raw names only in the footnote
    plt.close(fig)


def test_visibility_and_consume_axes_start_at_zero(analysis: Analysis) -> None:
    for fig in (plots.visibility(analysis), plots.consume(analysis)):
        assert fig is not None
        for ax in fig.axes:
            assert ax.get_ylim()[0] == 0
            assert "_" not in ax.get_title(loc="left")
            assert not [label for label in _labels(ax) if label.startswith(("-", "−"))]
        plt.close(fig)
