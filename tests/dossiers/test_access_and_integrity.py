"""Who may see and act on a dossier; retries applied once; stale versions refused; the trail
refuses edits and its hash chain exposes any that slip through; hand-over moves open steps."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from models.dossiers import Dossier, StoredFile
from services.dossiers import transition
from storage.s3 import ObjectStore
from tests.accounts.helpers import make_staff
from tests.conftest import admin_gql, gql
from tests.documented import assert_documented
from tests.dossiers.helpers import DRAFT_RESULT, Scene, act, long_token, scene, upload

SAVE = """mutation($input: DossierDraftInput!) { r: dossierSaveDraft(input: $input) { %s } }""" % DRAFT_RESULT


async def submitted(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> tuple[Scene, str]:
    s = await scene(client, session)
    form_file = await upload(session, store, s.citizen_id)
    draft_input = {
        "procedureCode": s.code,
        "receivingAgencyCode": "H44.99",
        "formData": {"hoTen": "Nguyễn Thị Lan"},
        "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form_file]}],
    }
    draft = (await gql(client, SAVE, {"input": draft_input}, token=s.citizen))["data"]["r"]
    dossier_id = draft["dossier"]["id"]
    assert (await act(client, s.citizen, "dossierSubmit", id=dossier_id))["dossier"]["status"] == "SUBMITTED"
    return s, dossier_id


async def _read(client: httpx.AsyncClient, token: str, dossier_id: str) -> Any:
    return (
        await gql(
            client, "query($id: ID!) { dossier(id: $id) { id status } }", {"id": dossier_id}, token=token
        )
    )["data"]["dossier"]


async def test_only_the_applicant_and_the_agencies_involved_see_it(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    other_citizen_id, _ = await make_staff(
        session, "khong-lien-quan@phutho.gov.vn", ("SPECIALIST", "H44.45", False)
    )
    stranger = long_token(other_citizen_id)
    assert await _read(client, s.citizen, dossier_id) is not None
    assert await _read(client, s.reception, dossier_id) is not None
    assert await _read(client, stranger, dossier_id) is None  # another agency's staff: not found
    listed = (await gql(client, "{ dossiers { edges { node { id } } } }", token=stranger))["data"]["dossiers"]
    assert listed["edges"] == []
    # Acting on it is "not found" too, and changes nothing.
    refused = await act(client, stranger, "dossierReceive", id=dossier_id)
    assert refused["__typename"] == "NotFound"
    assert (await _read(client, s.citizen, dossier_id))["status"] == "SUBMITTED"


async def test_another_citizen_cannot_see_or_touch_it(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    from tests.accounts.helpers import token_for

    _, dossier_id = await submitted(client, session, store)
    other = await token_for(client, session, 2)
    assert await _read(client, other, dossier_id) is None
    assert (await act(client, other, "dossierWithdraw", id=dossier_id))["__typename"] == "NotFound"


async def test_roles_are_enforced_by_the_table(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    # The citizen cannot receive their own dossier; before reception the competent agency's
    # specialist does not even see it (no step of it is theirs yet).
    assert (await act(client, s.citizen, "dossierReceive", id=dossier_id))[
        "__typename"
    ] == "InvalidTransition"
    assert (await act(client, s.specialist, "dossierReceive", id=dossier_id))["__typename"] == "NotFound"
    assert (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"][
        "status"
    ] == "IN_PROGRESS"
    # The reception officer may not forward the specialist's step; the assignee may.
    assert (await act(client, s.reception, "dossierForward", id=dossier_id))[
        "__typename"
    ] == "InvalidTransition"
    assert (await act(client, s.specialist, "dossierForward", id=dossier_id))["dossier"]["currentStep"] == 3


async def test_a_stale_version_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    version = (
        await gql(
            client, "query($id: ID!) { dossier(id: $id) { version } }", {"id": dossier_id}, token=s.reception
        )
    )["data"]["dossier"]["version"]
    first = await act(client, s.reception, "dossierReceive", "expectedVersion: $v", id=dossier_id, v=version)
    assert first["__typename"] == "DossierChanged"
    second = await act(
        client,
        s.reception,
        "dossierRequestCompletion",
        "items: $items, expectedVersion: $v",
        id=dossier_id,
        v=version,
        items=["x"],
    )
    assert (second["__typename"], second["code"]) == ("Conflict", "CHANGED_BY_SOMEONE_ELSE")


async def test_the_lock_reads_what_another_act_committed_meanwhile(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    """An act checks access first (which loads the dossier into its session) and takes the row lock
    after; another act may commit in between. What the lock reads must replace the loaded copy, or
    the version check compares a stale value and both acts apply (a lost update)."""
    _, dossier_id = await submitted(client, session, store)
    loaded = await session.get_one(Dossier, uuid.UUID(dossier_id))  # the access check's read
    seen = loaded.version
    # Another act commits meanwhile (a plain UPDATE, which this session's copy does not see).
    await session.execute(text("UPDATE dossiers SET version = version + 1 WHERE id = :id"), {"id": loaded.id})
    locked = await transition.lock(session, loaded.id)
    assert locked is loaded
    assert locked.version == seen + 1


async def test_a_retry_with_the_same_key_is_applied_once(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    first = await act(
        client, s.reception, "dossierReceive", "idempotencyKey: $key", id=dossier_id, key="nhan-ho-so-0001"
    )
    again = await act(
        client, s.reception, "dossierReceive", "idempotencyKey: $key", id=dossier_id, key="nhan-ho-so-0001"
    )
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert first["dossier"]["code"] == again["dossier"]["code"]
    assert [e["action"] for e in again["dossier"]["trail"]].count("RECEIVE") == 1
    # The same key for something else is refused, not silently replayed.
    other = await act(
        client,
        s.reception,
        "dossierRequestCompletion",
        "items: $items, idempotencyKey: $key",
        id=dossier_id,
        key="nhan-ho-so-0001",
        items=["x"],
    )
    assert other["__typename"] == "ValidationFailed"
    assert other["errors"][0]["code"] == "KEY_REUSED"


async def test_a_failed_act_leaves_the_key_free(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    empty = await act(
        client,
        s.reception,
        "dossierRequestCompletion",
        "items: $items, idempotencyKey: $key",
        id=dossier_id,
        key="yeu-cau-0001",
        items=[],
    )
    assert empty["__typename"] == "ValidationFailed"
    done = await act(
        client,
        s.reception,
        "dossierRequestCompletion",
        "items: $items, idempotencyKey: $key",
        id=dossier_id,
        key="yeu-cau-0001",
        items=["Bổ sung bản sao"],
    )
    assert (done["__typename"], done["replayed"]) == ("DossierChanged", False)


async def test_the_trail_refuses_edits_and_the_chain_catches_them(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    await act(client, s.reception, "dossierReceive", id=dossier_id)
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE dossier_events SET comment = 'sửa' WHERE dossier_id = :d"), {"d": dossier_id}
            )
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("DELETE FROM dossier_events WHERE dossier_id = :d"), {"d": dossier_id})
    # Someone with the power to switch the trigger off edits a row: the chain shows where.
    first = await session.scalar(
        text("SELECT min(seq) FROM dossier_events WHERE dossier_id = :d"), {"d": dossier_id}
    )
    await session.execute(text("ALTER TABLE dossier_events DISABLE TRIGGER dossier_events_append_only"))
    await session.execute(text("UPDATE dossier_events SET comment = 'đã sửa' WHERE seq = :s"), {"s": first})
    await session.execute(text("ALTER TABLE dossier_events ENABLE TRIGGER dossier_events_append_only"))
    await session.commit()
    check = (
        await gql(
            client,
            "query($id: ID!) { dossier(id: $id) { trailCheck { valid brokenAtSeq } trail { action } } }",
            {"id": dossier_id},
            token=s.reception,
        )
    )["data"]["dossier"]
    assert check["trailCheck"]["valid"] is False
    assert check["trailCheck"]["brokenAtSeq"] == first  # the edited event itself


async def test_hand_over_moves_open_steps(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    received = (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"]
    assert received["steps"][1]["assigneeId"] == str(s.specialist_id)
    successor, _ = await make_staff(session, "ke-nhiem@phutho.gov.vn", ("SPECIALIST", "H44.19", False))
    mutation = (
        """mutation($a: ID!, $b: ID!) { staffHandOver(fromAccountId: $a, toAccountId: $b) { __typename } }"""
    )
    result = await admin_gql(client, mutation, {"a": str(s.specialist_id), "b": str(successor)})
    assert result["staffHandOver"]["__typename"] == "AccountSaved"
    after = (
        await gql(
            client,
            "query($id: ID!) { dossier(id: $id) { steps { assigneeId } } }",
            {"id": dossier_id},
            token=s.reception,
        )
    )["data"]["dossier"]
    assert after["steps"][1]["assigneeId"] == str(successor)
    # (the hand-over bumped the successor's token version: their roles changed)
    forwarded = await act(client, long_token(successor, version=2), "dossierForward", id=dossier_id)
    assert forwarded["dossier"]["currentStep"] == 3
    _ = uuid


async def test_counter_digitisation_and_the_tracking_book(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    received = (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"]
    file_id = (
        await gql(
            client,
            "query($id: ID!) { dossier(id: $id) { attachments { fileId } } }",
            {"id": dossier_id},
            token=s.reception,
        )
    )["data"]["dossier"]["attachments"][0]["fileId"]
    digitise = """mutation($d: ID!, $f: ID!, $c: Boolean!) { r: dossierDigitiseToVault(dossierId: $d, fileId: $f,
        title: "Tờ khai (bản quét tại một cửa)", consent: $c) {
        __typename ... on VaultDocumentSaved { document { source title } } ... on ValidationFailed { errors { code } } } }"""
    refused = (await gql(client, digitise, {"d": dossier_id, "f": file_id, "c": False}, token=s.reception))[
        "data"
    ]["r"]
    assert refused["errors"] == [{"code": "REQUIRED"}]
    done = (await gql(client, digitise, {"d": dossier_id, "f": file_id, "c": True}, token=s.reception))[
        "data"
    ]["r"]
    assert done["document"]["source"] == "DIGITISED"
    not_reception = (
        await gql(client, digitise, {"d": dossier_id, "f": file_id, "c": True}, token=s.specialist)
    )["data"]["r"]
    assert not_reception["__typename"] == "NotFound"
    vault_items = (await gql(client, "{ vaultDocuments { items { source } } }", token=s.citizen))["data"]
    assert {"source": "DIGITISED"} in vault_items["vaultDocuments"]["items"]
    book = """mutation { r: trackingBook(agencyCode: "H44.99", start: "2026-01-01T00:00:00+00:00",
        end: "2027-01-01T00:00:00+00:00") { __typename ... on FileResult { file { filename size } } ... on NotFound { code } } }"""
    made = (await gql(client, book, token=s.reception))["data"]["r"]
    assert made["__typename"] == "FileResult"
    assert made["file"]["size"] > 1000
    assert (await gql(client, book, token=s.citizen))["data"]["r"]["__typename"] == "NotFound"
    assert received["code"]


OPAQUE = frozenset({"formData", "data"})  # the e-form, an act's data: free-form


async def test_archive_export(client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore) -> None:
    import io
    import json
    import zipfile

    from tests.accounts.helpers import make_staff as staff

    s, dossier_id = await submitted(client, session, store)
    withdrawn = await act(client, s.citizen, "dossierWithdraw", id=dossier_id)
    assert withdrawn["dossier"]["status"] == "WITHDRAWN"
    admin_id, _ = await staff(session, "qt-trungtam@phutho.gov.vn", ("AGENCY_ADMIN", "H44.99", False))
    export = """mutation($b: DateTime!) { r: archiveExport(agencyCode: "H44.99", closedBefore: $b) {
        __typename ... on ArchiveExported { dossiers file { id filename } } ... on Refused { code } } }"""
    assert (await gql(client, export, {"b": "2026-11-26T00:00:00+00:00"}, token=long_token(admin_id)))[
        "data"
    ]["r"]["code"] == "NOTHING_TO_ARCHIVE"  # finished after that moment
    refused = await gql(
        client, export, {"b": "2026-12-31T00:00:00+00:00"}, token=s.reception, expect_errors=True
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    done = (await gql(client, export, {"b": "2026-12-31T00:00:00+00:00"}, token=long_token(admin_id)))[
        "data"
    ]["r"]
    assert done["dossiers"] == 1
    link = (
        await gql(
            client,
            "mutation($id: ID!) { r: fileDownload(fileId: $id) { ... on DownloadLink { url } } }",
            {"id": done["file"]["id"]},
            token=long_token(admin_id),
        )
    )["data"]["r"]
    async with httpx.AsyncClient(timeout=30) as browser:
        package = zipfile.ZipFile(io.BytesIO((await browser.get(link["url"])).content))
    manifest = json.loads(package.read("manifest.json"))
    # As docs/integrations.md shows them.
    assert_documented("archive-manifest", manifest)
    folder = next(e["path"] for e in manifest["entries"] if e["path"].endswith("/dossier.json")).split("/")[0]
    assert_documented("archive-dossier", json.loads(package.read(f"{folder}/dossier.json")), OPAQUE)
    assert_documented("archive-trail", json.loads(package.read(f"{folder}/trail.json")), OPAQUE)
    for entry in manifest["entries"]:
        data = package.read(entry["path"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert entry.get("recorded", entry["sha256"]) == entry["sha256"]
    names = [e["path"] for e in manifest["entries"]]
    assert any(n.endswith("/dossier.json") for n in names)
    assert any(n.endswith("/trail.json") for n in names)
    assert any("/files/component-" in n for n in names)
    archived = (
        await gql(
            client,
            "query($id: ID!) { dossier(id: $id) { archivedAt attachments { fileId } } }",
            {"id": dossier_id},
            token=s.citizen,
        )
    )["data"]["dossier"]
    assert archived["archivedAt"] is not None
    # archived files stay readable
    file_link = (
        await gql(
            client,
            "mutation($id: ID!) { r: fileDownload(fileId: $id) { __typename } }",
            {"id": archived["attachments"][0]["fileId"]},
            token=s.citizen,
        )
    )["data"]["r"]
    assert file_link["__typename"] == "DownloadLink"
    kept = await session.scalar(
        select(StoredFile.retain_until).where(
            StoredFile.id == uuid.UUID(archived["attachments"][0]["fileId"])
        )
    )
    assert kept is not None
    assert kept.year == 2036


async def test_counter_registration_on_behalf_of_a_citizen(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s = await scene(client, session)
    reception_id = (await gql(client, "{ me { id } }", token=s.reception))["data"]["me"]["id"]
    scan = await upload(session, store, uuid.UUID(reception_id), "to-khai-quet.pdf")
    register = """mutation($c: [ComponentFilesInput!]!, $a: ApplicantInput!, $post: Boolean!) {
      r: dossierRegisterAtCounter(procedureCode: "9.999001", receivingAgencyCode: "H44.99", applicant: $a,
        formData: {hoTen: "Nguyễn Thị Lan"}, components: $c, byPost: $post) {
        __typename ... on DossierChanged { dossier { id status channel applicant { name idNumber }
          feesDue { total reduction } } }
        ... on ValidationFailed { errors { field code } } } }"""
    variables = {
        "c": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [scan]}],
        "a": {"name": "Nguyễn Thị Lan", "idNumber": "025190000001", "phone": "0912300001"},
        "post": False,
    }
    made = (await gql(client, register, variables, token=s.reception))["data"]["r"]
    assert made["dossier"]["status"] == "SUBMITTED"
    assert made["dossier"]["channel"] == "COUNTER"
    # At the counter the ordinary amount is charged: the online reduction does not apply.
    assert made["dossier"]["feesDue"] == {"total": 100000, "reduction": 0}
    # The citizen's account was found by the ID number: they see the dossier as theirs.
    mine = (
        await gql(
            client,
            "query($id: ID!) { dossier(id: $id) { id } }",
            {"id": made["dossier"]["id"]},
            token=s.citizen,
        )
    )["data"]["dossier"]
    assert mine == {"id": made["dossier"]["id"]}
    by_post = (await gql(client, register, {**variables, "post": True}, token=s.reception))["data"]["r"]
    assert by_post["dossier"]["channel"] == "POST"
    assert by_post["dossier"]["feesDue"] == {"total": 100000, "reduction": 0}
    elsewhere = (await gql(client, register, variables, token=s.specialist))["data"]["r"]
    assert elsewhere["errors"] == [{"field": ["receivingAgencyCode"], "code": "NOT_YOUR_UNIT"}]


async def test_send_back_assign_inbox_search_and_refusals(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    inbox = "{ inbox { edges { node { id status overdue } } } }"
    assert dossier_id in [
        e["node"]["id"] for e in (await gql(client, inbox, token=s.reception))["data"]["inbox"]["edges"]
    ]
    code = (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"]["code"]
    assert dossier_id in [
        e["node"]["id"] for e in (await gql(client, inbox, token=s.specialist))["data"]["inbox"]["edges"]
    ]
    assert (await gql(client, inbox, token=s.tax))["data"]["inbox"]["edges"] == []
    await act(client, s.specialist, "dossierForward", id=dossier_id)
    back = await act(
        client, s.tax, "dossierSendBack", "comment: $reason", id=dossier_id, reason="Thiếu tờ khai thuế"
    )
    assert back["dossier"]["currentStep"] == 2
    assert back["dossier"]["trail"][-1]["comment"] == "Thiếu tờ khai thuế"
    tax_id = (await gql(client, "{ me { id } }", token=s.tax))["data"]["me"]["id"]
    wrong = await act(
        client, s.leader, "dossierAssign", "assigneeId: $assignee", id=dossier_id, assignee=tax_id
    )
    assert wrong["errors"] == [
        {"field": ["assigneeId"], "code": "NOT_ELIGIBLE", "message": wrong["errors"][0]["message"]}
    ]
    right = await act(
        client,
        s.leader,
        "dossierAssign",
        "assigneeId: $assignee",
        id=dossier_id,
        assignee=str(s.specialist_id),
    )
    assert right["dossier"]["steps"][1]["assigneeId"] == str(s.specialist_id)

    search = """query($f: DossierFilterInput) { dossiers(filter: $f) { edges { node { id code } } } }"""
    found = (await gql(client, search, {"f": {"code": code[:14]}}, token=s.reception))["data"]["dossiers"][
        "edges"
    ]
    assert [e["node"]["id"] for e in found] == [dossier_id]
    late = (await gql(client, search, {"f": {"overdue": True}}, token=s.reception))["data"]["dossiers"][
        "edges"
    ]
    assert late == []  # due days ahead of the test clock
    by_applicant = (await gql(client, search, {"f": {"applicant": "025190000001"}}, token=s.reception))[
        "data"
    ]
    assert [e["node"]["id"] for e in by_applicant["dossiers"]["edges"]] == [dossier_id]

    # Refusals: of the dossier (at the last step) and, on another one, of its receipt.
    await act(client, s.specialist, "dossierForward", id=dossier_id)
    await act(client, s.tax, "dossierForward", id=dossier_id)
    refused = await act(
        client, s.leader, "dossierRefuse", "reasons: $reasons", id=dossier_id, reasons=["Không đủ điều kiện"]
    )
    assert refused["dossier"]["status"] == "REFUSED"
    closed = await act(client, s.reception, "dossierReturn", "method: $method", id=dossier_id, method="POST")
    assert closed["dossier"]["status"] == "CLOSED"
    form_file = await upload(session, store, s.citizen_id)
    draft_input = {
        "procedureCode": s.code,
        "receivingAgencyCode": "H44.99",
        "formData": {"hoTen": "Nguyễn Thị Lan"},
        "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form_file]}],
    }
    other = (await gql(client, SAVE, {"input": draft_input}, token=s.citizen))["data"]["r"]["dossier"]["id"]
    await act(client, s.citizen, "dossierSubmit", id=other)
    rejected = await act(
        client,
        s.reception,
        "dossierRefuseReceipt",
        "reasons: $reasons",
        id=other,
        reasons=["Không thuộc thẩm quyền"],
    )
    assert rejected["dossier"]["status"] == "REJECTED"
