"""Live status benchmark (bench/livestatus.py): the processes that act — the subscribers (client
processes holding the websockets) and the officers (one mutator process sending the GraphQL
mutations) — and the shape of the load they make."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Coroutine
from typing import Any

from bench.http1 import build, read_response
from bench.inbox import token_for

SUBSCRIBERS = int(os.environ.get("BENCH_SUBSCRIBERS", "1000"))  # a smaller run: a sanity check
APPS = 2
CLIENTS = 2
RATE = 40.0  # changes per second, all processes together
CYCLES = 2  # forward + send back, per dossier: the dossier ends where it began
CONNECT_AT_ONCE = 50  # subscribers opening at the same time, per client process
HTTP_CONNECTIONS = 8  # the mutator's keep-alive connections per app process

SUBSCRIPTION = (
    "subscription($code: String!, $secret: String!) { dossierStatusChanged(code: $code, secret: $secret)"
    " { code status currentStep version } }"
)
FORWARD = """mutation($id: ID!, $to: ID!) { r: dossierForward(id: $id, assigneeId: $to) {
  __typename ... on DossierChanged { dossier { version currentStep } } ... on UserError { code message } } }"""
SEND_BACK = """mutation($id: ID!) { r: dossierSendBack(id: $id, comment: "Bổ sung thẩm định") {
  __typename ... on DossierChanged { dossier { version currentStep } } ... on UserError { code message } } }"""


def now() -> float:
    """CLOCK_MONOTONIC: one clock for every process on the machine."""
    return time.monotonic()


def run_on_uvloop(coro: Coroutine[Any, Any, Any]) -> Any:
    import uvloop

    return uvloop.run(coro)


# --- the subscribers (client processes) ---------------------------------------------------------


def subscriber_plan(n_dossiers: int) -> list[tuple[int, int]]:
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
        at = now()
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "next" and "errors" not in message["payload"]:
            got.append((k, message["payload"]["data"]["dossierStatusChanged"]["version"], at))
        elif kind == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        else:
            errors.append(f"subscriber {k}: {message}"[:300])


def run_subscribers(
    part: int, ports: list[int], dossiers: list[dict[str, Any]], queues: tuple[Any, Any, Any]
) -> None:
    ready, stop, out = queues

    async def run() -> dict[str, Any]:
        plan = subscriber_plan(len(dossiers))
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

    out.put(run_on_uvloop(run()))


# --- the officers (mutator process) -------------------------------------------------------------


def run_mutator(ports: list[int], dossiers: list[dict[str, Any]], out: Any) -> None:
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
            app = i % len(ports)
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
                sent = now()
                writer.write(request)
                status, answer = await read_response(reader)
                answered = now()
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

        start = now() + 0.5
        tasks = []
        for i in range(total):
            await asyncio.sleep(max(0.0, start + i / RATE - now()))
            tasks.append(asyncio.ensure_future(change(i)))
        await asyncio.gather(*tasks)
        for pool in pools:
            while not pool.empty():
                pool.get_nowait()[1].close()
        return {"changes": changes, "cpu": time.process_time()}

    out.put(run_on_uvloop(run()))
