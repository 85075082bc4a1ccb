"""SMS through a real HTTP gateway: signed requests with text and reference, the 320-character cut,
gateway errors retried, a wrong key refused, numbers that are not mobiles given up at once."""

from __future__ import annotations

import unicodedata

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import (
    MAX_ATTEMPTS,
    backoff,
    deliver_round,
    sms_text,
)
from tests.conftest import NOW
from tests.notifications.servers import BODY, Gateway, add, reload, sms_sender

# --- SMS ----------------------------------------------------------------------------------------


async def test_sms_arrives_signed_with_text_and_ref(
    session: AsyncSession, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    row = await add(session, "SMS", "+84912345678")

    done = await deliver_round(session, mailer=None, sms=sms_sender(gateway, http), now=NOW)

    assert (done.sent, done.failed, done.skipped) == (1, 0, 0)
    assert gateway.requests == 1
    assert gateway.received == [
        {"to": "+84912345678", "from": "UBND TTHue", "text": BODY, "ref": str(row.seq)}
    ]
    row = await reload(session, row)
    assert (row.sent_at, row.attempts, row.last_error) == (NOW, 0, None)


async def test_sms_text_is_cut_at_320_characters(
    session: AsyncSession, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    long_body = "Hồ sơ của ông/bà đã được tiếp nhận. " * 20  # 720 characters
    await add(session, "SMS", "0987 654 321", body=long_body)

    await deliver_round(session, mailer=None, sms=sms_sender(gateway, http), now=NOW)

    [received] = gateway.received
    assert received["to"] == "+84987654321"
    assert len(received["text"]) == 320
    assert received["text"] == long_body[:319] + "…"
    assert sms_text(unicodedata.normalize("NFD", "Mã xác thực")) == "Mã xác thực"  # NFC: one unit per letter


async def test_sms_gateway_error_is_kept_and_retried(
    session: AsyncSession, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    row = await add(session, "SMS", "+84912345678")
    gateway.fail = 1
    sms = sms_sender(gateway, http)

    done = await deliver_round(session, mailer=None, sms=sms, now=NOW)

    assert (done.sent, done.failed) == (0, 1)
    row = await reload(session, row)
    assert (row.sent_at, row.attempts) == (None, 1)
    assert row.last_error == "SMS gateway 503: Hệ thống bận, thử lại sau"

    done = await deliver_round(session, mailer=None, sms=sms, now=NOW + backoff(1))
    assert (done.sent, done.failed) == (1, 0)
    assert [m["ref"] for m in gateway.received] == [str(row.seq)]


async def test_sms_with_a_wrong_key_is_refused_by_the_gateway(
    session: AsyncSession, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    row = await add(session, "SMS", "+84912345678")

    done = await deliver_round(session, mailer=None, sms=sms_sender(gateway, http, api_key="wrong"), now=NOW)

    assert (done.sent, done.failed) == (0, 1)
    assert (await reload(session, row)).last_error == "SMS gateway 401: Sai khóa truy cập"
    assert gateway.received == []


async def test_sms_to_a_number_that_is_not_a_mobile_gives_up_at_once(
    session: AsyncSession, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    row = await add(session, "SMS", "024 3825 1234")

    done = await deliver_round(session, mailer=None, sms=sms_sender(gateway, http), now=NOW)

    assert (done.sent, done.failed, done.gave_up) == (0, 1, 1)
    row = await reload(session, row)
    assert (row.attempts, row.last_error) == (
        MAX_ATTEMPTS,
        "gave up after 1 attempt: not a Vietnamese mobile number",
    )
    assert gateway.requests == 0
