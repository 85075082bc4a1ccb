"""Uploads straight to the real object store through presigned forms, checked on completion
(size, checksum, type from the bytes, ClamAV scan with a real clamd); downloads only for those
allowed, recorded; the vault; reuse in a second dossier; consent for an agency."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from core.clock import FixedClock
from core.observability import REGISTRY
from core.settings import Settings
from devservers import EmbeddedClamd
from models.dossiers import FileDownload, FileStatus, StoredFile
from services import uploads
from services.uploads import ScanVerdict
from storage.clamav import ClamAV
from storage.s3 import ObjectStore
from tests.accounts.helpers import make_staff, token_for
from tests.conftest import NOW, app_runtime, gql
from tests.dossiers.helpers import PDF, long_token

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4f20000000049454e44ae426082"
)
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

START = """mutation($n: String!, $t: String!, $s: ByteCount!, $h: String!) {
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
    ticket = await start(client, token, declared, content_type, name=name)
    return ticket["file"]["id"], await post_form(ticket, data, content_type, name=name)


async def start(
    client: httpx.AsyncClient,
    token: str,
    declared: bytes,
    content_type: str = "application/pdf",
    *,
    name: str = "giay-to.pdf",
) -> dict[str, Any]:
    """`fileUploadStart` for these bytes: the ticket (url, form fields, file)."""
    ticket: dict[str, Any] = (
        await gql(
            client,
            START,
            {"n": name, "t": content_type, "s": len(declared), "h": hashlib.sha256(declared).hexdigest()},
            token=token,
        )
    )["data"]["r"]
    assert ticket["__typename"] == "UploadTicket", ticket
    return ticket


async def post_form(
    ticket: dict[str, Any], data: bytes, content_type: str = "application/pdf", *, name: str = "giay-to.pdf"
) -> int:
    """POST the ticket's form with `data` straight to the store, like a browser; the store's status."""
    async with httpx.AsyncClient(timeout=30) as browser:
        response = await browser.post(
            ticket["url"], data=ticket["fields"], files={"file": (name, data, content_type)}
        )
    return response.status_code


async def served(client: httpx.AsyncClient, token: str, file_id: str) -> bytes:
    """What `fileDownload` hands out for the file: the bytes behind its presigned URL."""
    link = (await gql(client, DOWNLOAD, {"id": file_id}, token=token))["data"]["r"]
    assert link["__typename"] == "DownloadLink", link
    async with httpx.AsyncClient(timeout=30) as browser:
        fetched = await browser.get(link["url"])
    assert fetched.status_code == 200
    return fetched.content


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
    staged = uploads.staging_key(row.id)
    assert await store.size_of(staged) == len(PDF)
    assert await store.size_of(row.object_key) is None  # the form cannot write where files are served
    cleaned = await uploads.clean_expired(session, store, now=NOW + timedelta(hours=1))
    assert cleaned >= 1
    await session.refresh(row)
    assert row.status is FileStatus.REJECTED
    assert await store.size_of(staged) is None


# Same size as PDF, other bytes (still a PDF, so only the digest tells them apart).
SWAPPED = PDF.replace(b"Catalog", b"Catalox")


async def test_a_ticket_posted_again_after_completion_changes_nothing_served(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    """Attack: complete a clean upload, then POST the same (still valid) form with other bytes."""
    token = await token_for(client, session)
    ticket = await start(client, token, PDF)
    file_id = ticket["file"]["id"]
    assert await post_form(ticket, PDF) in (200, 204)
    assert (await complete(client, token, file_id))["file"]["status"] == "READY"
    assert len(SWAPPED) == len(PDF)
    assert await post_form(ticket, SWAPPED) in (200, 204, 400, 403)  # the store may take it: no matter
    row = await session.get(StoredFile, uuid.UUID(file_id))
    assert row is not None
    body = await served(client, token, file_id)
    assert hashlib.sha256(body).hexdigest() == row.sha256
    assert body == PDF
    # what the second POST left behind is read by nobody and swept by the scheduled jobs
    assert await uploads.sweep_staging(session, store) >= 1
    assert await store.size_of(uploads.staging_key(uuid.UUID(file_id))) is None
    assert await served(client, token, file_id) == PDF


class PostsDuringScan:
    """The real clamd, with the uploader's second POST of the form sent while the scan reads."""

    def __init__(self, inner: ClamAV) -> None:
        self.inner = inner
        self.ticket: dict[str, Any] = {}
        self.posted: list[int] = []

    async def scan_stream(self, chunks: AsyncIterator[bytes]) -> ScanVerdict:
        async def read() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                yield chunk
                if not self.posted:
                    self.posted.append(await post_form(self.ticket, SWAPPED))

        return await self.inner.scan_stream(read())

    async def ping(self) -> bool:
        return await self.inner.ping()


async def test_bytes_replaced_while_they_are_scanned_are_never_served(
    clamd: EmbeddedClamd,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    store: ObjectStore,
    clock: FixedClock,
) -> None:
    scanner = PostsDuringScan(ClamAV(clamd.socket_path))
    runtime = app_runtime(settings, session_factory, store, clock=clock, scanner=scanner)
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        token = await token_for(client, session)
        scanner.ticket = await start(client, token, PDF)
        file_id = scanner.ticket["file"]["id"]
        assert await post_form(scanner.ticket, PDF) in (200, 204)
        result = await complete(client, token, file_id)
        assert scanner.posted in ([200], [204]), "the store took the second POST during the scan"
        if result["file"]["status"] == "READY":  # else refused: nothing is served at all
            row = await session.get(StoredFile, uuid.UUID(file_id))
            assert row is not None
            body = await served(client, token, file_id)
            assert hashlib.sha256(body).hexdigest() == row.sha256
            assert body == PDF


async def test_the_scheduled_digest_check_stops_serving_a_tampered_file(
    client: httpx.AsyncClient,
    session: AsyncSession,
    store: ObjectStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = await token_for(client, session)
    file_id, _ = await send(client, token, PDF)
    assert (await complete(client, token, file_id))["file"]["status"] == "READY"
    row = await session.get(StoredFile, uuid.UUID(file_id))
    assert row is not None
    clean = await uploads.verify_stored(session, store, now=NOW, limit=100_000)
    assert row.id not in clean.damaged
    await session.refresh(row)
    assert row.verified_at == NOW
    before = REGISTRY.get_sample_value("dvc_file_integrity_failures_total", {"problem": "different"}) or 0.0

    await store.put_bytes(row.object_key, SWAPPED, "application/pdf")  # behind the service's back
    later = NOW + timedelta(hours=6)
    with caplog.at_level(logging.ERROR, logger="services.uploads"):
        found = await uploads.verify_stored(session, store, now=later, limit=100_000)
    assert row.id in found.damaged
    assert any(file_id in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    after = REGISTRY.get_sample_value("dvc_file_integrity_failures_total", {"problem": "different"})
    assert after == before + 1
    await session.refresh(row)
    assert row.status is FileStatus.DAMAGED
    refused = (await gql(client, DOWNLOAD, {"id": file_id}, token=token))["data"]["r"]
    assert refused["code"] == "NOT_READY"

    await store.put_bytes(row.object_key, PDF, "application/pdf")  # restored from a backup
    mended = await uploads.verify_stored(session, store, now=later + timedelta(hours=6), limit=100_000)
    assert row.id in mended.restored
    assert (await session.get_one(StoredFile, row.id, populate_existing=True)).status is FileStatus.READY
    assert await served(client, token, file_id) == PDF


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


PAPER = """mutation($f: ID!) { r: paperConvert(fileId: $f) {
  __typename ... on PaperConverted { verificationCode } ... on Refused { code } ... on NotFound { code } } }"""


async def test_only_a_checked_file_becomes_a_verifiable_paper(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A paper conversion certifies the file's checksum with a verification code: a file whose bytes
    were never checked (upload not completed) or no longer match (DAMAGED) must not get one."""
    token = await token_for(client, session)
    ticket = await start(client, token, PDF)  # started, never completed: PENDING
    pending = (await gql(client, PAPER, {"f": ticket["file"]["id"]}, token=token))["data"]["r"]
    assert pending == {"__typename": "Refused", "code": "NOT_READY"}

    file_id, _ = await send(client, token, PDF)
    assert (await complete(client, token, file_id))["file"]["status"] == "READY"
    row = await session.get_one(StoredFile, uuid.UUID(file_id))
    row.status = FileStatus.DAMAGED  # as the scheduled digest check leaves a tampered file
    await session.flush()
    damaged = (await gql(client, PAPER, {"f": file_id}, token=token))["data"]["r"]
    assert damaged == {"__typename": "Refused", "code": "NOT_READY"}

    row.status = FileStatus.READY
    await session.flush()
    converted = (await gql(client, PAPER, {"f": file_id}, token=token))["data"]["r"]
    assert converted["__typename"] == "PaperConverted", converted
