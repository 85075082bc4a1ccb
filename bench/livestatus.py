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
specialist's token), then `dossierSendBack` (the leader's token), change i sent to process
i mod 2, two full cycles per dossier. These change the dossier's current step (its status stays
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

Run: `python -m bench.livestatus` (loads the data set into var/bench on first use; any size
will do: BENCH_DATA_DIR and BENCH_DOSSIERS choose another).
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
import uuid
from collections import defaultdict
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import asyncpg

from bench.inbox import token_for
from bench.loadgen import _read_response, build
from bench.servers import TICKS, Server, cpu_seconds, dataset, start_app

SUBSCRIBERS = 1_000
DOSSIERS = 200
APPS = 2
CLIENTS = 2
RATE = 40.0  # changes per second, all processes together
CYCLES = 2  # forward + send back, per dossier: the dossier ends where it began
GRACE = 3.0  # seconds after the last answer before counting
CONNECT_AT_ONCE = 50  # subscribers opening at the same time, per client process
HTTP_CONNECTIONS = 8  # the mutator's keep-alive connections per app process
CHANNEL = "dvc_events"
BASELINE_CHANNEL = "dvc_bench_live_baseline"

SUBSCRIPTION = (
    "subscription($code: String!, $secret: String!) { dossierStatusChanged(code: $code, secret: $secret)"
    " { code status currentStep version } }"
)
FORWARD = """mutation($id: ID!, $to: ID!) { r: dossierForward(id: $id, assigneeId: $to) {
  __typename ... on DossierChanged { dossier { version currentStep } } ... on UserError { code message } } }"""
SEND_BACK = """mutation($id: ID!) { r: dossierSendBack(id: $id, comment: "Bổ sung thẩm định") {
  __typename ... on DossierChanged { dossier { version currentStep } } ... on UserError { code message } } }"""

CANDIDATES = """
SELECT d.id, d.code, d.lookup_secret, d.version, s.assignee_id AS specialist,
       (SELECT a.account_id FROM staff_assignments a JOIN accounts x ON x.id = a.account_id
         WHERE a.agency_id = t.agency_id AND a.role = 'LEADER' AND x.status = 'ACTIVE'
         ORDER BY a.account_id LIMIT 1) AS leader
FROM dossiers d
JOIN dossier_steps s ON s.dossier_id = d.id AND s.position = 2
JOIN dossier_steps t ON t.dossier_id = d.id AND t.position = 3
WHERE d.status = 'IN_PROGRESS' AND d.current_step = 2 AND d.code IS NOT NULL AND d.paused_at IS NULL
  AND s.assignee_id IS NOT NULL AND s.role = 'SPECIALIST' AND t.role = 'LEADER'
ORDER BY d.id
"""
# What the run changes, by dossier: copied before, put back after.
RESTORED = ("dossiers", "dossier_steps", "dossier_facts", "event_deliveries")


def _now() -> float:
    return time.monotonic()


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    import uvloop

    return uvloop.run(coro)


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


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- preparing and restoring the data set -------------------------------------------------------


async def _prepare(dsn: str) -> list[dict[str, Any]]:
    await _restore(dsn)  # a run that was interrupted leaves its copy behind
    conn = await asyncpg.connect(dsn)
    try:
        rows = [dict(r) for r in await conn.fetch(CANDIDATES) if r["leader"] is not None][:DOSSIERS]
        assert rows, "no dossier in progress at its second step in the data set"
        ids = [r["id"] for r in rows]
        for table in RESTORED:
            key = "id" if table == "dossiers" else "dossier_id"
            await conn.execute(f"DROP TABLE IF EXISTS bench_live_{table}")
            await conn.execute(
                f"CREATE UNLOGGED TABLE bench_live_{table} AS SELECT * FROM {table} WHERE {key} = ANY($1)",
                ids,
            )
        marks = {
            "events": await conn.fetchval("SELECT coalesce(max(seq), 0) FROM dossier_events"),
            "notifications": await conn.fetchval("SELECT coalesce(max(seq), 0) FROM notification_outbox"),
        }
        await conn.execute("DROP TABLE IF EXISTS bench_live_marks")
        await conn.execute("CREATE UNLOGGED TABLE bench_live_marks (events bigint, notifications bigint)")
        await conn.execute(
            "INSERT INTO bench_live_marks VALUES ($1, $2)", marks["events"], marks["notifications"]
        )
    finally:
        await conn.close()
    return [
        {
            "id": str(r["id"]),
            "code": r["code"],
            "secret": r["lookup_secret"],
            "version": r["version"],
            "specialist": str(r["specialist"]),
            "leader": str(r["leader"]),
        }
        for r in rows
    ]


async def _restore(dsn: str) -> None:
    """Put the dossiers back as they were (the trail refuses DELETE, hence the replica role for this
    session only; foreign keys are not checked either, rows are put back as they were)."""
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT to_regclass('bench_live_marks') IS NOT NULL"):
            return
        await conn.execute("SET session_replication_role = replica")
        async with conn.transaction():
            marks = await conn.fetchrow("SELECT events, notifications FROM bench_live_marks")
            assert marks is not None
            events, notifications = marks
            ids = [r["id"] for r in await conn.fetch("SELECT id FROM bench_live_dossiers")]
            await conn.execute(
                "DELETE FROM dossier_events WHERE dossier_id = ANY($1) AND seq > $2", ids, events
            )
            await conn.execute("DELETE FROM notification_outbox WHERE seq > $1", notifications)
            for table in RESTORED:
                key = "id" if table == "dossiers" else "dossier_id"
                await conn.execute(f"DELETE FROM {table} WHERE {key} = ANY($1)", ids)
                await conn.execute(f"INSERT INTO {table} SELECT * FROM bench_live_{table}")
            for table in (*RESTORED, "marks"):
                await conn.execute(f"DROP TABLE bench_live_{table}")
    finally:
        await conn.close()


# --- the subscribers (client processes) ---------------------------------------------------------


def _subscriber_plan(n_dossiers: int) -> list[tuple[int, int]]:
    """(dossier index, app index) of every subscriber: half on each process, and every dossier
    watched from both (subscribers 2j and 2j + 1 watch dossier j mod D, one on each process)."""
    return [((k // APPS) % n_dossiers, k % APPS) for k in range(SUBSCRIBERS)]


def _expect(message: dict[str, Any], kind: str) -> None:
    if message.get("type") != kind or "errors" in (message.get("payload") or {}):
        raise RuntimeError(f"expected {kind}, got {message}")


async def _open(port: int, dossier: dict[str, Any]) -> Any:
    """A websocket subscribed to one dossier, its current state (the first message) read."""
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    ws = await connect(
        f"ws://127.0.0.1:{port}/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
        compression=None,
        open_timeout=60,
        ping_interval=None,
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    _expect(json.loads(await ws.recv()), "connection_ack")
    variables = {"code": dossier["code"], "secret": dossier["secret"]}
    payload = {"query": SUBSCRIPTION, "variables": variables}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    _expect(json.loads(await ws.recv()), "next")
    return ws


async def _subscribe(
    k: int, port: int, dossier: dict[str, Any], *, gate: asyncio.Semaphore, got: list[tuple[int, int, float]],
    errors: list[str], opened: asyncio.Queue[int], stop: asyncio.Event,
) -> None:  # fmt: skip
    registered = False
    try:
        async with gate:
            ws = await _open(port, dossier)
        opened.put_nowait(k)
        registered = True
        async with ws:
            receiving = asyncio.ensure_future(_receive(k, ws, got, errors))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            receiving.cancel()
            stopping.cancel()
    except Exception as error:  # noqa: BLE001 — counted and reported, the others go on
        errors.append(f"subscriber {k}: {error!r}"[:300])
        if not registered:
            opened.put_nowait(-1)


async def _receive(k: int, ws: Any, got: list[tuple[int, int, float]], errors: list[str]) -> None:
    async for raw in ws:
        at = _now()
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "next" and "errors" not in message["payload"]:
            got.append((k, message["payload"]["data"]["dossierStatusChanged"]["version"], at))
        elif kind == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        else:
            errors.append(f"subscriber {k}: {message}"[:300])


def _client(
    part: int, ports: list[int], dossiers: list[dict[str, Any]], queues: tuple[Any, Any, Any]
) -> None:
    ready, stop, out = queues

    async def run() -> dict[str, Any]:
        plan = _subscriber_plan(len(dossiers))
        mine = [k for k in range(SUBSCRIBERS) if k % CLIENTS == part]
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)
        got: list[tuple[int, int, float]] = []
        errors: list[str] = []
        opened: asyncio.Queue[int] = asyncio.Queue()
        stopped = asyncio.Event()
        tasks = [
            asyncio.ensure_future(
                _subscribe(
                    k,
                    ports[plan[k][1]],
                    dossiers[plan[k][0]],
                    gate=gate,
                    got=got,
                    errors=errors,
                    opened=opened,
                    stop=stopped,
                )
            )
            for k in mine
        ]
        ok = 0
        for _ in mine:
            ok += (await opened.get()) >= 0
        ready.put((part, ok))
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        stopped.set()
        await asyncio.gather(*tasks)
        return {"got": got, "errors": errors, "subscribed": ok}

    out.put(_run(run()))


# --- the officers (mutator process) -------------------------------------------------------------


def _mutator(ports: list[int], dossiers: list[dict[str, Any]], out: Any) -> None:
    async def run() -> dict[str, Any]:
        pools: list[asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = []
        for port in ports:
            pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
            for _ in range(HTTP_CONNECTIONS):
                pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
            pools.append(pool)
        tokens = {who: token_for(uuid.UUID(who)) for d in dossiers for who in (d["specialist"], d["leader"])}
        n = len(dossiers)
        total = n * 2 * CYCLES
        changes: list[dict[str, Any]] = []

        async def change(i: int) -> None:
            dossier = dossiers[i % n]
            forward = (i // n) % 2 == 0
            app = i % APPS
            if forward:
                body = {"query": FORWARD, "variables": {"id": dossier["id"], "to": dossier["leader"]}}
                token = tokens[dossier["specialist"]]
            else:
                body = {"query": SEND_BACK, "variables": {"id": dossier["id"]}}
                token = tokens[dossier["leader"]]
            request = build(
                "127.0.0.1", ports[app], "POST", "/graphql", json.dumps(body),
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
            reader, writer = await pools[app].get()
            try:
                sent = _now()
                writer.write(request)
                status, answer = await _read_response(reader)
                answered = _now()
            finally:
                pools[app].put_nowait((reader, writer))
            record: dict[str, Any] = {
                "i": i,
                "dossier": i % n,
                "app": app,
                "sent": sent,
                "answered": answered,
            }
            try:
                result = json.loads(answer)["data"]["r"]
                record["version"] = result["dossier"]["version"]
            except (ValueError, KeyError, TypeError):
                record["error"] = f"{status} {answer[:300]!r}"
            changes.append(record)

        start = _now() + 0.5
        tasks = []
        for i in range(total):
            await asyncio.sleep(max(0.0, start + i / RATE - _now()))
            tasks.append(asyncio.ensure_future(change(i)))
        await asyncio.gather(*tasks)
        for pool in pools:
            while not pool.empty():
                pool.get_nowait()[1].close()
        return {"changes": changes, "cpu": time.process_time()}

    out.put(_run(run()))


# --- the driver: commit times, the baseline, and the counting ------------------------------------


async def _observe(dsn: str, mutator: Any, mutator_done: Any) -> dict[str, Any]:
    """LISTEN on the app's channel (when each change was committed), and meanwhile the baseline:
    NOTIFY on one plain connection, LISTEN on another, at the benchmark's rate."""
    commits: dict[str, list[float]] = defaultdict(list)

    def on_event(_c: object, _pid: int, _channel: str, payload: object) -> None:
        at = _now()
        event = json.loads(str(payload))
        if event.get("topic") == "dossier":
            commits[event["key"]].append(at)

    baseline: list[float] = []

    def on_baseline(_c: object, _pid: int, _channel: str, payload: object) -> None:
        baseline.append(_now() - float(str(payload)))

    listener = await asyncpg.connect(dsn)
    base_listener = await asyncpg.connect(dsn)
    notifier = await asyncpg.connect(dsn)
    await listener.add_listener(CHANNEL, on_event)
    await base_listener.add_listener(BASELINE_CHANNEL, on_baseline)
    sent = 0
    start = _now()
    while True:
        with contextlib.suppress(queue.Empty):
            mutated = mutator_done.get_nowait()
            break
        if not mutator.is_alive() and mutator_done.empty():
            raise RuntimeError(f"the mutator process ended without its figures ({mutator.exitcode})")
        await asyncio.sleep(max(0.0, start + sent / RATE - _now()))
        await notifier.execute(f"SELECT pg_notify('{BASELINE_CHANNEL}', '{_now()!r}')")
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
    dossiers = asyncio.run(_prepare(pg.dsn))
    context = multiprocessing.get_context("spawn")
    apps: list[Server] = []
    processes: list[Any] = []
    try:
        for n in range(APPS):  # a log folder each: both write app.log
            (logs / f"app{n}").mkdir(exist_ok=True)
            apps.append(start_app(pg.database_url, logs / f"app{n}"))
        ports = [a.port for a in apps]
        ready, stop, out, done = context.Queue(), context.Event(), context.Queue(), context.Queue()
        clients = [
            context.Process(target=_client, args=(part, ports, dossiers, (ready, stop, out)))
            for part in range(CLIENTS)
        ]
        processes += clients
        for c in clients:
            c.start()
        opening = _now()
        subscribed = sum(ready.get(timeout=600)[1] for _ in clients)
        opened_in = _now() - opening
        time.sleep(1.0)
        cpu_before = [a.cpu() for a in apps]
        wait_before = [run_queue_wait(a.process.pid) for a in apps]

        def others_now() -> list[float]:
            in_clients = sum((cpu_seconds(c.pid) for c in clients if c.pid is not None), 0.0)
            return [tree_cpu(pg.pid), in_clients, machine_busy()]

        others_before = others_now()
        mutator = context.Process(target=_mutator, args=(ports, dossiers, done))
        processes.append(mutator)
        window = _now()
        mutator.start()
        observed = asyncio.run(_observe(pg.dsn, mutator, done))
        window = _now() - window
        cpu = [a.cpu() - b for a, b in zip(apps, cpu_before, strict=True)]
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
        asyncio.run(_restore(pg.dsn))
    return _count(
        dossiers, observed, results,
        subscribed=subscribed, opened_in=opened_in, cpu=cpu, waited=waited, others=others, window=window,
    )  # fmt: skip


def _count(
    dossiers: list[dict[str, Any]], observed: dict[str, Any], results: list[dict[str, Any]], *,
    subscribed: int, opened_in: float, cpu: list[float], waited: list[float], others: list[float],
    window: float,
) -> dict[str, Any]:  # fmt: skip
    plan = _subscriber_plan(len(dossiers))
    watchers: dict[int, list[int]] = defaultdict(list)
    for k, (d, _) in enumerate(plan):
        watchers[d].append(k)
    received: dict[tuple[int, int], list[float]] = defaultdict(list)
    errors: list[str] = []
    for r in results:
        for k, version, at in r["got"]:
            received[(k, version)].append(at)
        errors += r["errors"]
    changes = observed["changes"]
    ok = [c for c in changes if "version" in c]
    failed = [c for c in changes if "version" not in c]
    latest: dict[int, int] = defaultdict(int)
    for (k, version), _ in received.items():
        latest[k] = max(latest[k], version)
    from_commit: list[float] = []
    from_answer: list[float] = []
    from_send: list[float] = []
    expected = lost = superseded = duplicates = no_commit = 0
    for c in ok:
        dossier = dossiers[c["dossier"]]
        seen = [t for t in observed["commits"].get(dossier["id"], []) if t >= c["sent"]]
        commit = min(seen) if seen else None
        no_commit += commit is None
        for k in watchers[c["dossier"]]:
            expected += 1
            times = received.get((k, c["version"]))
            if not times:
                lost += 1
                superseded += latest[k] > c["version"]
                continue
            duplicates += len(times) - 1
            at = times[0]
            if commit is not None:
                from_commit.append((at - commit) * 1000)
            from_answer.append((at - c["answered"]) * 1000)
            from_send.append((at - c["sent"]) * 1000)
    versions = {(k, c["version"]) for c in ok for k in watchers[c["dossier"]]}
    unexpected = sum(len(v) for key, v in received.items() if key not in versions)
    mutation = [(c["answered"] - c["sent"]) * 1000 for c in ok]
    return {
        "subscribers": subscribed,
        "per_app": [sum(1 for _, app in plan if app == i) for i in range(APPS)],
        "wanted": SUBSCRIBERS,
        "dossiers": len(dossiers),
        "opened_in": opened_in,
        "changes": len(ok),
        "failed": len(failed),
        "first_failure": failed[0]["error"] if failed else None,
        "rate": len(ok) / (max(c["answered"] for c in ok) - min(c["sent"] for c in ok)) if ok else 0.0,
        "expected": expected,
        "received": expected - lost,
        "lost": lost,
        "superseded": superseded,
        "duplicates": duplicates,
        "unexpected": unexpected,
        "no_commit": no_commit,
        "errors": errors,
        "from_commit": from_commit,
        "from_answer": from_answer,
        "from_send": from_send,
        "mutation": mutation,
        "baseline": [x * 1000 for x in observed["baseline"]],
        "baseline_sent": observed["baseline_sent"],
        "cpu": cpu,
        "waited": waited,
        "others": others,
        "mutator_cpu": observed["mutator_cpu"],
        "window": window,
    }


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
        f"changes committed: {r['changes']} ({r['failed']} failed) at {r['rate']:.1f}/s, alternately on each process"
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
    print(
        f"app CPU over the {r['window']:.1f} s window: {total:.1f} s ({shares} of a core per process),"
        f" {per_change:.1f} ms per change (mutation + fan-out)"
    )
    waits = ", ".join(f"{w:.1f} s" for w in r["waited"])
    print(f"app event loops runnable but waiting for a CPU (machine busy) over the window: {waits}")
    postgres, clients, machine = r["others"]
    rest = machine - total - postgres - clients - r["mutator_cpu"]
    print(
        f"machine CPU over the window: {machine:.1f} s of {r['window'] * (os.cpu_count() or 1):.1f} s"
        f" ({os.cpu_count()} cores): apps {total:.1f} s, PostgreSQL {postgres:.1f} s, subscriber clients"
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
