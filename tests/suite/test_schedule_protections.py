"""Drills that switch an application's protections restart it: a suite never runs two at once."""

from __future__ import annotations

from bridge.spec.catalog import load_catalog
from bridge.suite.schedule import overlaps, resources
from tests.support.drills import drill


def test_two_drills_switching_protections_of_one_app_overlap_even_on_different_components() -> None:
    catalog = load_catalog()
    a = resources(drill(scenario="broker-unavailable", protections_on=["fallback-direct"]), catalog)
    b = resources(drill(scenario="namesrv-unavailable", protections_on=[]), catalog)
    plain = resources(drill(scenario="namesrv-unavailable"), catalog)
    assert overlaps(a, b)
    assert not overlaps(a, plain)  # a drill that leaves protections as they are adds no constraint
