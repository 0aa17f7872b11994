"""Every catalog plan for the chaosmesh and chaosblade engines, sent to the real API server as a
server-side dry run: the real CRD schemas (v2.8.3, v1.8.0) and Chaos Mesh's real admission
webhooks (stricter than the schemas) must admit each object; and what they refuse reaches the
user as a refusal in the webhook's words, not as a permissions problem."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.engines.k8s_objects import resource_for
from bridge.engines.planning import plan_drill
from bridge.errors import KubernetesError
from bridge.k8s import AdmissionRefused, Kube, KubeOptions
from bridge.spec.catalog import load_catalog
from bridge.spec.resolve import resolve
from tests.realk8s.testbed import DEMO_NS, Bed
from tests.support.drills import drill

CATALOG = load_catalog()
ENTRIES = [
    (e["scenario"], e["cause"], eng)
    for e in CATALOG.entries()  # type: ignore[attr-defined]
    for eng in e["engines"]
    if eng in ("chaosmesh", "chaosblade")
]
# The peer selection of network faults differs by client and direction: each shape once.
VARIANTS = [("all", "both"), ("frontend", "to"), ("cartservice", "from")]


@pytest.fixture(scope="module")
def kube(real_kubeconfig: Path) -> Iterator[Kube]:
    k = Kube.connect(KubeOptions(kubeconfig=str(real_kubeconfig)))
    yield k
    k.close()


@pytest.mark.parametrize(("scenario", "cause", "engine"), ENTRIES)
@pytest.mark.parametrize(("client", "direction"), VARIANTS)
def test_catalog_plan_is_admitted_by_the_real_server_and_webhooks(
    real_cluster: Bed, kube: Kube, scenario: str, cause: str, engine: str, client: str, direction: str
) -> None:
    d = drill(
        scenario=scenario,
        causes=[cause],
        engine=engine,
        targets={"namespace": DEMO_NS},
        params={"client": client, "direction": direction},
    )
    plans = plan_drill(resolve(d, CATALOG, run_id="20261201-000000-admit-ab12"), CATALOG)
    objects = [o for p in plans for o in p.objects]
    assert objects
    for obj in objects:
        admitted = kube.create(resource_for(obj["apiVersion"], obj["kind"]), obj, dry_run=True)
        # the server answered with the object as it would store it (defaults filled, nothing stored)
        assert admitted["metadata"]["name"] == obj["metadata"]["name"]
        assert admitted["spec"]
        if obj["kind"] != "ChaosBlade":
            # Chaos Mesh's mutating webhook ran: it fills defaults the plan left out
            assert admitted["spec"]["duration"] == obj["spec"]["duration"]


BAD_SPECS = {
    # the schema accepts these; the webhook refuses them
    "bad duration": ({"action": "pod-kill", "mode": "one", "duration": "abc"}, "parse duration field error"),
    "fixed without value": ({"action": "pod-kill", "mode": "fixed", "duration": "10s"}, "value"),
    "container-kill without containerNames": (
        {"action": "container-kill", "mode": "one", "duration": "10s"},
        "container",
    ),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_a_webhook_refusal_is_reported_as_a_refusal_in_its_words(kube: Kube, case: str) -> None:
    spec, words = BAD_SPECS[case]
    obj = {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "PodChaos",
        "metadata": {"name": "admit-refused", "namespace": DEMO_NS},
        "spec": {**spec, "selector": {"namespaces": [DEMO_NS], "labelSelectors": {"app": "frontend"}}},
    }
    with pytest.raises(AdmissionRefused) as err:
        kube.create(resource_for(obj["apiVersion"], obj["kind"]), obj, dry_run=True)
    text = str(err.value)
    assert "admission webhook" in text and "denied the request" in text and words in text
    assert "RBAC" not in text and "permission" not in text  # not a permissions problem
    assert err.value.status == 403


def test_an_rbac_refusal_still_names_the_permission(real_cluster: Bed, tmp_path: Path) -> None:
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody", "namespace": DEMO_NS}}
    real_cluster.admin.apply(f"/api/v1/namespaces/{DEMO_NS}/serviceaccounts/nobody", sa)
    config = real_cluster.token_kubeconfig(tmp_path / "nobody", namespace=DEMO_NS, service_account="nobody")
    k = Kube.connect(KubeOptions(kubeconfig=str(config)))
    obj = {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "PodChaos",
        "metadata": {"name": "admit-forbidden", "namespace": DEMO_NS},
        "spec": {"action": "pod-kill", "mode": "one", "duration": "10s", "selector": {"namespaces": [DEMO_NS]}},
    }
    with pytest.raises(KubernetesError) as err:
        k.create(resource_for(obj["apiVersion"], obj["kind"]), obj, dry_run=True)
    assert not isinstance(err.value, AdmissionRefused)
    assert f"verb 'create' on 'podchaos.chaos-mesh.org' in namespace '{DEMO_NS}'" in str(err.value)
    assert "system:serviceaccount:mqdrill-demo:nobody" in str(err.value)  # the server's words, kept
