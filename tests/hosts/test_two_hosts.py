"""Two app hosts over one primary, one streaming replica and one object store (issue 15 item 5:
"run two app processes as if on two hosts (separate DATA_DIRs, one PostgreSQL primary and a
replica, one object store) and show live updates, the outbox order and the rate limits still
hold across them"). The hosts are tests/hosts/conftest.py's two `dvc serve` processes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from devservers import find_free_port
from tests.dossiers.helpers import PDF
from tests.hosts.conftest import LOOKUP_LIMIT, OWN_WRITES_SECONDS, Hosts, gql
from tests.replica.conftest import caught_up, commit_now, on_standby

pytestmark = pytest.mark.slow

STATUS = "subscription($id: ID!) { dossierStatusChanged(id: $id) { status version } }"
LOOKUP = "query($c: String!) { dossierStatus(code: $c) { public { code status } } }"
SAVE = """mutation($input: DossierDraftInput!) { r: dossierSaveDraft(input: $input) {
  __typename ... on DossierChanged { dossier { id version } } } }"""
SIGN_IN = """mutation($i: String!, $p: String!) { r: signIn(identifier: $i, password: $p) {
  __typename ... on Refused { code retryAfterSeconds } } }"""
REGISTER = """mutation($url: String!) { r: eventConsumerRegister(name: "two-hosts", url: $url) {
  __typename ... on EventConsumerRegistered { secret } } }"""
BACKLOG = "{ outboxBacklog { name pendingEvents } }"
START = """mutation($n: String!, $t: String!, $s: ByteCount!, $h: String!) {
  r: fileUploadStart(filename: $n, contentType: $t, size: $s, sha256: $h) {
    __typename ... on UploadTicket { url fields file { id status } } } }"""
COMPLETE = """mutation($id: ID!) { r: fileUploadComplete(fileId: $id) {
  __typename ... on FileResult { file { id status scanVerdict } } ... on Refused { code message } } }"""
DOWNLOAD = """mutation($id: ID!) { r: fileDownload(fileId: $id) {
  __typename ... on DownloadLink { url } ... on Refused { code } } }"""


async def act(
    base: str, token: str, mutation: str, dossier_id: str, args: str = "", **variables: Any
) -> dict[str, Any]:
    types = {"items": "[String!]!", "components": "[ComponentFilesInput!]!", "files": "[ID!]!"}
    types |= {"when": "DateTime!", "reason": "String!", "method": "DeliveryMethod!"}
    declared = "".join(f", ${k}: {types[k]}" for k in variables)
    query = (
        f"mutation($id: ID!{declared}) {{ r: {mutation}(id: $id{', ' + args if args else ''}) {{ __typename "
        "... on DossierChanged { dossier { version status code } } ... on UserError { code message } } }"
    )
    body = await gql(base, token, query, {"id": dossier_id, **variables})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["r"]
    assert result["__typename"] == "DossierChanged", (mutation, result)
    return result


async def draft(hosts: Hosts, base: str) -> str:
    component = hosts.components["Tờ khai theo mẫu"]
    dossier = {
        "procedureCode": "9.999001",
        "receivingAgencyCode": "H44.99",
        "formData": {"hoTen": "Nguyễn Thị Lan"},
        "components": [{"componentId": component, "fileIds": [hosts.file()]}],
    }
    body = await gql(base, hosts.tokens["citizen"], SAVE, {"input": dossier})
    assert body["data"]["r"]["__typename"] == "DossierChanged", body
    dossier_id: str = body["data"]["r"]["dossier"]["id"]
    return dossier_id


def dossier_path(hosts: Hosts) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every act of the factory procedure's path, submission to return (who, mutation, arguments)."""
    components = hosts.components
    return [
        ("citizen", "dossierSubmit", "", {}),
        ("reception", "dossierRequestCompletion", "items: $items", {"items": ["Bổ sung bản sao"]}),
        (
            "citizen",
            "dossierResubmit",
            "components: $components",
            {
                "components": [
                    {"componentId": components["Bản sao giấy tờ tùy thân"], "fileIds": [hosts.file()]}
                ]
            },
        ),
        ("reception", "dossierReceive", "", {}),
        ("specialist", "dossierForward", "", {}),
        ("tax", "dossierRequestSupplement", "items: $items", {"items": ["Tờ khai thuế"]}),
        (
            "citizen",
            "dossierSupplement",
            "components: $components",
            {"components": [{"componentId": components["Tờ khai theo mẫu"], "fileIds": [hosts.file()]}]},
        ),
        ("tax", "dossierForward", "", {}),
        (
            "leader",
            "dossierApologize",
            "newAppointment: $when, reason: $reason",
            {"when": (datetime.now(UTC) + timedelta(days=30)).isoformat(), "reason": "Chờ ý kiến"},
        ),
        ("leader", "dossierApprove", "resultFileIds: $files", {"files": [hosts.files[0]]}),
        ("reception", "dossierReturn", "method: $method", {"method": "ONLINE"}),
    ]


PATH_STATUSES = [
    "SUBMITTED",
    "AWAITING_COMPLETION",
    "SUBMITTED",
    "IN_PROGRESS",
    "IN_PROGRESS",
    "SUPPLEMENT_REQUESTED",
    "IN_PROGRESS",
    "IN_PROGRESS",
    "IN_PROGRESS",
    "RESULT_READY",
    "CLOSED",
]


@contextlib.asynccontextmanager
async def subscription(base: str, token: str, dossier_id: str) -> AsyncIterator[AsyncWebSocketSession]:
    async with httpx.AsyncClient(timeout=20) as client:
        connect: Any = aconnect_ws
        ws: AsyncWebSocketSession
        async with connect(f"{base}/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert json.loads(await ws.receive_text())["type"] == "connection_ack"
            payload = {"query": STATUS, "variables": {"id": dossier_id}}
            await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            yield ws


async def next_state(ws: AsyncWebSocketSession, within: float = 15) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=within))
    assert message["type"] == "next", message
    state: dict[str, Any] = message["payload"]["data"]["dossierStatusChanged"]
    return state


async def test_a_subscriber_on_host_b_sees_every_change_made_alternately_through_both_hosts(
    hosts: Hosts,
) -> None:
    """Issue 15 item 5 (live updates across hosts): a graphql-transport-ws subscriber on host B
    sees each status change of a dossier acted on alternately through host A and host B — every
    change, in order, none lost, none twice (PostgreSQL NOTIFY reaches every host's broker)."""
    dossier_id = await draft(hosts, hosts.bases[0])
    seen: list[dict[str, Any]] = []
    async with subscription(hosts.bases[1], hosts.tokens["citizen"], dossier_id) as ws:
        seen.append(await next_state(ws))  # the current state first
        for i, (who, mutation, args, variables) in enumerate(dossier_path(hosts)):
            result = await act(hosts.bases[i % 2], hosts.tokens[who], mutation, dossier_id, args, **variables)
            state = await next_state(ws)
            assert state["version"] == result["dossier"]["version"], (mutation, state, result)
            seen.append(state)
        with pytest.raises(TimeoutError):  # and nothing more: no change delivered twice
            await next_state(ws, within=2)
    assert [s["status"] for s in seen] == ["DRAFT", *PATH_STATUSES]
    versions = [s["version"] for s in seen]
    assert versions == list(range(versions[0], versions[0] + len(versions)))


class Receiver:
    """A webhook consumer on loopback keeping each delivery (dossier id, event id, body) in arrival
    order; it answers after 0.1 s, so that deliveries overlap the acts."""

    def __init__(self) -> None:
        self.received: list[tuple[str, int, bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                event = json.loads(body)
                with receiver.lock:
                    receiver.received.append((event["dossierId"], int(self.headers["X-DVC-Event-Id"]), body))
                time.sleep(0.1)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", find_free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def delivered_by(log_text: str) -> int:
    """Events this host's outbox dispatcher reported delivered (its INFO lines)."""
    total = 0
    for line in log_text.splitlines():
        if "outbox: " in line and " events delivered" in line:
            total += int(line.split("outbox: ", 1)[1].split(" ", 1)[0])
    return total


ROUNDS = 4  # rounds of three dossiers at most, until both hosts' dispatchers have delivered


async def test_a_webhook_consumer_gets_every_dossier_s_events_in_trail_order_from_both_hosts(
    hosts: Hosts, receiver: Receiver
) -> None:
    """Issue 15 item 5 (the outbox order across hosts): while acts on several dossiers alternate
    between host A and host B and both hosts' dispatchers deliver (each wakes on every change and
    takes the dossiers it can lock), the registered webhook consumer receives every event of every
    dossier, each first seen in trail (`seq`) order — a repeat only as the same event again."""
    registered = await gql(hosts.bases[0], hosts.tokens["admin"], REGISTER, {"url": receiver.url})
    assert registered["data"]["r"]["__typename"] == "EventConsumerRegistered", registered
    before = [delivered_by(log.read_text(errors="replace")) for log in hosts.logs]
    dossiers: list[str] = []
    per_host = [0, 0]
    # Which dispatcher wins a dossier's lock is timing: a round of three dossiers usually splits
    # between the hosts, but not always; a few more rounds make "both delivered" sure to be seen.
    for _ in range(ROUNDS):
        batch = [await draft(hosts, hosts.bases[i % 2]) for i in range(3)]
        dossiers += batch

        async def walk(n: int, dossier_id: str) -> None:
            for i, (who, mutation, args, variables) in enumerate(dossier_path(hosts)):
                await act(
                    hosts.bases[(i + n) % 2], hosts.tokens[who], mutation, dossier_id, args, **variables
                )

        await asyncio.gather(*(walk(n, d) for n, d in enumerate(batch)))
        async with asyncio.timeout(90):
            while True:
                backlog = (await gql(hosts.bases[1], hosts.tokens["admin"], BACKLOG))["data"]["outboxBacklog"]
                if next(b["pendingEvents"] for b in backlog if b["name"] == "two-hosts") == 0:
                    break
                await asyncio.sleep(0.3)
        await asyncio.sleep(0.5)  # the log line follows the round's commit
        after = [delivered_by(log.read_text(errors="replace")) for log in hosts.logs]
        per_host = [a - b for a, b in zip(after, before, strict=True)]
        if min(per_host) > 0:
            break
    connection = await asyncpg.connect(hosts.primary.dsn)
    try:
        rows = await connection.fetch("SELECT dossier_id::text AS d, seq FROM dossier_events ORDER BY seq")
    finally:
        await connection.close()
    trail: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        trail[row["d"]].append(row["seq"])
    with receiver.lock:
        received = list(receiver.received)
    firsts: dict[str, list[int]] = defaultdict(list)
    bodies: dict[int, bytes] = {}
    for dossier_id, event_id, body in received:
        if event_id in bodies:
            assert bodies[event_id] == body, event_id  # a repeat is the same event
        else:
            bodies[event_id] = body
            firsts[dossier_id].append(event_id)
    assert firsts == trail  # every event of every dossier, each first seen in trail order
    for dossier_id in dossiers:
        assert len(trail[dossier_id]) == len(PATH_STATUSES), trail[dossier_id]  # one event an act
    assert sum(per_host) >= len(trail[dossiers[0]]) * len(dossiers), per_host
    assert min(per_host) > 0, per_host  # both dispatchers delivered some of them


def client_at(base: str, address: str) -> httpx.AsyncClient:
    """A client of one host whose connections come from `address` (a loopback address of its own,
    so that each test's rate-limit keys are its own)."""
    return httpx.AsyncClient(
        base_url=base, transport=httpx.AsyncHTTPTransport(local_address=address), timeout=30
    )


async def test_sign_in_failures_through_both_hosts_count_against_one_limit(hosts: Hosts) -> None:
    """Issue 15 item 5 (rate limits across hosts): failed sign-ins for one identifier, sent in turn
    to host A and host B, fill one shared window (`rate_counters` on the primary): after the
    policy's 10 the next is RATE_LIMITED with retryAfterSeconds on either host — not after 20."""
    answers: list[dict[str, Any]] = []
    for i in range(12):
        async with client_at(hosts.bases[i % 2], "127.0.0.21") as client:
            variables = {"i": "khong-co@example.vn", "p": "Sai-mat-khau-9999"}
            body = (await client.post("/graphql", json={"query": SIGN_IN, "variables": variables})).json()
        answers.append(body["data"]["r"])
    assert [a["code"] for a in answers] == ["BAD_CREDENTIALS"] * 10 + ["RATE_LIMITED"] * 2
    assert all(0 < a["retryAfterSeconds"] <= 15 * 60 for a in answers[10:]), answers[10:]


async def test_public_lookups_through_both_hosts_count_against_one_limit(hosts: Hosts) -> None:
    """Issue 15 item 5 (rate limits across hosts): public lookups from one address, sent in turn
    to host A and host B, share LOOKUP_RATE_LIMIT: each host leases its part of the one counter, so
    together they admit the limit and no more, then both answer RATE_LIMITED with retryAfterSeconds."""
    codes: list[str | None] = []
    retry: list[int] = []
    for i in range(LOOKUP_LIMIT + 4):
        async with client_at(hosts.bases[i % 2], "127.0.0.22") as client:
            body = (
                await client.post("/graphql", json={"query": LOOKUP, "variables": {"c": "KHONG-CO"}})
            ).json()
        errors = body.get("errors") or []
        codes.append(errors[0]["extensions"]["code"] if errors else None)
        if errors:
            retry.append(errors[0]["extensions"]["retryAfterSeconds"])
    assert codes == [None] * LOOKUP_LIMIT + ["RATE_LIMITED"] * 4
    assert all(isinstance(s, int) and s > 0 for s in retry), retry


@contextlib.asynccontextmanager
async def replay_paused(hosts: Hosts) -> AsyncIterator[None]:
    """The standby caught up with a fresh commit, then its replay paused: what the primary commits
    now is not on the replica, which stays in use (its lag grows from ~0, under the hosts' limit)."""
    await commit_now(hosts.cluster)
    await caught_up(hosts.cluster)
    await on_standby(hosts.cluster, "SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        await on_standby(hosts.cluster, "SELECT pg_wal_replay_resume()")
        await caught_up(hosts.cluster)


async def received_dossier(hosts: Hosts) -> tuple[str, str]:
    """A dossier submitted and received (IN_PROGRESS, with its code), on the replica too."""
    dossier_id = await draft(hosts, hosts.bases[0])
    await act(hosts.bases[1], hosts.tokens["citizen"], "dossierSubmit", dossier_id)
    code: str = (await act(hosts.bases[0], hosts.tokens["reception"], "dossierReceive", dossier_id))[
        "dossier"
    ]["code"]
    await caught_up(hosts.cluster)
    return dossier_id, code


async def lookup(base: str, code: str, *, token: str | None = None, address: str = "127.0.0.1") -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with client_at(base, address) as client:
        response = await client.post(
            "/graphql", json={"query": LOOKUP, "variables": {"c": code}}, headers=headers
        )
    body = response.json()
    assert "errors" not in body, body
    status: str = body["data"]["dossierStatus"]["public"]["status"]
    return status


async def test_public_lookups_through_either_host_are_served_by_the_replica(hosts: Hosts) -> None:
    """Issue 15 items 1 and 5: the public lookup is a lag-tolerant read, so both hosts send it to
    the replica — shown by a change committed on the primary while the standby's replay is paused:
    neither host sees it (an anonymous caller from an address that wrote nothing); once the
    standby replays, both do."""
    dossier_id, code = await received_dossier(hosts)
    async with replay_paused(hosts):
        await act(hosts.bases[0], hosts.tokens["specialist"], "dossierForward", dossier_id)
        await act(
            hosts.bases[1],
            hosts.tokens["tax"],
            "dossierRequestSupplement",
            dossier_id,
            "items: $items",
            items=["Tờ khai"],
        )
        for base in hosts.bases:
            assert await lookup(base, code, address="127.0.0.23") == "IN_PROGRESS"  # the replica's
    for base in hosts.bases:
        assert await lookup(base, code, address="127.0.0.23") == "SUPPLEMENT_REQUESTED"


async def test_a_caller_reads_its_own_writes_through_the_other_host_too(hosts: Hosts) -> None:
    """Issue 15 item 1 ("a caller who just acted reads their own writes") across hosts (item 5):
    the mutation's transaction notifies every host that its caller wrote, so for
    DATABASE_READ_OWN_WRITES_SECONDS the officer who acted through host A reads the primary
    through host B as well, while the standby is behind — and other callers still read the
    replica there, and the officer too once the window has passed."""
    dossier_id, code = await received_dossier(hosts)
    await act(hosts.bases[1], hosts.tokens["specialist"], "dossierForward", dossier_id)
    officer = hosts.tokens["tax"]
    await asyncio.sleep(OWN_WRITES_SECONDS + 0.5)  # no earlier write of this officer counts any more
    async with replay_paused(hosts):
        asked = await act(
            hosts.bases[0],
            officer,
            "dossierRequestSupplement",
            dossier_id,
            "items: $items",
            items=["Tờ khai"],
        )
        assert asked["dossier"]["status"] == "SUPPLEMENT_REQUESTED"
        assert await lookup(hosts.bases[1], code, token=officer) == "SUPPLEMENT_REQUESTED"  # the primary
        assert await lookup(hosts.bases[0], code, token=officer) == "SUPPLEMENT_REQUESTED"
        assert await lookup(hosts.bases[1], code, address="127.0.0.24") == "IN_PROGRESS"  # the replica
        await asyncio.sleep(OWN_WRITES_SECONDS + 0.5)
        assert await lookup(hosts.bases[1], code, token=officer) == "IN_PROGRESS"  # the window is over
    assert await lookup(hosts.bases[1], code, token=officer) == "SUPPLEMENT_REQUESTED"


async def test_a_file_uploaded_with_a_form_from_host_a_is_completed_through_host_b(hosts: Hosts) -> None:
    """Issue 15 item 5 (one object store): the presigned form host A gave is posted straight to
    the store; host B completes the upload (reads the staged object, has it scanned, keeps it) and
    host A serves the file — nothing of an upload stays on the host that started it."""
    token = hosts.tokens["citizen"]
    variables = {
        "n": "hai-may.pdf",
        "t": "application/pdf",
        "s": len(PDF),
        "h": hashlib.sha256(PDF).hexdigest(),
    }
    ticket = (await gql(hosts.bases[0], token, START, variables))["data"]["r"]
    assert ticket["__typename"] == "UploadTicket", ticket
    async with httpx.AsyncClient(timeout=30) as browser:
        sent = await browser.post(
            ticket["url"], data=ticket["fields"], files={"file": ("hai-may.pdf", PDF, "application/pdf")}
        )
    assert sent.status_code in (200, 201, 204), sent.text
    file_id = ticket["file"]["id"]
    done = (await gql(hosts.bases[1], token, COMPLETE, {"id": file_id}))["data"]["r"]
    assert done["__typename"] == "FileResult", done
    assert done["file"]["status"] == "READY", done
    link = (await gql(hosts.bases[0], token, DOWNLOAD, {"id": file_id}))["data"]["r"]
    assert link["__typename"] == "DownloadLink", link
    async with httpx.AsyncClient(timeout=30) as browser:
        assert (await browser.get(link["url"])).content == PDF


async def test_the_hosts_keep_nothing_on_their_own_disks(hosts: Hosts) -> None:
    """Issue 15 item 5 ("separate DATA_DIRs"): with the servers and the secrets configured, a host
    writes nothing to its DATA_DIR while it serves — acts, lookups, uploads and everything the
    tests before did through it — so no host holds anything another one would need."""
    dossier_id = await draft(hosts, hosts.bases[0])
    await act(hosts.bases[1], hosts.tokens["citizen"], "dossierSubmit", dossier_id)
    code = (await act(hosts.bases[0], hosts.tokens["reception"], "dossierReceive", dossier_id))["dossier"][
        "code"
    ]
    await caught_up(hosts.cluster)
    for base in hosts.bases:
        assert await lookup(base, code, address="127.0.0.25") == "IN_PROGRESS"
    for data_dir in hosts.data_dirs:
        assert data_dir.is_dir()
        assert sorted(p.name for p in data_dir.rglob("*")) == [], data_dir
