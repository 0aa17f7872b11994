"""The RocketMQ canary's bookkeeping: from sends and receipts to probe rows (no clock, no client).

The canary produces one message per scheduled slot on a topic and tag of its own choosing and
consumes them with a consumer group of its own, never the application's. Each message yields
two rows of ``probe.csv``:

- ``<name>_send``: ``t`` the intended send time, ``sent`` the actual one, ``latency_ms`` the send
  call's latency (empty when it failed), ``ok`` whether the broker took it;
- ``<name>_delivery``: the same ``t`` and ``sent``; ``latency_ms`` the end-to-end delay from the
  send's start until the canary's consumer received it; ``ok`` when it came within the bound.
  A message not received within the bound is a failure ("not delivered within 5s"); a failed
  send's delivery is a failure with ``sent`` empty (as ``cart_visible`` after a failed add).

Bodies carry the canary's run id and a sequence number, so a message left over from an earlier
run (same group, same tag) is acknowledged and ignored, never counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bridge.probes.rows import ProbeRow

MODE = "rocketmq"


@dataclass(frozen=True)
class Pending:
    """A message the broker accepted, waiting for the canary's consumer."""

    t: float
    sent: float


def body_of(run_id: str, seq: int, sent: float) -> bytes:
    return json.dumps({"mqdrill_canary": run_id, "seq": seq, "sent": sent}, separators=(",", ":")).encode()


def parse_body(raw: bytes) -> tuple[str, int] | None:
    """(run id, sequence number) of a canary body; None for anything else."""
    try:
        data = json.loads(raw)
        run_id, seq = data["mqdrill_canary"], data["seq"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(run_id, str) or not isinstance(seq, int) or isinstance(seq, bool):
        return None
    return run_id, seq


@dataclass
class CanaryLedger:
    """Which messages are out and what rows they produced; used from one thread (the probe's loop).

    A message can be received before its send call has returned (the consumer is fast, the
    producer's answer slow): it is kept as *early* and completed when the send returns.
    """

    run_id: str
    bound_s: float
    name: str = "canary"
    pending: dict[int, Pending] = field(default_factory=dict)
    early: dict[int, float] = field(default_factory=dict)  # seq -> when it was received
    done: set[int] = field(default_factory=set)
    foreign: int = 0  # messages received that were not ours (earlier runs, other writers)
    duplicates: int = 0  # ours, received again (a lost ack): counted once

    @property
    def send_op(self) -> str:
        return f"{self.name}_send"

    @property
    def delivery_op(self) -> str:
        return f"{self.name}_delivery"

    def sent(self, seq: int, t: float, sent: float, latency_ms: float) -> list[ProbeRow]:
        rows = [ProbeRow(t, sent, latency_ms, True, self.send_op, MODE)]
        self.pending[seq] = Pending(t, sent)
        if seq in self.early:
            rows += self._delivered(seq, self.early.pop(seq))
        return rows

    def send_failed(self, seq: int, t: float, sent: float | None, error: str) -> list[ProbeRow]:
        self.early.pop(seq, None)  # a send that timed out may still have reached the broker: not counted
        self.done.add(seq)
        return [
            ProbeRow(t, sent, None, False, self.send_op, MODE, None, error),
            ProbeRow(t, None, None, False, self.delivery_op, MODE, None, f"send failed: {error}"),
        ]

    def received(self, raw: bytes, now: float) -> list[ProbeRow]:
        """Rows for one received message (none if it is not ours, was counted, or is early)."""
        parsed = parse_body(raw)
        if parsed is None or parsed[0] != self.run_id:
            self.foreign += 1
            return []
        seq = parsed[1]
        if seq in self.pending:
            return self._delivered(seq, now)
        if seq in self.done or seq in self.early:
            self.duplicates += 1
        else:
            self.early[seq] = now
        return []

    def _delivered(self, seq: int, now: float) -> list[ProbeRow]:
        item = self.pending.pop(seq)
        self.done.add(seq)
        delay_ms = max(0.0, (now - item.sent) * 1000.0)
        ok = delay_ms <= self.bound_s * 1000.0
        error = "" if ok else f"delivered after {delay_ms / 1000:.3f}s > {self.bound_s:g}s"
        return [ProbeRow(item.t, item.sent, delay_ms, ok, self.delivery_op, MODE, None, error)]

    def give_up(self, seq: int) -> list[ProbeRow]:
        """The failure row of a message still missing when its bound has passed (else nothing)."""
        item = self.pending.pop(seq, None)
        if item is None:
            return []
        self.done.add(seq)
        why = f"not delivered within {self.bound_s:g}s"
        return [ProbeRow(item.t, item.sent, None, False, self.delivery_op, MODE, None, why)]

    def expire(self, now: float) -> list[ProbeRow]:
        """Failure rows for every message still missing a bound after its send."""
        late = sorted(seq for seq, p in self.pending.items() if now - p.sent > self.bound_s)
        return [row for seq in late for row in self.give_up(seq)]
