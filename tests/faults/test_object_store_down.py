"""The object store down while the app runs: what needs files fails with a clear, typed error,
everything else keeps working, readiness says so, and recovery is automatic when it is back."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import httpx
import pytest

from tests.dossiers.helpers import PDF
from tests.faults.conftest import Site, gql, record

pytestmark = pytest.mark.faults

START = """mutation($n: String!, $t: String!, $s: ByteCount!, $h: String!) {
  r: fileUploadStart(filename: $n, contentType: $t, size: $s, sha256: $h) {
    __typename ... on UploadTicket { url fields file { id status } } ... on Refused { code message } } }"""
COMPLETE = """mutation($id: ID!) { r: fileUploadComplete(fileId: $id) {
  __typename ... on FileResult { file { id status rejection } } ... on Refused { code message } } }"""
SAVE = """mutation($input: DossierDraftInput!) { r: dossierSaveDraft(input: $input) {
  __typename ... on DossierChanged { dossier { id } } ... on UserError { code message } } }"""
SUBMIT = """mutation($id: ID!) { r: dossierSubmit(id: $id) {
  __typename ... on DossierChanged { dossier { id status code } } ... on UserError { code message } } }"""
CATALOG = (
    """query { procedures(search: "khai sinh", first: 3) { totalCount edges { node { code name } } } }"""
)
MINE = "query($id: ID!) { dossier(id: $id) { id status } }"
RECOVERY_BOUND = 60.0


async def _uploaded(site: Site, base: str) -> str:
    """A file whose bytes are in the store, not yet completed (checked)."""
    token = site.tokens["citizen"]
    ticket = (
        await gql(
            base,
            token,
            START,
            {"n": "to-khai.pdf", "t": "application/pdf", "s": len(PDF), "h": hashlib.sha256(PDF).hexdigest()},
        )
    )["data"]["r"]
    assert ticket["__typename"] == "UploadTicket", ticket
    async with httpx.AsyncClient(timeout=30) as browser:
        sent = await browser.post(
            ticket["url"], data=ticket["fields"], files={"file": ("to-khai.pdf", PDF, "application/pdf")}
        )
    assert sent.status_code in (200, 201, 204), sent.text
    file_id: str = ticket["file"]["id"]
    return file_id


async def _ready(base: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(f"{base}/readyz")


async def _submitted(site: Site, base: str, file_id: str) -> dict[str, Any]:
    token = site.tokens["citizen"]
    draft = (
        await gql(
            base,
            token,
            SAVE,
            {
                "input": {
                    "procedureCode": "9.999001",
                    "receivingAgencyCode": "H44.99",
                    "formData": {"hoTen": "Nguyễn Thị Lan"},
                    "components": [
                        {"componentId": site.components["Tờ khai theo mẫu"], "fileIds": [file_id]}
                    ],
                }
            },
        )
    )["data"]["r"]
    assert draft["__typename"] == "DossierChanged", draft
    result: dict[str, Any] = (await gql(base, token, SUBMIT, {"id": draft["dossier"]["id"]}))["data"]["r"]
    return result


async def test_object_store_down_then_back(site: Site) -> None:
    app = site.start_app("s3-down")
    token = site.tokens["citizen"]
    ready_files = await site.new_files(1)  # checked before the outage
    waiting = await _uploaded(site, app.base)  # bytes sent, completion pending

    await asyncio.to_thread(site.stop_s3)
    down_at = time.monotonic()
    try:
        readiness = await _ready(app.base)
        assert readiness.status_code == 503
        assert readiness.json()["checks"]["objectStore"] is False
        assert readiness.json()["checks"]["database"] is True

        # What needs the store fails clearly: a typed refusal, nothing half-done.
        started = time.monotonic()
        completed = (await gql(app.base, token, COMPLETE, {"id": waiting}))["data"]["r"]
        completion_seconds = time.monotonic() - started
        assert completed == {
            "__typename": "Refused",
            "code": "OBJECT_STORE_UNAVAILABLE",
            "message": "Kho lưu trữ tệp tạm thời không hoạt động; vui lòng thử lại sau ít phút.",
        }
        # A new ticket may be handed out (it is only a signature) but the store takes nothing.
        ticket = (
            await gql(
                app.base,
                token,
                START,
                {"n": "b.pdf", "t": "application/pdf", "s": len(PDF), "h": hashlib.sha256(PDF).hexdigest()},
            )
        )["data"]["r"]
        assert ticket["__typename"] in ("UploadTicket", "Refused"), ticket
        if ticket["__typename"] == "Refused":
            assert ticket["code"] == "OBJECT_STORE_UNAVAILABLE"

        # Everything else keeps working: the catalog, drafts and submissions with checked files,
        # the citizen's own dossiers.
        catalog = await gql(app.base, None, CATALOG)
        assert "errors" not in catalog, catalog
        assert catalog["data"]["procedures"]["totalCount"] > 0
        submitted = await _submitted(site, app.base, ready_files[0])
        assert submitted["__typename"] == "DossierChanged", submitted
        assert submitted["dossier"]["status"] == "SUBMITTED"
        mine = await gql(app.base, token, MINE, {"id": submitted["dossier"]["id"]})
        assert mine["data"]["dossier"]["status"] == "SUBMITTED"
    finally:
        down_seconds = time.monotonic() - down_at
        await asyncio.to_thread(site.start_s3_again)

    # Back by itself: readiness, then the completion that failed now succeeds.
    up_at = time.monotonic()
    while (await _ready(app.base)).status_code != 200:
        assert time.monotonic() - up_at < RECOVERY_BOUND, "the app did not see the store again"
        await asyncio.sleep(0.5)
    recovered_after = time.monotonic() - up_at
    completed = (await gql(app.base, token, COMPLETE, {"id": waiting}))["data"]["r"]
    assert completed["__typename"] == "FileResult", completed
    assert completed["file"]["status"] == "READY"
    again = await _submitted(site, app.base, waiting)
    assert again["__typename"] == "DossierChanged", again
    record(
        "object-store-down",
        {
            "store down s": round(down_seconds, 1),
            "completion refused in s": round(completion_seconds, 2),
            "ready again after s": round(recovered_after, 1),
        },
    )
