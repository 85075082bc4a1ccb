"""Dossiers submitted on the national portal, received at `POST /national-portal/dossiers`: signed
and fresh requests only; a retry of the same portal dossier answers the same dossier and creates
nothing; field errors in the portal's names; files checked like uploads (type from the bytes,
malware scan); the dossier then follows the ordinary path, linked to the applicant's account
when one exists, and its events carry the portal's dossier id back."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from core.settings import Settings
from models.dossiers import Channel, ConsumerKind, Dossier, DossierEvent, PortalSubmission
from services.national_portal.feed import PortalClient, PortalConfig, PortalTransport, ensure_portal_consumer
from services.outbox.delivery import deliver_once
from services.outbox.signing import sign
from tests.conftest import CALENDAR, NOW, gql
from tests.dossiers.helpers import PDF, Scene, scene
from tests.national_portal.portal import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, Portal

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
STAMP = str(int(NOW.timestamp()))
FORM = "Tờ khai theo mẫu"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return Settings(**{**settings.model_dump(), "national_portal_signing_secret": SIGNING_SECRET})


def file(data: bytes = PDF, name: str = "to-khai.pdf", kind: str = "application/pdf") -> dict[str, str]:
    return {"TenTep": name, "LoaiTep": kind, "NoiDung": base64.b64encode(data).decode()}


def submission(s: Scene, portal_id: str = "QG-2611-000001", **overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "MaHoSoQG": portal_id,
        "MaTTHC": s.code,
        "MaCoQuan": "H44.99",
        "ChuHoSo": {
            "HoTen": "Trần Văn Bình",
            "LoaiDoiTuong": "CONG_DAN",
            "SoDinhDanh": "001090000123",
            "SoDienThoai": "0912345678",
        },
        "DuLieuToKhai": {"hoTen": "Trần Văn Bình"},
        "HinhThucNhanKetQua": "ONLINE",
        "ThanhPhanHoSo": [{"TenThanhPhan": FORM, "TepTin": [file()]}],
    }
    document.update(overrides)
    return document


async def post(
    client: httpx.AsyncClient,
    document: dict[str, Any],
    *,
    stamp: str = STAMP,
    secret: str = SIGNING_SECRET,
    signature: str | None = None,
) -> httpx.Response:
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "X-DVC-Timestamp": stamp,
        "X-DVC-Signature": signature if signature is not None else sign(secret, stamp, body),
    }
    return await client.post("/national-portal/dossiers", content=body, headers=headers)


async def dossiers_of(session: AsyncSession, portal_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(PortalSubmission)
        .where(PortalSubmission.portal_dossier_id == portal_id)
    )
    return int(count or 0)


async def test_a_portal_dossier_is_accepted_once_and_follows_the_ordinary_path(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    s = await scene(client, session)
    first = await post(client, submission(s))
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["MaHoSoQG"] == "QG-2611-000001"
    assert answer["TrangThai"] == "SUBMITTED"
    assert answer["MaHoSo"] is None  # the code is issued at reception, as for online dossiers
    dossier = await session.get_one(Dossier, answer["IdHoSo"], populate_existing=True)
    assert dossier.channel is Channel.NATIONAL_PORTAL
    assert dossier.applicant_account_id is None  # nobody with that citizen ID has an account here
    assert dossier.applicant_id_number == "001090000123"
    assert dossier.counts_from is not None
    events = list(await session.scalars(select(DossierEvent).where(DossierEvent.dossier_id == dossier.id)))
    assert [(e.action, e.to_status, e.actor_label) for e in events] == [
        ("SUBMIT", "SUBMITTED", "system:cong-dvc-quoc-gia")
    ]
    assert events[0].data["portalDossierId"] == "QG-2611-000001"

    # The portal retries (it never saw our answer): the same dossier, nothing new.
    again = await post(client, submission(s), stamp=str(int(NOW.timestamp()) + 20))
    assert again.status_code == 200
    assert again.json() == answer
    assert await dossiers_of(session, "QG-2611-000001") == 1

    # Another request under the same portal id is a conflict.
    other = submission(s, DuLieuToKhai={"hoTen": "Người khác"})
    conflict = await post(client, other)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "DUPLICATE_PORTAL_DOSSIER"

    # The one-stop officer receives it like any other dossier.
    query = "query($id: ID!) { dossier(id: $id) { status channel attachments { kind filename } } }"
    seen = (await gql(client, query, {"id": answer["IdHoSo"]}, token=s.reception))["data"]["dossier"]
    assert seen == {
        "status": "SUBMITTED",
        "channel": "NATIONAL_PORTAL",
        "attachments": [{"kind": "COMPONENT", "filename": "to-khai.pdf"}],
    }
    # A citizen who is not the applicant does not see it.
    assert (await gql(client, query, {"id": answer["IdHoSo"]}, token=s.citizen))["data"]["dossier"] is None


async def test_the_applicants_account_is_linked_by_citizen_id(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    s = await scene(client, session)
    owner = {"HoTen": "Công dân Một", "LoaiDoiTuong": "CONG_DAN", "SoDinhDanh": "025190000001"}
    response = await post(client, submission(s, "QG-2611-000002", ChuHoSo=owner))
    assert response.status_code == 201, response.text
    query = "query($id: ID!) { dossier(id: $id) { status channel } }"
    mine = (await gql(client, query, {"id": response.json()["IdHoSo"]}, token=s.citizen))["data"]["dossier"]
    assert mine == {"status": "SUBMITTED", "channel": "NATIONAL_PORTAL"}


async def test_unsigned_wrongly_signed_and_stale_requests_are_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    s = await scene(client, session)
    document = submission(s, "QG-2611-000003")
    wrong = await post(client, document, secret="another-secret-0123456789abcdefghij")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "BAD_SIGNATURE"
    unsigned = await post(client, document, signature="")
    assert unsigned.status_code == 401
    stale = await post(client, document, stamp=str(int(NOW.timestamp()) - 3600))
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "STALE"
    no_stamp = await post(client, document, stamp="")
    assert no_stamp.status_code == 401
    assert await dossiers_of(session, "QG-2611-000003") == 0


async def test_field_errors_name_the_portals_fields(client: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await scene(client, session)
    unknown = await post(client, submission(s, "QG-2611-000004", MaTTHC="1.999999"))
    assert unknown.status_code == 400
    error = unknown.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert error["errors"] == [{"field": "MaTTHC", "code": "UNKNOWN", "message": "Thủ tục không tồn tại."}]
    assert await dossiers_of(session, "QG-2611-000004") == 0  # the id is free for a corrected request

    broken = submission(
        s,
        "QG-2611-000005",
        MaCoQuan=None,
        ChuHoSo={"HoTen": "", "SoDinhDanh": "12"},
        ThanhPhanHoSo=[
            {
                "TenThanhPhan": FORM,
                "TepTin": [{"TenTep": "a.pdf", "LoaiTep": "application/pdf", "NoiDung": "%%%"}],
            }
        ],
    )
    response = await post(client, broken)
    assert response.status_code == 400
    fields = {(e["field"], e["code"]) for e in response.json()["error"]["errors"]}
    assert fields == {
        ("MaCoQuan", "REQUIRED"),
        ("ChuHoSo.HoTen", "REQUIRED"),
        ("ChuHoSo.SoDinhDanh", "BAD_FORMAT"),
        ("ThanhPhanHoSo.0.TepTin.0.NoiDung", "BAD_FORMAT"),
    }

    no_component = submission(
        s, "QG-2611-000006", ThanhPhanHoSo=[{"TenThanhPhan": "Không có", "TepTin": [file()]}]
    )
    response = await post(client, no_component)
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["field"] == "ThanhPhanHoSo.0.TenThanhPhan"

    missing_form = submission(s, "QG-2611-000007", ThanhPhanHoSo=[])
    response = await post(client, missing_form)
    assert response.status_code == 400
    assert {e["code"] for e in response.json()["error"]["errors"]} == {"MISSING_COMPONENT"}

    not_json = await client.post(
        "/national-portal/dossiers",
        content=b"{",
        headers={"X-DVC-Timestamp": STAMP, "X-DVC-Signature": sign(SIGNING_SECRET, STAMP, b"{")},
    )
    assert not_json.status_code == 400
    assert not_json.json()["error"]["code"] == "BAD_JSON"


async def test_files_go_through_the_upload_checks(client: httpx.AsyncClient, session: AsyncSession) -> None:
    s = await scene(client, session)
    infected = submission(
        s, "QG-2611-000008", ThanhPhanHoSo=[{"TenThanhPhan": FORM, "TepTin": [file(EICAR)]}]
    )
    response = await post(client, infected)
    assert response.status_code == 400
    [problem] = response.json()["error"]["errors"]
    assert problem["field"] == "ThanhPhanHoSo.0.TepTin.0"
    assert problem["code"] == "FILE_REJECTED"
    assert "mã độc" in problem["message"]

    disguised = submission(
        s,
        "QG-2611-000008",
        ThanhPhanHoSo=[{"TenThanhPhan": FORM, "TepTin": [file(b"just some text, not a PDF")]}],
    )
    response = await post(client, disguised)
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["code"] == "FILE_REJECTED"
    assert await dossiers_of(session, "QG-2611-000008") == 0

    # Corrected, the same portal id is accepted.
    assert (await post(client, submission(s, "QG-2611-000008"))).status_code == 201


async def test_an_oversized_body_is_refused_before_it_is_read(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/national-portal/dossiers",
        content=b"x",
        headers={"Content-Length": str(10**9), "X-DVC-Timestamp": STAMP, "X-DVC-Signature": "x"},
    )
    assert response.status_code == 413


async def test_the_feed_tells_the_portal_its_own_dossier_id(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    s = await scene(client, session)
    accepted = (await post(client, submission(s, "QG-2611-000009"))).json()
    with Portal() as portal:
        config = PortalConfig(
            portal.base, portal.token_url, CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, CALENDAR.zone
        )
        await ensure_portal_consumer(session, config, now=NOW)
        transport = PortalTransport(PortalClient(config, FixedClock(NOW)))
        async with httpx.AsyncClient(timeout=5.0) as http:
            await deliver_once(
                session, http, now=NOW, batch=10_000, transports={ConsumerKind.NATIONAL_PORTAL: transport}
            )
        [sync] = portal.syncs(accepted["IdHoSo"])
    assert sync.json["MaHoSoQG"] == "QG-2611-000009"
    assert sync.json["HanhDong"] == "SUBMIT"
    assert sync.json["TrangThaiHoSo"] == 1
    assert sync.json["ChuHoSo"] == "Trần Văn Bình"
