"""The topology as text: servers, admin tools apart, then each client with what it uses and why."""

from __future__ import annotations

from bridge.discovery.model import Topology, Workload


def _selector(w: Workload) -> str:
    if w.labels:
        return "selector " + ",".join(f"{k}={v}" for k, v in w.labels.items())
    if w.target_pods:
        return "pods " + ",".join(w.target_pods)
    return "no selector: " + w.selector_note


def render(topology: Topology) -> str:
    lines = ["RocketMQ servers:"] if topology.servers else ["RocketMQ servers: none found"]
    for s in topology.servers:
        lines.append(
            f"  {s.kind:8} {s.ref}  ({s.controller}, pods={len(s.pods)}, container {s.container})  "
            f"{_selector(s)}  image {', '.join(s.images)}"
        )
    if topology.admin:
        lines.append("Admin tools (listed, never judged as applications):")
        for a in topology.admin:
            lines.append(f"  {a.ref}  ({a.controller}, pods={len(a.pods)})  image {', '.join(a.images)}")
    lines.append("Clients:" if topology.clients else "Clients: none found")
    for c in topology.clients:
        lines.append(f"  {c.ref}  ({c.controller}, pods={len(c.pods)}, container {c.container})")
        for setting in c.found:
            lines.append(f"      {setting.key} = {setting.shown()}   [{setting.name}, {setting.origin}]")
        pairs = topology.servers_of(c)
        for p in pairs:
            lines.append(f"      uses {p.server.kind} {p.server.ref}: {p.why}")
        if not pairs:
            lines.append(f"      uses nothing found: {topology.unpaired.get(c.ref, 'no address setting')}")
    for note in topology.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines)
