"""Public lookups under attack: guessing codes is rate-limited per address, per account and per
SMS sender; a wrong second factor reveals nothing beyond the public view.

Sign-in and registration limits (per address and per identifier) are proven in
tests/accounts/test_locks.py and tests/accounts/test_registration.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from core.db import make_engine, make_session_factory
from core.settings import Settings
from models.accounts import RateCounter
from services.accounts.journal import Journal, RequestMeta
from services.lookup_limits import LookupLimiter, RateLimit
from storage.s3 import ObjectStore
from tests.conftest import ADMIN_ID, ADMIN_TOKEN, NOW, SMS_KEY, Servers, gql
from tests.dossiers.helpers import act
from tests.dossiers.test_access_and_integrity import submitted
from tests.hardening.helpers import error_codes, runtime

STATUS = "query($c: String!) { dossierStatus(code: $c) { public { status } } }"
TRACK = "query($c: String!) { inquiryTracking(code: $c) { status } }"
UNKNOWN = "000.00.99.H44-261127-9999"


@asynccontextmanager
async def clients(
    settings: Settings, factory: async_sessionmaker[AsyncSession], *addresses: str, **changes: object
) -> AsyncIterator[list[httpx.AsyncClient]]:
    app = create_app(runtime(settings, factory, None, **changes))
    opened = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(a, 5000)), base_url="http://test")
        for a in addresses
    ]
    try:
        yield opened
    finally:
        for c in opened:
            await c.aclose()


async def test_dossier_status_and_inquiry_tracking_share_a_limit_per_address(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with clients(settings, session_factory, "203.0.113.7", "203.0.113.8", lookup_rate_limit=3) as (
        a,
        b,
    ):
        for _ in range(2):
            assert (await gql(a, STATUS, {"c": UNKNOWN}))["data"]["dossierStatus"] is None
        assert (await gql(a, TRACK, {"c": "PA-0000"}))["data"]["inquiryTracking"] is None
        for query in (STATUS, TRACK):
            body = await gql(a, query, {"c": UNKNOWN}, expect_errors=True)
            assert error_codes(body) == ["RATE_LIMITED"]
            assert body["errors"][0]["message"] == (
                "Quá nhiều lượt tra cứu trong thời gian ngắn, vui lòng thử lại sau ít phút."
            )
        # another address is not affected
        assert (await gql(b, STATUS, {"c": UNKNOWN}))["data"]["dossierStatus"] is None


async def test_a_signed_in_account_is_limited_across_addresses(
    servers: Servers, settings: Settings, demo_catalog: object
) -> None:
    # Its own engine: the request's session and the counters' session are separate connections,
    # as in production (inside the test's transaction the request's rollback would undo the counts).
    engine = make_engine(servers.database_url, pool_size=2)
    try:
        async with clients(
            settings,
            make_session_factory(engine),
            "198.51.100.1",
            "198.51.100.2",
            "198.51.100.3",
            lookup_rate_limit=3,
        ) as (a, b, anonymous):
            for c in (a, b, a):
                assert "errors" not in await gql(c, STATUS, {"c": UNKNOWN}, token=ADMIN_TOKEN)
            body = await gql(b, STATUS, {"c": UNKNOWN}, token=ADMIN_TOKEN, expect_errors=True)
            assert error_codes(body) == ["RATE_LIMITED"]
            assert "errors" not in await gql(anonymous, STATUS, {"c": UNKNOWN})
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                delete(RateCounter).where(
                    or_(
                        RateCounter.key.like("lookup:addr:198.51.100.%"),
                        RateCounter.key == f"lookup:account:{ADMIN_ID}",
                    )
                )
            )
        await engine.dispose()


async def test_the_lookup_page_is_limited_per_address(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with clients(settings, session_factory, "192.0.2.10", lookup_rate_limit=2) as (c,):
        assert [(await c.get(f"/tra-cuu/{UNKNOWN}")).status_code for _ in range(2)] == [404, 404]
        refused = await c.get(f"/tra-cuu/{UNKNOWN}")
    assert refused.status_code == 429
    assert "Quá nhiều lượt tra cứu" in refused.text


class CountingJournal(Journal):
    """The real journal (real counters in PostgreSQL), counting its transactions."""

    transactions = 0

    async def run(self, work):  # type: ignore[no-untyped-def]
        CountingJournal.transactions += 1
        return await super().run(work)


async def test_leases_of_two_processes_never_admit_more_than_the_limit(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    rate = RateLimit(64, timedelta(minutes=10))
    processes = [LookupLimiter(), LookupLimiter()]  # each app process holds its own
    journal = CountingJournal(session_factory, RequestMeta(), NOW)
    CountingJournal.transactions = 0
    pick = random.Random(5)
    answers = [
        await pick.choice(processes).admit(journal, ["lookup:addr:203.0.113.99"], rate) for _ in range(200)
    ]
    admitted = sum(answers)
    # Never over the limit; at worst one process's unused lease (an eighth of it) refused early.
    assert 64 - 64 // 8 <= admitted <= 64
    assert answers[:56] == [True] * 56
    leases = CountingJournal.transactions
    assert leases < admitted // 2  # blocks, not one write per lookup
    async with session_factory() as session:
        counted = (
            await session.execute(
                select(RateCounter.count).where(RateCounter.key == "lookup:addr:203.0.113.99")
            )
        ).scalar_one()
    assert counted >= admitted
    # Refused for the rest of the window from memory: a flood writes nothing more.
    for _ in range(50):
        assert not await processes[0].admit(journal, ["lookup:addr:203.0.113.99"], rate)
    assert CountingJournal.transactions <= leases + 1
    # The next window starts afresh.
    later = CountingJournal(session_factory, RequestMeta(), NOW + timedelta(minutes=10))
    assert await processes[0].admit(later, ["lookup:addr:203.0.113.99"], rate)


async def test_concurrent_lookups_share_one_lease_at_a_time(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """200 lookups at once in one process: they wait for the lease on its way instead of each
    taking one (which would reserve ever larger blocks), and never pass the limit."""
    rate = RateLimit(1000, timedelta(minutes=10))
    limiter = LookupLimiter()
    journal = CountingJournal(session_factory, RequestMeta(), NOW)
    CountingJournal.transactions = 0
    answers = await asyncio.gather(
        *(limiter.admit(journal, ["lookup:addr:203.0.113.97"], rate) for _ in range(200))
    )
    assert all(answers)
    assert CountingJournal.transactions <= 9  # blocks 1, 2, 4, …, 125
    async with session_factory() as session:
        counted = (
            await session.execute(
                select(RateCounter.count).where(RateCounter.key == "lookup:addr:203.0.113.97")
            )
        ).scalar_one()
    assert 200 <= counted < 400  # reserved ahead: at most about as much again as was used


async def test_small_limits_are_counted_one_by_one(session_factory: async_sessionmaker[AsyncSession]) -> None:
    rate = RateLimit(5, timedelta(minutes=10))
    processes = [LookupLimiter(), LookupLimiter()]
    journal = CountingJournal(session_factory, RequestMeta(), NOW)
    CountingJournal.transactions = 0
    answers = [await processes[i % 2].admit(journal, ["lookup:addr:203.0.113.98"], rate) for i in range(7)]
    assert answers == [True] * 5 + [False] * 2  # exact: nothing leased ahead, nothing wasted
    assert CountingJournal.transactions == 7


async def _sms(c: httpx.AsyncClient, sender: str, text: str) -> httpx.Response:
    body = json.dumps({"from": sender, "text": text}).encode()
    signature = "sha256=" + hmac.new(SMS_KEY.encode(), body, hashlib.sha256).hexdigest()
    return await c.post(
        "/sms/inbound",
        content=body,
        headers={"X-DVC-Signature": signature, "Content-Type": "application/json"},
    )


async def test_sms_lookup_is_limited_per_sender_number(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with clients(settings, session_factory, "192.0.2.20", sms_lookup_rate_limit=2) as (c,):
        for _ in range(2):
            assert (await _sms(c, "+84912000001", f"TRACUU {UNKNOWN}")).status_code == 200
        refused = await _sms(c, "+84912000001", f"TRACUU {UNKNOWN}")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "3600"  # the default window, from its start
        assert refused.json() == {
            "error": "Quá nhiều lượt tra cứu trong thời gian ngắn, vui lòng thử lại sau ít phút.",
            "code": "RATE_LIMITED",
            "retryAfterSeconds": 3600,
            "reply": None,
        }
        assert (await _sms(c, "+84912000002", f"TRACUU {UNKNOWN}")).status_code == 200


async def test_a_wrong_second_factor_answers_exactly_the_public_view(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    code = (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"]["code"]
    lookup = """query($c: String!, $n: String, $s: String) { dossierStatus(code: $c, idNumber: $n, secret: $s) {
        public { code procedureName agencyName status statusLabel receivedAt appointmentAt finishedAt }
        dossier { id applicant { name } } } }"""
    bare = (await gql(client, lookup, {"c": code}))["data"]
    assert bare["dossierStatus"]["dossier"] is None
    for wrong in ({"n": "025190000002"}, {"s": "not-the-secret"}, {"n": "025190000002", "s": "x" * 40}):
        assert (await gql(client, lookup, {"c": code, **wrong}))["data"] == bare
    # an unknown code answers null whatever second factor comes with it
    for factor in ({}, {"n": "025190000001"}, {"s": "x" * 40}):
        assert (await gql(client, lookup, {"c": UNKNOWN, **factor}))["data"] == {"dossierStatus": None}
