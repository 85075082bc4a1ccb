"""A history of dossiers in known states, made through the real acts over GraphQL with the clock
moved as time would: every channel, early / on time / late, refused, rejected, withdrawn, in
progress and overdue, paid online, digitised at the counter, a document reused from the vault,
rated satisfied and unsatisfied."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from core.clock import FixedClock
from services.dossiers.transition import ActContext
from services.payments import orders
from storage.s3 import ObjectStore
from tests.conftest import CALENDAR, gql
from tests.dossiers.helpers import DRAFT_RESULT, Scene, act, scene, upload
from tests.payments.helpers import ACCOUNT, ACCOUNTS, GATEWAY, ipn

SAVE = """mutation($input: DossierDraftInput!) { r: dossierSaveDraft(input: $input) { %s } }""" % DRAFT_RESULT
REGISTER = """mutation($c: [ComponentFilesInput!]!, $a: ApplicantInput!, $post: Boolean!) {
  r: dossierRegisterAtCounter(procedureCode: "9.999001", receivingAgencyCode: "H44.99", applicant: $a,
    formData: {hoTen: "Nguyễn Thị Lan"}, components: $c, byPost: $post) {
    __typename ... on DossierChanged { dossier { id status channel } } } }"""
DIGITISE = """mutation($d: ID!, $f: ID!) { r: dossierDigitiseToVault(dossierId: $d, fileId: $f,
    title: "Tờ khai (bản quét)", consent: true) { __typename } }"""
RATE = """mutation($id: ID!, $s: [ScoreInput!]!) { r: dossierRate(id: $id, scores: $s) { __typename } }"""
CRITERIA = ("RECEPTION", "GUIDANCE", "TIMELINESS", "RESULT", "ATTITUDE")


def at(local: str) -> datetime:
    """A moment given in Hà Nội time."""
    return datetime.fromisoformat(local + "+07:00").astimezone(UTC)


@dataclass
class History:
    scene: Scene
    ids: dict[str, str] = field(default_factory=dict)  # name -> dossier id
    dossiers: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> last state seen

    def code(self, name: str) -> str:
        code: str = self.dossiers[name]["code"]
        return code


async def _online(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, s: Scene, file_id: str | None = None
) -> str:
    form = file_id or await upload(session, store, s.citizen_id)
    draft_input = {
        "procedureCode": s.code,
        "receivingAgencyCode": "H44.99",
        "formData": {"hoTen": "Nguyễn Thị Lan"},
        "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form]}],
        "deliveryMethod": "ONLINE",
    }
    draft = (await gql(client, SAVE, {"input": draft_input}, token=s.citizen))["data"]["r"]
    assert draft["__typename"] == "DossierChanged", draft
    submitted = await act(client, s.citizen, "dossierSubmit", id=draft["dossier"]["id"])
    assert submitted["dossier"]["status"] == "SUBMITTED"
    dossier_id: str = submitted["dossier"]["id"]
    return dossier_id


async def _counter(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, s: Scene, *, post: bool
) -> str:
    reception_id = (await gql(client, "{ me { id } }", token=s.reception))["data"]["me"]["id"]
    scan = await upload(session, store, uuid.UUID(reception_id), "to-khai-quet.pdf")
    variables = {
        "c": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [scan]}],
        "a": {"name": "Nguyễn Thị Lan", "idNumber": "025190000001", "phone": "0912300001"},
        "post": post,
    }
    made = (await gql(client, REGISTER, variables, token=s.reception))["data"]["r"]
    assert made["dossier"]["channel"] == ("POST" if post else "COUNTER")
    dossier_id: str = made["dossier"]["id"]
    return dossier_id


async def _pay(session: AsyncSession, dossier_id: str, now: datetime) -> None:
    payment, _ = await orders.start(
        session, uuid.UUID(dossier_id), GATEWAY, ACCOUNT, now=now, client_ip="127.0.0.1"
    )
    system = ActContext(actor=Actor(ActorKind.SYSTEM, name="Cổng thanh toán"), now=now, calendar=CALENDAR)
    await orders.apply_notification(session, ipn(payment.txn_ref, payment.amount), GATEWAY, ACCOUNTS, system)
    await session.commit()


async def _conclude(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, s: Scene, dossier_id: str
) -> dict[str, Any]:
    """Examine, pass the tax office, approve with an electronic result, return: at the clock."""
    await act(client, s.specialist, "dossierForward", id=dossier_id)
    await act(client, s.tax, "dossierForward", id=dossier_id)
    result = await upload(session, store, None, "giay-phep.pdf")
    approved = await act(
        client, s.leader, "dossierApprove", "resultFileIds: $files", id=dossier_id, files=[result]
    )
    assert approved["dossier"]["status"] == "RESULT_READY", approved
    closed = await act(
        client, s.reception, "dossierReturn", "method: $method", id=dossier_id, method="ONLINE"
    )
    assert closed["dossier"]["status"] == "CLOSED", closed
    return closed["dossier"]  # type: ignore[no-any-return]


async def _rate(client: httpx.AsyncClient, s: Scene, dossier_id: str, scores: tuple[int, ...]) -> None:
    body = {
        "id": dossier_id,
        "s": [{"criterion": c, "score": v} for c, v in zip(CRITERIA, scores, strict=True)],
    }
    assert (await gql(client, RATE, body, token=s.citizen))["data"]["r"]["__typename"] == "DossierRated"


async def history(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> History:
    """Nine dossiers of procedure 9.999001 received by H44.99 (online appointment: 4 working
    days; counter and post: the full time):

    early    online, received and settled 26/11, paid online, rated 5 (satisfied)
    on_time  online, settled on its appointment day before the hour, rated 2.4 (unsatisfied)
    late     online, settled 15/12, paid online
    counter  counter, settled 27/11, digitised into the applicant's vault
    refused  counter, settlement refused 27/11 and the answer returned
    post     post, received 26/11, still in progress (overdue from its appointment on)
    fresh    online, received 18/12 reusing the early one's result from the vault, in progress
    withdrawn online, received 26/11, withdrawn 27/11
    rejected online, receipt refused 26/11
    """
    s = await scene(client, session)
    h = History(s)
    clock.at = at("2026-11-26T09:00:00")  # the tokens' issue time
    for name in ("early", "on_time", "late", "withdrawn", "rejected"):
        h.ids[name] = await _online(client, session, store, s)
    for name, post in (("counter", False), ("refused", False), ("post", True)):
        h.ids[name] = await _counter(client, session, store, s, post=post)
    await _pay(session, h.ids["early"], clock.at)
    await _pay(session, h.ids["late"], clock.at)

    clock.at = at("2026-11-26T09:30:00")
    for name in ("early", "on_time", "late", "withdrawn", "counter", "refused", "post"):
        h.dossiers[name] = (await act(client, s.reception, "dossierReceive", id=h.ids[name]))["dossier"]
    rejected = await act(
        client,
        s.reception,
        "dossierRefuseReceipt",
        "reasons: $reasons",
        id=h.ids["rejected"],
        reasons=["Sai thẩm quyền"],
    )
    assert rejected["dossier"]["status"] == "REJECTED"
    h.dossiers["rejected"] = rejected["dossier"]

    clock.at = at("2026-11-26T10:00:00")
    h.dossiers["early"] = await _conclude(client, session, store, s, h.ids["early"])
    clock.at = at("2026-11-26T11:00:00")
    await _rate(client, s, h.ids["early"], (5, 5, 5, 5, 5))

    clock.at = at("2026-11-27T09:00:00")
    h.dossiers["counter"] = await _conclude(client, session, store, s, h.ids["counter"])
    file_id = (
        await gql(
            client,
            "query($id: ID!) { dossier(id: $id) { attachments { kind fileId } } }",
            {"id": h.ids["counter"]},
            token=s.reception,
        )
    )["data"]["dossier"]["attachments"]
    scanned = next(a["fileId"] for a in file_id if a["kind"] == "COMPONENT")
    digitised = (await gql(client, DIGITISE, {"d": h.ids["counter"], "f": scanned}, token=s.reception))[
        "data"
    ]
    assert digitised["r"]["__typename"] == "VaultDocumentSaved"
    await act(client, s.specialist, "dossierForward", id=h.ids["refused"])
    await act(client, s.tax, "dossierForward", id=h.ids["refused"])
    refused = await act(
        client,
        s.leader,
        "dossierRefuse",
        "reasons: $reasons",
        id=h.ids["refused"],
        reasons=["Không đủ điều kiện"],
    )
    assert refused.get("dossier", {}).get("status") == "REFUSED", refused
    h.dossiers["refused"] = (
        await act(
            client, s.reception, "dossierReturn", "method: $method", id=h.ids["refused"], method="ONLINE"
        )
    )["dossier"]
    withdrawn = await act(client, s.citizen, "dossierWithdraw", id=h.ids["withdrawn"])
    assert withdrawn["dossier"]["status"] == "WITHDRAWN", withdrawn
    h.dossiers["withdrawn"] = withdrawn["dossier"]

    # On time: settled on the appointment's day, ten minutes before its hour.
    appointment = datetime.fromisoformat(h.dossiers["on_time"]["appointmentAt"])
    clock.at = appointment - timedelta(minutes=10)
    h.dossiers["on_time"] = await _conclude(client, session, store, s, h.ids["on_time"])
    clock.at = appointment + timedelta(hours=1)
    await _rate(client, s, h.ids["on_time"], (2, 2, 2, 3, 3))

    clock.at = at("2026-12-15T09:00:00")
    h.dossiers["late"] = await _conclude(client, session, store, s, h.ids["late"])

    # Fresh: submitted with the early dossier's result, taken from the vault.
    clock.at = at("2026-12-18T08:00:00")
    docs = (await gql(client, "{ vaultDocuments { items { fileId source } } }", token=s.citizen))["data"]
    result = next(d["fileId"] for d in docs["vaultDocuments"]["items"] if d["source"] == "RESULT")
    h.ids["fresh"] = await _online(client, session, store, s, file_id=result)
    clock.at = at("2026-12-18T09:00:00")
    h.dossiers["fresh"] = (await act(client, s.reception, "dossierReceive", id=h.ids["fresh"]))["dossier"]

    for name in ("early", "counter", "refused"):
        assert h.dossiers[name]["punctuality"] == "EARLY", (name, h.dossiers[name]["punctuality"])
    assert h.dossiers["on_time"]["punctuality"] == "ON_TIME"
    assert h.dossiers["late"]["punctuality"] == "LATE"
    clock.at = at("2026-12-20T10:00:00")
    return h
