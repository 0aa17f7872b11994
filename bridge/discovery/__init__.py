"""Discovery: RocketMQ servers, their clients and admin tools in a cluster, the pairs between them
(and why), drills written for them, and the selector guard every drill meets before it runs.

Modules, each with one job: ``vocabulary`` (the settings the client libraries document),
``settings`` (a container's settings, wherever they are), ``servers`` (what is a server or an
admin tool), ``workloads`` (controllers and exact selectors), ``reach`` (which server a client's
addresses resolve to), ``scan`` (pods → topology), ``guard`` (the selector check), ``drafts`` and
``files`` (drills and writing them safely), ``cluster`` (the live cluster), ``render`` (text).
"""

from bridge.discovery.cluster import cluster_refusals, discover_cluster
from bridge.discovery.drafts import Drafts, DrillDraft, draft_drills
from bridge.discovery.files import Written, write_drills
from bridge.discovery.guard import Refusal, check_fault, check_selector
from bridge.discovery.model import Pair, Setting, Topology, Workload
from bridge.discovery.render import render
from bridge.discovery.scan import scan

__all__ = [
    "Drafts",
    "DrillDraft",
    "Pair",
    "Refusal",
    "Setting",
    "Topology",
    "Workload",
    "Written",
    "check_fault",
    "check_selector",
    "cluster_refusals",
    "discover_cluster",
    "draft_drills",
    "render",
    "scan",
    "write_drills",
]
