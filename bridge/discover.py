"""Kept for older imports: discovery lives in :mod:`bridge.discovery`."""

from bridge.discovery import Topology, Workload, discover_cluster, render, scan

discover = scan

__all__ = ["Topology", "Workload", "discover", "discover_cluster", "render", "scan"]
