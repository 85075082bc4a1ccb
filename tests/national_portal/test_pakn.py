"""Feedback shared with the national feedback system, against the local server that speaks the
national portal's API (tests.national_portal.portal): our published feedback goes out signed and
authorised, with the public, redacted texts only; feedback the national system hands us arrives
at POST /national-portal/feedback (signed, each message applied once), follows the ordinary path,
and every change of it goes back in order, a failure retried without losing or reordering any."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from core.settings import Settings
from models.feedback import Inquiry, InquiryChannel, InquiryDelivery, InquiryStatus
from services.national_portal.feed import PortalClient, PortalConfig, portal_config
from services.national_portal.pakn import deliver_pakn_once
from services.outbox.signing import sign, verify_signature
from tests.conftest import NOW
from tests.feedback.test_inquiries import (
    ANSWER,
    ANSWER_TEXT,
    FORWARD,
    QUESTION,
    REVIEW,
    SUBMIT,
    citizen_token,
    people,
    run,
)
from tests.national_portal.portal import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, Portal

STAMP = str(int(NOW.timestamp()))
PERSONAL = ("Nguyễn Thị Lan", "0912 300 001", "0912300001", "lan1@example.vn", "025190000001")
FEEDBACK = {**QUESTION, "kind": "FEEDBACK", "title": "Thời gian chờ tại bộ phận một cửa quá lâu"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return Settings(**{**settings.model_dump(), "national_portal_signing_secret": SIGNING_SECRET})


@pytest.fixture
def portal() -> Iterator[Portal]:
    with Portal() as p:
        yield p


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=1.0) as c:
        yield c


@pytest.fixture
def portal_client(portal: Portal, settings: Settings) -> PortalClient:
    configured = Settings(
        **{
            **settings.model_dump(),
            "national_portal_url": portal.base + "/",
            "national_portal_token_url": portal.token_url,
            "national_portal_client_id": CLIENT_ID,
            "national_portal_client_secret": CLIENT_SECRET,
        }
    )
    config: PortalConfig | None = portal_config(configured)
    assert config is not None
    return PortalClient(config, FixedClock(NOW))


async def publish(
    client: httpx.AsyncClient, session: AsyncSession, clock: FixedClock, item: dict[str, Any]
) -> str:
    citizen = await citizen_token(client, session)
    staff = await people(session)
    q = (await run(client, SUBMIT, citizen, i=item))["inquiry"]
    clock.at = NOW + timedelta(days=1)
    await run(client, FORWARD, staff["focal"], id=q["id"], a="H44.19", f="HOTICH")
    await run(client, ANSWER, staff["justice"], id=q["id"], t=ANSWER_TEXT)
    published = await run(client, REVIEW, staff["focal"], id=q["id"], p=True)
    assert published["inquiry"]["status"] == "PUBLISHED", published
    return str(q["id"])


async def test_kon_tum_art_21_published_feedback_goes_to_the_national_system_without_personal_data(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FixedClock,
    http: httpx.AsyncClient,
    portal: Portal,
    portal_client: PortalClient,
) -> None:
    """Kon Tum regulation (QĐ 05/2022/QĐ-UBND) art. 21.1: the province's feedback system is
    integrated with and shared with the national portal's; Decree 13/2023: what is sent carries
    no personal data (only the public, redacted texts of a published answer)."""
    ident = await publish(client, session, clock, FEEDBACK)
    run_ = await deliver_pakn_once(session, http, portal_client, now=clock.now())
    await session.commit()
    calls = portal.pakn(ident)
    assert [c.answered for c in calls] == [200]  # only the publication: the earlier steps were ours
    assert (run_.sent, run_.skipped, run_.failed) == (1, 3, 0)
    call = calls[0]
    assert call.headers["authorization"].startswith("Bearer ")
    assert verify_signature(
        SIGNING_SECRET, call.headers["x-dvc-timestamp"], call.body, call.headers["x-dvc-signature"]
    )
    sent = call.json
    assert (sent["HanhDong"], sent["TrangThai"], sent["LoaiPAKN"]) == (
        "PUBLISH",
        "DA_CONG_KHAI",
        "PHAN_ANH_KIEN_NGHI",
    )
    assert (sent["CoQuanXuLy"], sent["LinhVuc"]) == ("000.00.19.H44", "HOTICH")  # the electronic id
    assert "giấy chứng sinh" in sent["TraLoi"]
    assert "[đã ẩn]" in sent["NoiDung"]
    text = call.body.decode()
    for personal in PERSONAL:
        assert personal not in text
    assert not {"HoTen", "Email", "SoDienThoai", "DiaChi", "NguoiGui"} & set(sent)

    # Nothing more to send: the next round makes no request.
    again = await deliver_pakn_once(session, http, portal_client, now=clock.now())
    assert (again.sent, again.failed) == (0, 0)
    assert len(portal.pakn(ident)) == 1


async def test_kon_tum_art_21_questions_stay_here(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FixedClock,
    http: httpx.AsyncClient,
    portal: Portal,
    portal_client: PortalClient,
) -> None:
    """Kon Tum regulation art. 21 shares the feedback (phản ánh, kiến nghị) system: our own
    questions (hỏi – đáp) are published here only."""
    ident = await publish(client, session, clock, QUESTION)
    done = await deliver_pakn_once(session, http, portal_client, now=clock.now())
    assert done.sent == 0
    assert portal.pakn(ident) == []


def message(**fields: Any) -> dict[str, Any]:
    return {
        "MaThongDiep": "TD-0001",
        "Loai": "TIEP_NHAN",
        "MaPAKNQG": "PAKN-QG-2612-0001",
        "LoaiPAKN": "PHAN_ANH_KIEN_NGHI",
        "TieuDe": "Cán bộ một cửa hẹn trả kết quả trễ",
        "NoiDung": "Tôi là Trần Văn Bình, số 0912 345 678, hồ sơ nộp ngày 20/11 đến nay chưa có kết quả.",
        "MaCoQuan": "H44.99",
        "NguoiGui": {"HoTen": "Trần Văn Bình", "SoDienThoai": "0912345678", "Email": "binh@example.vn"},
        **fields,
    }


async def post(
    client: httpx.AsyncClient, document: dict[str, Any], *, secret: str = SIGNING_SECRET
) -> httpx.Response:
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "X-DVC-Timestamp": STAMP,
        "X-DVC-Signature": sign(secret, STAMP, body),
    }
    return await client.post("/national-portal/feedback", content=body, headers=headers)


async def test_kon_tum_art_21_feedback_from_the_national_system_is_applied_once_and_reported_back(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: FixedClock,
    http: httpx.AsyncClient,
    portal: Portal,
    portal_client: PortalClient,
) -> None:
    """Kon Tum regulation art. 21.1–2 (Decision 31/2021/QĐ-TTg ch. VI): feedback received on the
    national portal for the province is handled here and its progress shared back; each signed
    message is applied once, a retry answers the same, a failed delivery is retried in order."""
    forged = await post(client, message(), secret="x" * 40)
    assert forged.status_code == 401
    first = await post(client, message())
    assert first.status_code == 201, first.text
    ident = first.json()["IdPAKN"]
    assert first.json()["MaPAKNQG"] == "PAKN-QG-2612-0001"
    retried = await post(client, message())
    assert (retried.status_code, retried.json()["IdPAKN"]) == (200, ident)
    clash = await post(client, message(TieuDe="Một nội dung khác hẳn"))
    assert clash.status_code == 409
    other_id = await post(client, message(MaThongDiep="TD-0002"))
    assert other_id.status_code == 400  # the same national feedback twice is refused
    row = await session.get_one(Inquiry, ident, populate_existing=True)
    assert (row.channel, row.status, row.national_id) == (
        InquiryChannel.NATIONAL_PORTAL,
        InquiryStatus.RECEIVED,
        "PAKN-QG-2612-0001",
    )
    assert len(list(await session.scalars(select(Inquiry)))) == 1

    # The national system is down for the first report: retried after a backoff, nothing lost.
    portal.plan(ident, 503)
    failed = await deliver_pakn_once(session, http, portal_client, now=clock.now())
    await session.commit()
    assert failed.failed == 1
    position = await session.get_one(InquiryDelivery, row.id, populate_existing=True)
    assert (position.delivered_seq, position.attempts, position.last_error) == (0, 1, "HTTP 503")
    early = await deliver_pakn_once(session, http, portal_client, now=clock.now())
    assert early.sent == 0  # not due yet

    # Answered there (by a ministry), then withdrawn by the citizen: both applied, in order.
    answered = await post(
        client,
        message(
            MaThongDiep="TD-0003",
            Loai="CAP_NHAT",
            TrangThai="DA_TRA_LOI",
            TraLoi="Bộ đã trả lời trực tiếp cho công dân qua Cổng.",
        ),
    )
    assert (answered.status_code, answered.json()["TrangThai"]) == (200, "ANSWERED")
    withdrawn = await post(
        client,
        message(
            MaThongDiep="TD-0004",
            Loai="CAP_NHAT",
            TrangThai="RUT",
            GhiChu="Ông Trần Văn Bình đã được giải quyết.",
        ),
    )
    assert (withdrawn.status_code, withdrawn.json()["TrangThai"]) == (200, "DECLINED")
    late = await post(client, message(MaThongDiep="TD-0005", Loai="CAP_NHAT", TrangThai="RUT"))
    assert late.status_code == 409
    unknown = await post(
        client, message(MaThongDiep="TD-0006", Loai="CAP_NHAT", MaPAKNQG="PAKN-KHONG-CO", TrangThai="RUT")
    )
    assert unknown.status_code == 404

    portal.revoke_tokens()  # the token expired there: 401, a new one, the same event again
    later = await deliver_pakn_once(session, http, portal_client, now=clock.now() + timedelta(minutes=1))
    await session.commit()
    assert (later.sent, later.failed) == (3, 0)
    assert portal.tokens_issued == 2
    delivered = [c.json for c in portal.pakn(ident) if c.answered == 200]
    assert [(d["HanhDong"], d["TrangThai"]) for d in delivered] == [
        ("SUBMIT", "DA_TIEP_NHAN"),
        ("NATIONAL_ANSWER", "DA_CO_TRA_LOI"),
        ("NATIONAL_WITHDRAW", "KHONG_XU_LY"),
    ]
    assert all(d["MaPAKNQG"] == "PAKN-QG-2612-0001" for d in delivered)
    assert "Trần Văn Bình" not in delivered[-1]["LyDoKhongXuLy"]
    for call in portal.pakn(ident):
        for personal in ("0912345678", "binh@example.vn", "Trần Văn Bình"):
            assert personal not in call.body.decode()
