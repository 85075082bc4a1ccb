"""The authorisation proof: every root query, mutation and subscription of the schema × every
foreign caller kind, sent against citizen A's things on a live app process with committed data —
on both read paths: each case is sent to the app as deployed (compiled reads on) and to the same
app with compiled reads off (the executor alone), with the same expectations; every read the
compiled app answers is also compared with the executor's answer, key order included.

Each operation has an entry (who legitimately may call it, and which of A's things it aims at);
a new operation without an entry fails `test_every_operation_is_classified` (the table is in tests/authz_operations.py). For each operation
and each caller kind that is not legitimate for it, the test sends the operation and asserts:

- the answer is a refusal: a top-level UNAUTHENTICATED / FORBIDDEN error or a typed NotFound /
  Refused result for mutations (a caller who reads A's dossier by design may get InvalidTransition
  from the guard, but only its "you may not" answer, never the one about the status); for reads, whatever comes back (null, an empty or the caller's own
  list) holds none of A's identifiers, names, codes or titles (checked in the whole response text);
- nothing changed: a digest (row count and a hash of every row) of every table of the database
  but the rate-limit buckets is identical before and after the call.

Subscriptions are opened over graphql-transport-ws by every foreign caller; each one's first
answer (a refusal) is awaited, and only then is A's dossier moved on by its officer: no foreign
subscriber receives anything of A's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as connect_ws
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from resolvers.root import schema
from storage.s3 import ObjectStore
from tests.authz_operations import (
    ANONYMOUS,
    APP_SCOPED,
    APP_UNSCOPED,
    CALLERS,
    DOSSIER_READERS,
    MUTATIONS,
    QUERIES,
    SUBSCRIPTION_VARIANTS,
    SUBSCRIPTIONS,
    Op,
)
from tests.authz_scene import LiveSite, Scene, build, changed, digest, live_site, post
from tests.conftest import Servers


def _root_fields(type_name: str) -> set[str]:
    return set(schema._schema.type_map[type_name].fields)  # type: ignore[attr-defined]


def test_every_operation_is_classified() -> None:
    """A new query, mutation or subscription fails here until it has an entry in tests/authz_operations.py."""
    assert _root_fields("Mutation") == set(MUTATIONS)
    assert _root_fields("Query") == set(QUERIES)
    assert _root_fields("Subscription") == set(SUBSCRIPTIONS)


# Both read paths of the same app: compiled reads on (as deployed) and off (the executor alone).
# Every case runs on each, with the same expectations.
PATHS = ("compiled", "executor")


def base_of(scene: Scene, path: str) -> str:
    return scene.site.base if path == "compiled" else scene.site.executor_base


def _cases(ops: dict[str, Op]) -> list[Any]:
    return [
        pytest.param(name, caller, path, id=f"{name}-{caller}-{path}")
        for name, op in ops.items()
        for caller in CALLERS
        if caller not in op.allowed
        for path in PATHS
    ]


# -- the scene -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(servers: Servers, demo_catalog: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    yield from live_site(servers, tmp_path_factory.mktemp("authz-logs"))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scene(site: LiveSite, store: ObjectStore) -> Scene:
    return await build(site, store)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def db(site: LiveSite) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(site.dsn)
    yield conn
    await conn.close()


def fill(document: str, scene: Scene) -> str:
    def one(match: re.Match[str]) -> str:
        return scene.target[match.group(1)]

    return re.sub(r"<([a-z_]+)>", one, document)


def leaked(text: str, scene: Scene, document: str) -> list[str]:
    """A's private strings in the response (but those the caller itself sent)."""
    return sorted(s for s in scene.secrets if s in text and s not in document)


REFUSALS = {"NotFound", "Refused"}
# A reference the caller may not use, refused on its field like an unknown one.
REFUSING_CODES = {"UNKNOWN", "NOT_YOUR_UNIT", "NOT_YOURS", "NOT_ALLOWED"}


def assert_refused(body: dict[str, Any], name: str, caller: str) -> None:
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
    if codes & {"UNAUTHENTICATED", "FORBIDDEN"}:
        assert body.get("data") is None or set(body["data"].values()) == {None}, body
        return
    assert not body.get("errors"), body
    result = body["data"][name]
    if result["__typename"] == "ValidationFailed":
        assert {e["code"] for e in result["errors"]} <= REFUSING_CODES, body
        return
    if caller in DOSSIER_READERS and result["__typename"] == "InvalidTransition":
        # The caller reads the dossier by design; acting on it is refused by the guard for who
        # they are, before (and whatever) the status: not a refusal the status alone would give.
        assert result["message"].startswith("Bạn không được "), body
        return
    assert result["__typename"] in REFUSALS, body


async def _send(scene: Scene, caller: str, op: Op, path: str = "compiled") -> tuple[str, str]:
    document = fill(op.document, scene)
    response = await post(base_of(scene, path), scene.tokens[caller], document, op.variables)
    assert response.status_code in (200, 401, 403), response.text
    return document, response.text


@pytest.mark.parametrize(("name", "caller", "path"), _cases(MUTATIONS))
async def test_a_foreign_mutation_is_refused_and_changes_nothing(
    name: str, caller: str, path: str, scene: Scene, db: asyncpg.Connection
) -> None:
    op = MUTATIONS[name]
    before = await digest(db)
    document, text = await _send(scene, caller, op, path)
    assert not leaked(text, scene, document), text
    assert_refused(json.loads(text), name, caller)
    assert changed(before, await digest(db)) == [], text


@pytest.mark.parametrize(("name", "caller", "path"), _cases(QUERIES))
async def test_a_foreign_read_shows_nothing_of_a_and_changes_nothing(
    name: str, caller: str, path: str, scene: Scene, db: asyncpg.Connection
) -> None:
    op = QUERIES[name]
    before = await digest(db)
    document, text = await _send(scene, caller, op, path)
    assert not leaked(text, scene, document), text
    body = json.loads(text)
    assert "data" in body, body
    assert changed(before, await digest(db)) == [], text
    if path == "compiled":
        await _same_on_the_executor(scene, caller, document, op, text)


async def _same_on_the_executor(scene: Scene, caller: str, document: str, op: Op, text: str) -> None:
    """Both read paths answer alike: the executor (compiled reads off) gives the same JSON, keys
    in the same order (the compiled path's JSON text is PostgreSQL's: spaced otherwise)."""
    response = await post(scene.site.executor_base, scene.tokens[caller], document, op.variables)
    assert json.dumps(json.loads(response.text)) == json.dumps(json.loads(text)), (response.text, text)


@pytest.mark.parametrize("path", PATHS)
async def test_the_owner_sees_the_targets(path: str, scene: Scene) -> None:
    """The matrix aims at real things: A (the owner) reads them with the same documents."""
    for name in ("dossier", "inquiry", "vaultDocuments", "vaultGrants", "myInquiries", "dossiers"):
        document, text = await _send(scene, "owner", QUERIES[name], path)
        assert leaked(text, scene, document), (name, text)
        if path == "compiled":
            await _same_on_the_executor(scene, "owner", document, QUERIES[name], text)


# -- subscriptions ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def subscribed(base: str, token: str | None, document: str) -> AsyncIterator[ClientConnection]:
    async with connect_ws(
        base.replace("http://", "ws://", 1) + "/graphql", subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}}))
        yield ws


async def _drain(ws: ClientConnection, seconds: float) -> list[str]:
    """Every message received within `seconds` (until the server closes the socket)."""
    messages: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            message = await asyncio.wait_for(ws.recv(), timeout=left)
        except (TimeoutError, ConnectionClosed):
            break
        messages.append(message if isinstance(message, str) else message.decode())
    return messages


async def _first(ws: ClientConnection, seconds: float) -> dict[str, Any] | None:
    """The subscription's first answer (its acknowledgement), None if none within `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
        except (TimeoutError, ConnectionClosed):
            return None
        if message.get("type") in ("next", "error", "complete"):
            return dict(message)
    return None


def _refusal(message: dict[str, Any] | None) -> bool:
    if message is None:
        return False
    if message["type"] in ("error", "complete"):
        return True
    return message["payload"].get("data") is None and bool(message["payload"].get("errors"))


SUBSCRIPTION_CASES = [
    (label, caller)
    for label, allowed in [
        *((name, op.allowed) for name, op in SUBSCRIPTIONS.items()),
        *((name, DOSSIER_READERS) for name in SUBSCRIPTION_VARIANTS),
    ]
    for caller in CALLERS
    if caller not in allowed
]


async def test_foreign_subscribers_receive_nothing_of_a(scene: Scene) -> None:
    """Every foreign caller subscribes every way to A's dossier and the inboxes it passes
    through, and each one's first answer — its refusal — is awaited (a subscription not yet in
    place when the dossier moves would pass untested); then A's officer moves the dossier on
    (H44.19 → the tax office H44.96). Nobody receives A's data."""
    documents = {
        **{name: op.document for name, op in SUBSCRIPTIONS.items()},
        **SUBSCRIPTION_VARIANTS,
    }
    async with contextlib.AsyncExitStack() as stack:
        sockets = {
            (label, caller): await stack.enter_async_context(
                subscribed(scene.site.base, scene.tokens[caller], fill(documents[label], scene))
            )
            for label, caller in SUBSCRIPTION_CASES
        }
        # The owner's subscription proves events do flow.
        owner = await stack.enter_async_context(
            subscribed(scene.site.base, scene.tokens["owner"], fill(documents["dossierStatusChanged"], scene))
        )
        firsts = await asyncio.gather(*(_first(ws, 15.0) for ws in sockets.values()))
        for (label, caller), first in zip(sockets, firsts, strict=True):
            assert _refusal(first), (label, caller, first)
            assert not leaked(json.dumps(first), scene, fill(documents[label], scene)), (label, caller, first)
        owner_first = await _first(owner, 15.0)
        assert owner_first is not None, "the owner's subscription did not answer"
        assert owner_first["type"] == "next", owner_first
        assert owner_first["payload"]["data"]["dossierStatusChanged"]["code"] == scene.target["dossier_code"]
        moved = await post(
            scene.site.base,
            scene.tokens["specialist"],
            'mutation { r: dossierForward(id: "%s") { __typename } }' % scene.target["dossier"],
        )
        assert moved.json()["data"]["r"]["__typename"] == "DossierChanged", moved.text
        heard = await asyncio.gather(*(_drain(ws, 3.0) for ws in sockets.values()))
        for (label, caller), messages in zip(sockets, heard, strict=True):
            text = "\n".join(messages)
            assert not leaked(text, scene, fill(documents[label], scene)), (label, caller, text)
            for message in map(json.loads, messages):  # at most a refusal: an error, no data
                if message.get("type") == "next":
                    assert message["payload"].get("data") is None, (label, caller, text)
                    assert message["payload"]["errors"], (label, caller, text)
        # The owner hears the move (the current state came before it): events do flow.
        owner_heard = [json.loads(m) for m in await _drain(owner, 5.0)]
        codes = [
            m["payload"]["data"]["dossierStatusChanged"]["code"]
            for m in owner_heard
            if m.get("type") == "next"
        ]
        assert scene.target["dossier_code"] in codes, owner_heard


# -- app scopes ------------------------------------------------------------------------------------

# Public operations an app may call only with a scope; APP_UNSCOPED (catalog:read only) lacks
# it, APP_SCOPED holds it. (`feedback:submit` is checked on Open311's REST path:
# tests/feedback/test_open311.py; `inquirySubmit` is for persons only.)
APP_SCOPE_NEEDED: dict[str, str] = {
    "dossierStatus": QUERIES["dossierStatus"].document,
    "dossierStatusChanged-by-code": SUBSCRIPTION_VARIANTS["dossierStatusChanged-by-code"],
}


def _codes(errors: list[dict[str, Any]]) -> list[str | None]:
    return [e.get("extensions", {}).get("code") for e in errors]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", sorted(APP_SCOPE_NEEDED))
async def test_an_app_without_the_scope_is_forbidden_and_with_it_is_answered(
    name: str, path: str, scene: Scene
) -> None:
    """The token of an app lacking the operation's scope is refused (FORBIDDEN) even where an
    anonymous caller is answered; the token of an app holding it is not refused."""
    document = fill(APP_SCOPE_NEEDED[name], scene)
    if document.startswith("subscription"):
        for caller, forbidden in ((APP_UNSCOPED, True), (APP_SCOPED, False), (ANONYMOUS, False)):
            async with subscribed(base_of(scene, path), scene.tokens[caller], document) as ws:
                messages = [json.loads(m) for m in await _drain(ws, 2.0)]
            first = next(m for m in messages if m["type"] in ("next", "error"))
            errors = first["payload"] if first["type"] == "error" else first["payload"].get("errors") or []
            assert ("FORBIDDEN" in _codes(errors)) is forbidden, (caller, first)
        return
    refused = (await post(base_of(scene, path), scene.tokens[APP_UNSCOPED], document)).json()
    assert _codes(refused.get("errors", [])) == ["FORBIDDEN"], refused
    assert refused["errors"][0]["message"] == "Ứng dụng chưa được cấp phạm vi dossier-status:read."
    for caller in (APP_SCOPED, ANONYMOUS):
        answered = (await post(base_of(scene, path), scene.tokens[caller], document)).json()
        assert "FORBIDDEN" not in _codes(answered.get("errors", [])), (caller, answered)
        assert answered["data"][name] is not None, (caller, answered)
