"""Live status: 1,000 websocket subscribers of `dossierStatusChanged` spread over two app
processes, while officers move dossiers through their workflow with the real GraphQL mutations
sent alternately to either process. Figures: commit-to-delivery latency p50/p95/p99/max and lost
events. Targets: p99 ≤ 50 ms, 0 lost.

Method. Two app processes (`start_app` twice, two ports) on the data set's PostgreSQL. Subscribers
(graphql-transport-ws, anonymous, by the public code and the receipt's secret) come from two
client processes (asyncio + uvloop, the `websockets` client); subscriber k watches dossier
⌊k / 2⌋ mod D on process k mod 2: 500 on each, every dossier watched from both. D dossiers
in progress at their second step (a specialist assigned; D = 200, fewer if the data set has
fewer) are moved by a mutator process at 40 changes/s: `dossierForward` to the leader (the
specialist's token), then `dossierSendBack` (the leader's token), two full cycles per dossier,
sent to a third app process that serves no subscriber — so that the two subscribers' processes
spend their CPU on live updates alone (every change reaches them through PostgreSQL NOTIFY), and
their CPU per change is the live updates' cost (target ≤ 5 ms, issue 13), the writer's the act's. These change the dossier's current step (its status stays
IN_PROGRESS): repeatable acts on the same dossiers, and the subscription sends every committed
change of the dossier alike (same announcement, same re-read), so it is the same path.

Timestamps are `time.monotonic()` (CLOCK_MONOTONIC: one clock for every process on the machine).
"Commit" is the moment a plain asyncpg connection LISTENing on the app's channel, in the driver
process, receives the change's notification: PostgreSQL sends it right after the commit, so this
is commit + the raw LISTEN latency (the baseline below, under a millisecond at the median),
and the figure flatters us by that much. Bounds are printed too: from the mutation's answer
(after the commit: a lower bound, can be negative when a subscriber is faster than the answer)
and from the mutation's send (before the commit: an upper bound, it includes the mutation's own
work). Each delivery is matched to its change by (subscriber, dossier version); lost = expected
(changes × that dossier's subscribers) − matched, after a grace period; duplicates counted too.
Baseline in the same run: raw asyncpg NOTIFY (autocommit `SELECT pg_notify`) on one connection
→ another connection LISTENing, at the same rate, timed from before the statement is sent.

CPU: the apps' CPU over the window (from /proc), how long their event loops were runnable but
waited for a core (/proc/PID/schedstat), and where the machine's CPU went (apps, PostgreSQL,
clients, the mutator, everything else on the machine): on a shared 2-core machine the latency
tail follows the load others put on it, and this says how much there was.

The data set is put back afterwards (dossiers, their steps and facts restored from a copy taken
before, the trail lines and notifications the run added taken out).

The pieces, by job: bench/livestatus_data.py (the dossiers chosen, the data set put back),
bench/livestatus_clients.py (the subscriber and mutator processes), bench/livestatus_figures.py
(the counting); this module runs them and reports.

Run: `python -m bench.livestatus` (loads the data set into var/bench on first use; any size
will do: BENCH_DATA_DIR and BENCH_DOSSIERS choose another; BENCH_SUBSCRIBERS fewer subscribers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import queue
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg

from bench.livestatus_clients import APPS, CLIENTS, RATE, now, run_mutator, run_subscribers
from bench.livestatus_data import prepare, restore
from bench.livestatus_figures import count, pct
from bench.servers import TICKS, Server, cpu_seconds, dataset, start_app

GRACE = 3.0  # seconds after the last answer before counting
CHANNEL = "dvc_events"
BASELINE_CHANNEL = "dvc_bench_live_baseline"


def run_queue_wait(pid: int) -> float:
    """Seconds a process's main thread (the event loop) has spent runnable but waiting for a CPU."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children, live or ended (PostgreSQL: postmaster + backends)."""
    total = cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                total += cpu_seconds(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS


# --- the driver: commit times, the baseline, the run and its report ------------------------------


async def _observe(dsn: str, mutator: Any, mutator_done: Any) -> dict[str, Any]:
    """LISTEN on the app's channel (when each change was committed), and meanwhile the baseline:
    NOTIFY on one plain connection, LISTEN on another, at the benchmark's rate."""
    commits: dict[str, list[float]] = defaultdict(list)

    def on_event(_c: object, _pid: int, _channel: str, payload: object) -> None:
        at = now()
        event = json.loads(str(payload))
        if event.get("topic") == "dossier":
            commits[event["key"]].append(at)

    baseline: list[float] = []

    def on_baseline(_c: object, _pid: int, _channel: str, payload: object) -> None:
        baseline.append(now() - float(str(payload)))

    listener = await asyncpg.connect(dsn)
    base_listener = await asyncpg.connect(dsn)
    notifier = await asyncpg.connect(dsn)
    await listener.add_listener(CHANNEL, on_event)
    await base_listener.add_listener(BASELINE_CHANNEL, on_baseline)
    sent = 0
    start = now()
    while True:
        with contextlib.suppress(queue.Empty):
            mutated = mutator_done.get_nowait()
            break
        if not mutator.is_alive() and mutator_done.empty():
            raise RuntimeError(f"the mutator process ended without its figures ({mutator.exitcode})")
        await asyncio.sleep(max(0.0, start + sent / RATE - now()))
        await notifier.execute(f"SELECT pg_notify('{BASELINE_CHANNEL}', '{now()!r}')")
        sent += 1
    await asyncio.sleep(GRACE)
    for conn in (listener, base_listener, notifier):
        await conn.close()
    return {
        "commits": commits,
        "baseline": baseline,
        "baseline_sent": sent,
        "changes": mutated["changes"],
        "mutator_cpu": mutated["cpu"],
    }


def measure(pg: Any, logs: Path) -> dict[str, Any]:
    dossiers = asyncio.run(prepare(pg.dsn))
    context = multiprocessing.get_context("spawn")
    apps: list[Server] = []  # the subscribers' processes, then the writer
    processes: list[Any] = []
    try:
        for n in range(APPS):  # a log folder each: both write app.log
            (logs / f"app{n}").mkdir(exist_ok=True)
            apps.append(start_app(pg.database_url, logs / f"app{n}"))
        ports = [a.port for a in apps]
        # The acts are committed by a third process that serves no subscriber: the two apps'
        # CPU is then the live updates' alone (the announcement, the re-reads, the sends).
        (logs / "writer").mkdir(exist_ok=True)
        writer = start_app(pg.database_url, logs / "writer")
        apps_and_writer = [*apps, writer]
        apps.append(writer)  # stopped with them
        ready, stop, out, done = context.Queue(), context.Event(), context.Queue(), context.Queue()
        clients = [
            context.Process(target=run_subscribers, args=(part, ports, dossiers, (ready, stop, out)))
            for part in range(CLIENTS)
        ]
        processes += clients
        for c in clients:
            c.start()
        opening = now()
        subscribed = sum(ready.get(timeout=600)[1] for _ in clients)
        opened_in = now() - opening
        time.sleep(1.0)
        cpu_before = [a.cpu() for a in apps_and_writer]
        wait_before = [run_queue_wait(a.process.pid) for a in apps]

        def others_now() -> list[float]:
            in_clients = sum((cpu_seconds(c.pid) for c in clients if c.pid is not None), 0.0)
            return [tree_cpu(pg.pid), in_clients, machine_busy()]

        others_before = others_now()
        mutator = context.Process(target=run_mutator, args=([writer.port], dossiers, done))
        processes.append(mutator)
        window = now()
        mutator.start()
        observed = asyncio.run(_observe(pg.dsn, mutator, done))
        window = now() - window
        cpu_all = [a.cpu() - b for a, b in zip(apps_and_writer, cpu_before, strict=True)]
        cpu, writer_cpu = cpu_all[:-1], cpu_all[-1]
        waited = [run_queue_wait(a.process.pid) - b for a, b in zip(apps, wait_before, strict=True)]
        others = [after - before for after, before in zip(others_now(), others_before, strict=True)]
        stop.set()
        results = [out.get(timeout=120) for _ in clients]
        for process in processes:
            process.join(timeout=30)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
        for app in apps:
            app.stop()
        asyncio.run(restore(pg.dsn))
    return count(
        dossiers, observed, results,
        subscribed=subscribed, opened_in=opened_in, cpu=cpu, waited=waited, others=others, window=window,
    ) | {"writer_cpu": writer_cpu}  # fmt: skip


def _row(name: str, values: list[float]) -> str:
    return (
        f"{name:44s} {pct(values, 0.50):8.2f} {pct(values, 0.95):8.2f} {pct(values, 0.99):8.2f}"
        f" {max(values) if values else float('nan'):8.2f}"
    )


def report(r: dict[str, Any]) -> None:
    print(
        f"\nLive status: {r['subscribers']:,} websocket subscribers ({r['wanted']:,} wanted) over {APPS} app"
        f" processes ({' + '.join(map(str, r['per_app']))}), {r['dossiers']} dossiers (each watched from both"
        f" processes), {CLIENTS} client processes"
    )
    print(f"subscribers opened in {r['opened_in']:.1f} s")
    print(
        f"changes committed: {r['changes']} ({r['failed']} failed) at {r['rate']:.1f}/s, by a third app process"
        " that serves no subscriber (every change reaches both through PostgreSQL NOTIFY)"
    )
    if r["first_failure"]:
        print(f"  first failure: {r['first_failure']}")
    print(
        f"deliveries expected {r['expected']:,}, received {r['received']:,}, lost {r['lost']:,}"
        f" (of which superseded by a later version: {r['superseded']}), duplicates {r['duplicates']},"
        f" unexpected {r['unexpected']}"
    )
    if r["no_commit"]:
        print(f"  changes whose notification the raw listener did not see: {r['no_commit']}")
    if r["errors"]:
        print(f"  subscriber errors: {len(r['errors'])}; first: {r['errors'][0]}")
    print(f"{'latency, ms':44s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'max':>8s}")
    print(_row("commit (raw LISTEN sees it) → subscriber", r["from_commit"]))
    print(_row("  bound: mutation answered → subscriber", r["from_answer"]))
    print(_row("  bound: mutation sent → subscriber", r["from_send"]))
    print(_row("mutation sent → answered", r["mutation"]))
    print(_row(f"baseline: raw NOTIFY → LISTEN ({len(r['baseline'])}/{r['baseline_sent']})", r["baseline"]))
    total = sum(r["cpu"])
    shares = ", ".join(f"{c / r['window'] * 100:.0f}%" for c in r["cpu"])
    per_change = total * 1000 / r["changes"] if r["changes"] else float("nan")
    writes = r["writer_cpu"] * 1000 / r["changes"] if r["changes"] else float("nan")
    print(
        f"subscribers' app CPU over the {r['window']:.1f} s window: {total:.1f} s ({shares} of a core per"
        f" process), {per_change:.2f} ms per change, both processes together (target ≤ 5 ms:"
        f" {'met' if per_change <= 5 else 'NOT met'}); the writer's: {writes:.1f} ms per change (the act itself)"
    )
    waits = ", ".join(f"{w:.1f} s" for w in r["waited"])
    print(f"app event loops runnable but waiting for a CPU (machine busy) over the window: {waits}")
    postgres, clients, machine = r["others"]
    rest = machine - total - r["writer_cpu"] - postgres - clients - r["mutator_cpu"]
    print(
        f"machine CPU over the window: {machine:.1f} s of {r['window'] * (os.cpu_count() or 1):.1f} s"
        f" ({os.cpu_count()} cores): apps {total:.1f} s, writer {r['writer_cpu']:.1f} s, PostgreSQL {postgres:.1f} s, subscriber clients"
        f" {clients:.1f} s, mutator {r['mutator_cpu']:.1f} s, everything else on the machine {rest:.1f} s"
    )
    p99 = pct(r["from_commit"], 0.99)
    met = p99 <= 50 and r["lost"] == 0 and r["subscribers"] == r["wanted"] and not r["failed"]
    print(
        f"target p99 ≤ 50 ms and 0 lost: {'met' if met else 'NOT met'} (p99 {p99:.1f} ms, {r['lost']} lost;"
        f" mean {statistics.fmean(r['from_commit']) if r['from_commit'] else float('nan'):.1f} ms)"
    )


def main() -> None:
    with dataset() as pg, tempfile.TemporaryDirectory(prefix="dvc-bench-livestatus-") as logs:
        report(measure(pg, Path(logs)))


if __name__ == "__main__":
    main()
