"""Uploads straight to the real object store through presigned forms, checked on completion
(size, checksum, type from the bytes, ClamAV scan with a real clamd); downloads only for those
allowed, recorded; the vault; reuse in a second dossier; consent for an agency."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.dossiers import FileDownload, FileStatus, StoredFile
from services import uploads
from storage.s3 import ObjectStore
from tests.accounts.helpers import make_staff, token_for
from tests.conftest import NOW, gql
from tests.dossiers.helpers import PDF, long_token

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4f20000000049454e44ae426082"
)
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

START = """mutation($n: String!, $t: String!, $s: Int!, $h: String!) {
  r: fileUploadStart(filename: $n, contentType: $t, size: $s, sha256: $h) {
    __typename ... on UploadTicket { url fields expiresAt file { id status } }
    ... on ValidationFailed { errors { field code } } ... on Refused { code message } } }"""
COMPLETE = """mutation($id: ID!) { r: fileUploadComplete(fileId: $id) {
  __typename ... on FileResult { file { id status rejection scanVerdict contentType } }
  ... on Refused { code message } ... on NotFound { code } } }"""
DOWNLOAD = """mutation($id: ID!) { r: fileDownload(fileId: $id) {
  __typename ... on DownloadLink { url expiresAt } ... on NotFound { code } ... on Refused { code } } }"""


async def send(
    client: httpx.AsyncClient,
    token: str,
    data: bytes,
    content_type: str = "application/pdf",
    *,
    name: str = "giay-to.pdf",
    declared: bytes | None = None,
) -> tuple[str, int]:
    """Start, POST the bytes to the store like a browser would, complete. Returns (file id, store status)."""
    declared = data if declared is None else declared
    ticket = (
        await gql(
            client,
            START,
            {"n": name, "t": content_type, "s": len(declared), "h": hashlib.sha256(declared).hexdigest()},
            token=token,
        )
    )["data"]["r"]
    assert ticket["__typename"] == "UploadTicket", ticket
    async with httpx.AsyncClient(timeout=30) as browser:
        response = await browser.post(
            ticket["url"], data=ticket["fields"], files={"file": (name, data, content_type)}
        )
    return ticket["file"]["id"], response.status_code


async def complete(client: httpx.AsyncClient, token: str, file_id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(client, COMPLETE, {"id": file_id}, token=token))["data"]["r"]
    return result


async def test_a_clean_pdf_becomes_ready_and_downloads(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    token = await token_for(client, session)
    file_id, status = await send(client, token, PDF)
    assert status in (200, 204)
    before = (await gql(client, DOWNLOAD, {"id": file_id}, token=token))["data"]["r"]
    assert before["code"] == "NOT_READY"  # quarantined until checked
    done = await complete(client, token, file_id)
    assert done["file"]["status"] == "READY"
    assert done["file"]["scanVerdict"] == "CLEAN"
    again = await complete(client, token, file_id)
    assert again["file"]["status"] == "READY"  # completing twice is harmless
    link = (await gql(client, DOWNLOAD, {"id": file_id}, token=token))["data"]["r"]
    async with httpx.AsyncClient(timeout=30) as browser:
        fetched = await browser.get(link["url"])
    assert fetched.content == PDF
    assert (
        await session.scalar(
            select(func.count()).select_from(FileDownload).where(FileDownload.file_id == uuid.UUID(file_id))
        )
        == 1
    )
    other = await token_for(client, session, 2)
    refused = (await gql(client, DOWNLOAD, {"id": file_id}, token=other))["data"]["r"]
    assert refused["__typename"] == "NotFound"


async def test_eicar_is_rejected_by_clamd_and_removed(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    token = await token_for(client, session)
    file_id, _ = await send(client, token, EICAR, name="hoa-don.pdf")
    result = await complete(client, token, file_id)
    assert result["file"]["status"] == "REJECTED"
    assert result["file"]["scanVerdict"] == "INFECTED"
    assert "mã độc" in result["file"]["rejection"]
    row = await session.get(StoredFile, uuid.UUID(file_id))
    assert row is not None
    assert await store.size_of(row.object_key) is None  # the bytes are gone


async def test_the_type_comes_from_the_bytes(client: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await token_for(client, session)
    file_id, _ = await send(client, token, PNG, "application/pdf", name="anh.pdf")
    result = await complete(client, token, file_id)
    assert result["file"]["status"] == "REJECTED"
    assert "image/png" in result["file"]["rejection"]


async def test_a_wrong_checksum_is_rejected(client: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await token_for(client, session)
    tampered = PDF.replace(b"Catalog", b"Catalox")
    file_id, _ = await send(client, token, tampered, declared=PDF)
    result = await complete(client, token, file_id)
    assert result["file"]["status"] == "REJECTED"
    assert "SHA-256" in result["file"]["rejection"]


async def test_the_store_refuses_a_bigger_file_than_declared(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    token = await token_for(client, session)
    file_id, status = await send(client, token, PDF + b"x" * 100, declared=PDF)
    assert status == 400  # the POST policy's content-length-range, enforced by the store
    result = await complete(client, token, file_id)
    assert (result["__typename"], result["code"]) == ("Refused", "NOT_UPLOADED")


async def test_upload_validation(client: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await token_for(client, session)
    body = (await gql(client, START, {"n": "", "t": "text/html", "s": 0, "h": "xyz"}, token=token))["data"][
        "r"
    ]
    assert {tuple(e["field"]): e["code"] for e in body["errors"]} == {
        ("filename",): "BAD_FORMAT",
        ("contentType",): "UNKNOWN_FORMAT",
        ("size",): "OUT_OF_RANGE",
        ("sha256",): "BAD_FORMAT",
    }


async def test_uploads_never_completed_are_cleaned(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    token = await token_for(client, session)
    file_id, _ = await send(client, token, PDF)
    row = await session.get(StoredFile, uuid.UUID(file_id))
    assert row is not None
    assert await store.size_of(row.object_key) == len(PDF)
    cleaned = await uploads.clean_expired(session, store, now=NOW + timedelta(hours=1))
    assert cleaned >= 1
    await session.refresh(row)
    assert row.status is FileStatus.REJECTED
    assert await store.size_of(row.object_key) is None


VAULT = """query($s: String) { vaultDocuments(search: $s) { items { id title source version fileId } } }"""
ADD = """mutation($f: ID!, $t: String!, $k: String) { r: vaultDocumentAdd(fileId: $f, title: $t, docType: $k) {
  __typename ... on VaultDocumentSaved { document { id title version } } ... on ValidationFailed { errors { field code } } } }"""


async def test_the_vault(client: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await token_for(client, session)
    file_id, _ = await send(client, token, PDF)
    await complete(client, token, file_id)
    added = (
        await gql(client, ADD, {"f": file_id, "t": "Căn cước công dân", "k": "Giấy tờ tùy thân"}, token=token)
    )["data"]["r"]
    doc_id = added["document"]["id"]
    found = (await gql(client, VAULT, {"s": "can cuoc"}, token=token))["data"]["vaultDocuments"]["items"]
    assert [d["id"] for d in found] == [doc_id]
    assert (await gql(client, VAULT, {"s": "khai sinh"}, token=token))["data"]["vaultDocuments"][
        "items"
    ] == []
    second, _ = await send(client, token, PDF + b"\n% v2\n", name="cccd-moi.pdf")
    await complete(client, token, second)
    version = """mutation($id: ID!, $f: ID!) { r: vaultDocumentNewVersion(id: $id, fileId: $f) {
        ... on VaultDocumentSaved { document { version fileId } } } }"""
    bumped = (await gql(client, version, {"id": doc_id, "f": second}, token=token))["data"]["r"]["document"]
    assert bumped == {"version": 2, "fileId": second}
    other = await token_for(client, session, 2)
    assert (await gql(client, VAULT, {}, token=other))["data"]["vaultDocuments"]["items"] == []  # not theirs
    delete = "mutation($id: ID!) { r: vaultDocumentDelete(id: $id) { __typename } }"
    assert (await gql(client, delete, {"id": doc_id}, token=other))["data"]["r"]["__typename"] == "NotFound"
    assert (await gql(client, delete, {"id": doc_id}, token=token))["data"]["r"][
        "__typename"
    ] == "VaultDocumentSaved"
    assert (await gql(client, VAULT, {}, token=token))["data"]["vaultDocuments"]["items"] == []


async def test_consent_lets_an_agency_read_until_revoked(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    token = await token_for(client, session)
    file_id, _ = await send(client, token, PDF)
    await complete(client, token, file_id)
    doc = (await gql(client, ADD, {"f": file_id, "t": "Giấy khai sinh"}, token=token))["data"]["r"][
        "document"
    ]
    staff_id, _ = await make_staff(session, "cv-tuphap@phutho.gov.vn", ("SPECIALIST", "H44.19", False))
    staff = long_token(staff_id)
    assert (await gql(client, DOWNLOAD, {"id": file_id}, token=staff))["data"]["r"][
        "__typename"
    ] == "NotFound"
    grant = """mutation($d: [ID!], $e: DateTime!) { r: vaultGrantCreate(agencyCode: "H44.19", purpose: "Xác minh hồ sơ",
        expiresAt: $e, documentIds: $d) { ... on VaultGrantSaved { grant { id } } ... on ValidationFailed { errors { field code } } } }"""
    made = (
        await gql(client, grant, {"d": [doc["id"]], "e": (NOW + timedelta(days=7)).isoformat()}, token=token)
    )["data"]["r"]
    assert (await gql(client, DOWNLOAD, {"id": file_id}, token=staff))["data"]["r"][
        "__typename"
    ] == "DownloadLink"
    accesses = (await gql(client, "{ vaultAccesses { basis actor } }", token=token))["data"]["vaultAccesses"]
    assert accesses == [{"basis": "GRANT", "actor": f"staff:{staff_id}"}]
    revoke = "mutation($id: ID!) { r: vaultGrantRevoke(id: $id) { __typename } }"
    await gql(client, revoke, {"id": made["grant"]["id"]}, token=token)
    assert (await gql(client, DOWNLOAD, {"id": file_id}, token=staff))["data"]["r"][
        "__typename"
    ] == "NotFound"
    past = (await gql(client, grant, {"d": None, "e": (NOW - timedelta(days=1)).isoformat()}, token=token))[
        "data"
    ]["r"]
    assert past["errors"] == [{"field": ["expiresAt"], "code": "IN_PAST"}]
