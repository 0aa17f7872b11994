"""``blade`` CLI plans: argv lists (never shell strings), each with ``--timeout`` as its hard end.

On Kubernetes: ``blade create k8s <scope>-<target> <action> … --kubeconfig PATH``; on a host
(targets.services given): ``blade create <target> <action> …`` with this host's ports, process
matchers and store path (:mod:`bridge.engines.blade_host`: the catalog's, or the embedded
environment's when it plays the host).
"""

from __future__ import annotations

from bridge.engines import blade_host
from bridge.engines.base import Fault, Plan
from bridge.engines.blade_cli import default_kubeconfig
from bridge.engines.chaosblade_plan import Experiment, experiments
from bridge.spec.catalog import Catalog


def argv(exp: Experiment, *, kubeconfig: str | None, blade: str = "blade") -> tuple[str, ...]:
    """One experiment as an argv list."""
    if exp.scope == "host":
        words = [blade, "create", exp.target, exp.action]
    else:
        words = [blade, "create", "k8s", f"{exp.scope}-{exp.target}", exp.action]
    for name, value in exp.flags.items():
        words.append(f"--{name}")
        if value is not None:
            words.append(value)
    if exp.scope != "host":
        # blade gets no shell and reads no $KUBECONFIG: the file is named, "~" expanded, here.
        words += ["--kubeconfig", kubeconfig or default_kubeconfig()]
    return tuple(words)


def plan(
    fault: Fault,
    catalog: Catalog,
    index: int = 0,
    *,
    kubeconfig: str | None = None,
    layout: blade_host.HostLayout | None = None,
) -> Plan:
    host = fault.target.namespace is None
    notes: list[str] = []
    if host:
        layout = layout or blade_host.current(catalog)
        catalog = layout.apply(catalog)
        notes.append(f"host ports, process matchers and store path from {layout.source}")
    exps = experiments(fault, catalog, host=host)
    if any(e.target == "rocketmq" for e in exps) and host:
        notes.append("JVM experiments on a host need the agent attached first: blade prepare jvm --process <app>")
    return Plan(
        engine="blade",
        fault=fault,
        argv=tuple(argv(e, kubeconfig=kubeconfig) for e in exps),
        notes=tuple(notes),
    )
