"""The numpy statistics against brute-force definitions and published values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.analysis.stats import hodges_lehmann, mann_whitney, percentile, two_proportion_test, wilson

small = st.lists(st.integers(0, 20).map(float), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(a=small, b=small)
def test_mann_whitney_matches_pairwise_definition(a: list[float], b: list[float]) -> None:
    base, fault = np.sort(np.array(a)), np.sort(np.array(b))
    pairs = np.subtract.outer(fault, base)
    u_brute = float((pairs > 0).sum() + 0.5 * (pairs == 0).sum())
    r = mann_whitney(base, fault)
    assert r.u == pytest.approx(u_brute)
    assert r.hl_shift == pytest.approx(float(np.median(pairs)))
    assert 0.0 <= r.p_value <= 1.0


def test_mann_whitney_detects_a_shift_and_not_noise() -> None:
    rng = np.random.default_rng(1)
    base = np.sort(rng.normal(50, 5, 500))
    assert mann_whitney(base, np.sort(rng.normal(70, 5, 300))).p_value < 1e-10
    assert mann_whitney(base, np.sort(rng.normal(50, 5, 300))).p_value > 0.01


def test_hodges_lehmann_summary_stays_close_for_large_samples() -> None:
    rng = np.random.default_rng(2)
    base, fault = np.sort(rng.normal(50, 5, 20_000)), np.sort(rng.normal(62, 5, 20_000))
    assert hodges_lehmann(base, fault) == pytest.approx(12.0, abs=0.3)


def test_wilson_matches_published_interval() -> None:
    # 81 successes of 263 at 95 %: (0.2553, 0.3662) -- Newcombe (1998), the usual worked example.
    lo, hi = wilson(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(10, 10)[1] == pytest.approx(1.0)


def test_two_proportion_test() -> None:
    r = two_proportion_test(990, 1000, 900, 1000)
    assert r.drop == pytest.approx(0.09) and r.p_value < 1e-10
    same = two_proportion_test(100, 100, 50, 50)
    assert same.p_value == 1.0 and same.drop == 0.0


def test_percentile_is_an_observed_value() -> None:
    values = np.arange(1.0, 101.0)
    assert percentile(values, 95) == 95.0
    assert math.isnan(percentile(np.array([]), 95))


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=300),
    q=st.one_of(st.sampled_from([50.0, 95.0, 99.0, 100.0]), st.floats(0.0, 100.0)),
)
def test_the_window_percentile_read_off_the_sorted_sample_is_the_inverted_cdf(values: list[float], q: float) -> None:
    from bridge.analysis.windowstats import sorted_percentile

    a = np.sort(np.array(values, dtype=np.float64))
    assert sorted_percentile(a, q) == percentile(a, q)
