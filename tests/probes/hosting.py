"""Run declared probes in the real :class:`bridge.probes.host.ProbeHost` for a while, in a test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from bridge.probes.host import ProbeHost, RowSink
from bridge.probes.stats import LiveStats


def run_probes(
    declarations: Sequence[Any],
    sink: RowSink,
    *,
    seconds: float,
    before: Callable[[list[Any]], None] | None = None,
) -> str | None:
    """Probe for ``seconds``, stop, drain; the start error (a probe that could not start) or None.

    ``before`` may swap a driver's outside boundary for a fake (e.g. the canary's RocketMQ client).
    """
    host = ProbeHost(declarations, run_id="test-run", channel="rocketmq", stats=LiveStats(), sink=sink)
    if before is not None:
        before(list(host.drivers))
    errors: list[str] = []

    async def main() -> None:
        task = asyncio.create_task(host.run(on_ready=lambda _found, error: errors.append(error or "")))
        while not errors and not task.done():
            await asyncio.sleep(0.01)
        if not (errors and errors[0]):
            await asyncio.sleep(seconds)
        host.request_stop()
        await task

    asyncio.run(main())
    return errors[0] if errors and errors[0] else None
