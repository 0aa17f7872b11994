"""How accurately the open-loop probe kinds keep their schedule, beside an httpx.AsyncClient generator.

Usage: .venv/bin/python bench/probe_bench.py [--duration 10] [--rates 100,500,1000] [--repeat 3]
       [--clients mqdrill-aiohttp,mqdrill-http,mqdrill-eventually,httpx]

A trivial aiohttp server runs in a separate process. For each rate, two generators run in turn
for ``--duration`` seconds, each in its own thread with its own event loop (as the probe runs
inside ``mqdrill run``), ``--repeat`` times:

- ``mqdrill-aiohttp``: the real probe (:class:`bridge.probes.ProbeRunner`), ``add_to_cart`` only,
  rows written to a ``probe.csv`` and measured from it;
- ``mqdrill-http``: an ``http`` kind declared as a user would (JSON body with templated
  ``{run_id}``/``{seq}``/``{uuid}``, a JSON-path success criterion, a capture of the server's id);
- ``mqdrill-eventually``: the same plus an ``eventually`` follow-up polling ``GET /orders/{id}``
  with the captured id (the row judged is the follow-up's: ok when the check held in time);
- ``httpx``: the same open-loop schedule (flow k due at t0 + k/rate, catch-up on late wake-ups,
  one task per request) with an ``httpx.AsyncClient`` without connection limits.

Beside every run, a *canary* process keeps the same schedule with no I/O at all: its lateness is
the floor the machine itself imposes during that very run (other processes, CPU scheduling).

Figures: achieved rate (requests answered OK within the 2 s timeout, per second of schedule,
and as % of the target), send lateness (actual minus intended send time) p50/p99/max, the share
of sends more than 5 ms late, and the CPU used by the generator's process and the server (% of
one core). Goals from issue 4: at 1,000 req/s, ≥ 99.5 % of the rate and p99 lateness ≤ 5 ms.
Writes bench/results/probe.json and prints a table (the median run of each client and rate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bridge.env import procs
from bridge.probes.config import ProbeConfig
from bridge.probes.probeset import ProbeSet
from bridge.probes.rows import read_rows
from bridge.probes.runner import ProbeRunner
from bridge.spec.models import SteadyState

PRODUCT = "BENCH-1"
TIMEOUT_S = 2.0
RESULTS = Path(__file__).parent / "results" / "probe.json"
Row = tuple[float, float | None, float | None, bool, str]  # t, sent, latency ms, ok, error


# --- processes beside the generator: the server and the canary -------------------------------


def serve(port_out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from aiohttp import web

    async def add(request: web.Request) -> web.Response:
        try:
            await request.post()
        except ConnectionResetError:  # a generator gave up on this request (timeout): not the server's fault
            return web.Response(status=499)
        return web.Response(text="ok")

    ids = iter(range(10**9))

    async def place(request: web.Request) -> web.Response:
        try:
            await request.read()
        except ConnectionResetError:
            return web.Response(status=499)
        return web.json_response({"id": f"o{next(ids)}", "state": "PENDING"}, status=201)

    async def order(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["oid"], "state": "CONFIRMED"})

    async def main() -> None:
        app = web.Application()
        app.add_routes([web.post("/cart", add), web.post("/orders", place), web.get("/orders/{oid}", order)])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        assert site._server is not None
        port_out.put(site._server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


def canary(rate: float, duration: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    lateness: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        mono0 = loop.time()
        k = 0
        while loop.time() < mono0 + duration:
            while mono0 + k / rate <= loop.time():
                lateness.append((loop.time() - (mono0 + k / rate)) * 1000)
                k += 1
            await asyncio.sleep(max(0.0, mono0 + k / rate - loop.time()))

    asyncio.run(main())
    out.put(lateness)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    cpu = procs.cpu_seconds(pid)
    assert cpu is not None, f"process {pid} is gone"
    return cpu


def own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


# --- the two generators -----------------------------------------------------------------------


def run_probe(url: str, rate: float, duration: float) -> list[Row]:
    cfg = ProbeConfig(url, rate, TIMEOUT_S, ("add_to_cart",), "http", 5.0, run_id="bench", product_id=PRODUCT)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "probe.csv"
        runner = ProbeRunner(cfg, csv)
        runner.start()
        time.sleep(duration)
        runner.stop()
        return [
            (
                float(r["t"]),
                float(r["sent"]) if r["sent"] else None,
                float(r["latency_ms"]) if r["latency_ms"] else None,
                r["ok"] == "1",
                r["error"],
            )
            for r in read_rows(csv)
        ]


def kind_probes(url: str, rate: float, *, follow: bool) -> ProbeSet:
    """The ``http`` (and ``eventually``) declarations a user would write for the orders route."""
    http = {
        "kind": "http",
        "name": "bench",
        "base_url": url,
        "rate": rate,
        "timeout": TIMEOUT_S,
        "operations": [
            {
                "name": "place_order",
                "method": "POST",
                "url": "/orders",
                "json": {"sku": "A1", "ref": "bench-{run_id}-{seq}", "key": "{uuid}"},
                "expect": {"status": [201], "json_path": "$.id"},
                "capture": {"order_id": {"json_path": "$.id"}},
            }
        ],
    }
    check = {
        "kind": "eventually",
        "name": "order_confirmed",
        "after": "place_order",
        "within": 5.0,
        "check": {"url": "/orders/{order_id}", "expect": {"json_path": "$.state", "equals": "CONFIRMED"}},
    }
    steady = SteadyState.model_validate({"probes": [http, check] if follow else [http]})
    return ProbeSet(tuple(steady.probes), run_id="bench", channel="http")


def run_kind(url: str, rate: float, duration: float, *, follow: bool) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "probe.csv"
        runner = ProbeRunner(kind_probes(url, rate, follow=follow), csv)
        runner.start()
        time.sleep(duration)
        runner.stop()
        rows = read_rows(csv)
    placed = {r["t"]: r for r in rows if r["op"] == "place_order"}
    judged = [r for r in rows if r["op"] == ("order_confirmed" if follow else "place_order")]
    return [
        (
            float(r["t"]),
            float(placed[r["t"]]["sent"]) if placed.get(r["t"], {}).get("sent") else None,  # the flow's send
            float(r["latency_ms"]) if r["latency_ms"] else None,
            r["ok"] == "1",
            r["error"],
        )
        for r in judged
    ]


def run_http_kind(url: str, rate: float, duration: float) -> list[Row]:
    return run_kind(url, rate, duration, follow=False)


def run_eventually_kind(url: str, rate: float, duration: float) -> list[Row]:
    return run_kind(url, rate, duration, follow=True)


def run_httpx(url: str, rate: float, duration: float) -> list[Row]:
    rows: list[Row] = []

    async def flow(client: httpx.AsyncClient, k: int, t: float, wall0: float, mono0: float) -> None:
        sent = wall0 + (asyncio.get_running_loop().time() - mono0)
        start = time.perf_counter()
        form = {"user_id": f"bench-{k}", "product_id": PRODUCT, "quantity": "1", "channel": "http"}
        try:
            resp = await client.post(f"{url}/cart", data=form, timeout=TIMEOUT_S)
            latency = (time.perf_counter() - start) * 1000
            rows.append((t, sent, latency, 200 <= resp.status_code < 400, "" if resp.is_success else "http"))
        except (httpx.HTTPError, OSError) as exc:
            rows.append((t, sent, None, False, type(exc).__name__))

    async def main() -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(limits=limits) as client:
            loop = asyncio.get_running_loop()
            mono0, wall0 = loop.time(), time.time()
            tasks: set[asyncio.Task[None]] = set()
            k = 0
            while loop.time() < mono0 + duration:
                while mono0 + k / rate <= loop.time():
                    task = asyncio.create_task(flow(client, k, wall0 + k / rate, wall0, mono0))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    k += 1
                await asyncio.sleep(max(0.0, mono0 + k / rate - loop.time()))
            if tasks:  # like the probe's drain: in-flight requests get their timeout, then count as failed
                _, pending = await asyncio.wait(set(tasks), timeout=TIMEOUT_S + 1)
                for task in pending:
                    task.cancel()
            seen = {row[0] for row in rows}
            rows.extend(
                (wall0 + i / rate, None, None, False, "unfinished") for i in range(k) if wall0 + i / rate not in seen
            )

    thread = threading.Thread(target=lambda: asyncio.run(main()))
    thread.start()
    thread.join()
    return rows


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Result:
    client: str
    rate: float
    run: int
    scheduled: int
    ok: int
    achieved_rate: float
    achieved_pct: float
    lateness_p50_ms: float | None
    lateness_p99_ms: float | None
    lateness_max_ms: float | None
    late_over_5ms_pct: float
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    client_cpu_pct: float
    server_cpu_pct: float
    canary_lateness_p99_ms: float | None
    canary_lateness_max_ms: float | None
    errors: dict[str, int]


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def measure(
    client: str,
    generator: Callable[[str, float, float], list[Row]],
    url: str,
    rate: float,
    duration: float,
    run: int,
    server_pid: int,
) -> Result:
    ctx = multiprocessing.get_context("spawn")
    canary_out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    bird = ctx.Process(target=canary, args=(rate, duration, canary_out), daemon=True)
    bird.start()
    cpu0, srv0, wall0 = own_cpu_s(), process_cpu_s(server_pid), time.monotonic()
    rows = sorted(generator(url, rate, duration), key=lambda r: r[0])
    wall = time.monotonic() - wall0
    client_cpu, server_cpu = own_cpu_s() - cpu0, process_cpu_s(server_pid) - srv0
    floor: list[float] = canary_out.get(timeout=duration + 30)
    bird.join(5)

    window = [r for r in rows if r[0] < rows[0][0] + duration] if rows else []
    ok = sum(1 for r in window if r[3])
    lateness = [(r[1] - r[0]) * 1000 for r in window if r[1] is not None]
    latency = [r[2] for r in window if r[2] is not None]
    errors: dict[str, int] = {}
    for r in window:
        if not r[3]:
            errors[r[4] or "?"] = errors.get(r[4] or "?", 0) + 1
    return Result(
        client=client,
        rate=rate,
        run=run,
        scheduled=len(window),
        ok=ok,
        achieved_rate=round(ok / duration, 1),
        achieved_pct=round(100 * ok / (rate * duration), 2),
        lateness_p50_ms=_r(quantile(lateness, 0.50)),
        lateness_p99_ms=_r(quantile(lateness, 0.99)),
        lateness_max_ms=_r(max(lateness, default=None)),
        late_over_5ms_pct=round(100 * sum(1 for x in lateness if x > 5) / max(1, len(lateness)), 2),
        latency_p50_ms=_r(quantile(latency, 0.50)),
        latency_p99_ms=_r(quantile(latency, 0.99)),
        client_cpu_pct=round(100 * client_cpu / wall, 1),
        server_cpu_pct=round(100 * server_cpu / wall, 1),
        canary_lateness_p99_ms=_r(quantile(floor, 0.99)),
        canary_lateness_max_ms=_r(max(floor, default=None)),
        errors=errors,
    )


def median_run(results: list[Result]) -> Result:
    """The run with the median p99 lateness (ties: the worse achieved rate)."""
    ordered = sorted(results, key=lambda r: (r.lateness_p99_ms or math.inf, -r.achieved_pct))
    return ordered[(len(ordered) - 1) // 2]


def table(results: list[Result]) -> str:
    head = (
        f"{'client':<16} {'rate':>5} {'ok/s':>7} {'%':>7} {'late p50':>8} {'p99':>7} {'max':>7} {'>5ms %':>7}"
        f" {'canary p99':>10} {'lat p99':>8} {'cpu%':>5} {'srv%':>5}  errors"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.client:<16} {r.rate:>5.0f} {r.achieved_rate:>7.1f} {r.achieved_pct:>7.2f} "
            f"{_ms(r.lateness_p50_ms):>8} {_ms(r.lateness_p99_ms):>7} {_ms(r.lateness_max_ms):>7} "
            f"{r.late_over_5ms_pct:>7.2f} {_ms(r.canary_lateness_p99_ms):>10} {_ms(r.latency_p99_ms):>8} "
            f"{r.client_cpu_pct:>5.1f} {r.server_cpu_pct:>5.1f}  "
            f"{', '.join(f'{k}: {v}' for k, v in sorted(r.errors.items())) or '-'}"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description="Open-loop probe accuracy beside an httpx generator")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rates", default="100,500,1000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--clients", default="mqdrill-aiohttp,mqdrill-http,mqdrill-eventually,httpx")
    args = parser.parse_args()
    rates = [float(x) for x in args.rates.split(",")]
    known = {
        "mqdrill-aiohttp": run_probe,
        "mqdrill-http": run_http_kind,
        "mqdrill-eventually": run_eventually_kind,
        "httpx": run_httpx,
    }
    generators = {name: known[name] for name in args.clients.split(",")}

    load_before = os.getloadavg()  # other work on the machine shows as lateness in every run, the canary's too
    ctx = multiprocessing.get_context("spawn")
    port_q: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    server = ctx.Process(target=serve, args=(port_q,), daemon=True)
    server.start()
    results: list[Result] = []
    try:
        url = f"http://127.0.0.1:{port_q.get(timeout=30)}"
        assert server.pid is not None
        for rate in rates:
            for run in range(args.repeat):
                for client, generator in generators.items():
                    time.sleep(1.0)  # let the previous run's sockets settle
                    r = measure(client, generator, url, rate, args.duration, run, server.pid)
                    results.append(r)
                    print(
                        f"  {client} {rate:.0f}/s #{run}: {r.achieved_pct:.2f} %, p99 lateness "
                        f"{_ms(r.lateness_p99_ms)} ms (canary {_ms(r.canary_lateness_p99_ms)} ms)",
                        file=sys.stderr,
                    )
    finally:
        server.terminate()
        server.join(5)

    medians = [median_run([r for r in results if (r.client, r.rate) == key]) for key in _keys(results)]
    probe_1000 = [r for r in results if r.client.startswith("mqdrill-") and r.rate == 1000]
    met = [r.achieved_pct >= 99.5 and (r.lateness_p99_ms or math.inf) <= 5.0 for r in probe_1000]
    report = {
        "bench": "probe",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "duration_s": args.duration,
        "repeat": args.repeat,
        "timeout_s": TIMEOUT_S,
        "goals": {"rate": 1000, "achieved_pct_min": 99.5, "lateness_p99_ms_max": 5.0},
        "goals_met_runs": f"{sum(met)}/{len(met)}",
        "median_runs": [asdict(r) for r in medians],
        "runs": [asdict(r) for r in results],
        "median_client_cpu_pct": statistics.median(r.client_cpu_pct for r in results) if results else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(medians))
    print(
        f"load average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
        f"goals at 1,000 req/s (>= 99.5 %, p99 lateness <= 5 ms) met in {report['goals_met_runs']} probe runs"
    )
    print(f"written: {args.out}")
    return 0


def _keys(results: list[Result]) -> list[tuple[str, float]]:
    return list(dict.fromkeys((r.client, r.rate) for r in results))


if __name__ == "__main__":
    sys.exit(main())
