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


def test_a_network_drill_overlaps_a_drill_on_the_client_pods_it_names() -> None:
    catalog = load_catalog()
    orders = {"namespace": "shop", "labels": {"app": "orders"}}
    broker = {"namespace": "mq", "labels": {"app.kubernetes.io/component": "broker"}}
    network = resources(
        drill(scenario="network-loss", engine="chaosmesh", targets={**broker, "client": orders}), catalog
    )
    on_client = resources(
        drill(scenario="send-failure", causes=["client-exception"], engine="chaosmesh", app="orders", targets=orders),
        catalog,
    )
    elsewhere = resources(
        drill(
            scenario="send-failure",
            causes=["client-exception"],
            engine="chaosmesh",
            app="billing",
            targets={"namespace": "shop", "labels": {"app": "billing"}},
        ),
        catalog,
    )
    assert overlaps(network, on_client)  # its client side is those pods
    assert not overlaps(network, elsewhere)
