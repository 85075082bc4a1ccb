"""On time as the law and the 766 index count it (issue 16 item 1): a dossier paused for the
applicant's supplement, judged under each on-time policy; the second supplement request; the
apology; and the recomputation of the stored facts by migration 0024 — every dossier made through
the real acts over GraphQL, the clock moved as time would."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import httpx
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from core.settings import Settings
from models.dossiers import Dossier, Punctuality
from models.statistics import DossierFact
from services.dossiers.ontime import OnTimePolicy
from storage.s3 import ObjectStore
from tests.accounts.helpers import messages_to
from tests.conftest import CALENDAR, ROOT, gql
from tests.dossiers.helpers import Scene, act, scene, upload
from tests.statistics.helpers import _conclude, _online, at

STATISTICS = """query($f: StatisticsFilter!) { statistics(filter: $f, groupBy: TOTAL) {
    total { inProgress overdue finishedLate } } }"""
PERIOD = {"from": "2026-11-01", "to": "2026-12-31", "agencyCode": "H44.99"}


async def _received(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock, s: Scene
) -> str:
    """Submitted online Thursday 26/11/2026 09:00 and received at 09:30: counted from 09:00, due in
    the online time (4 working days) on Wednesday 2/12 09:00."""
    clock.at = at("2026-11-26T09:00:00")
    dossier_id = await _online(client, session, store, s)
    clock.at = at("2026-11-26T09:30:00")
    received = (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"]
    assert datetime.fromisoformat(received["appointmentAt"]) == at("2026-12-02T09:00:00")
    return dossier_id


async def _ask(
    client: httpx.AsyncClient, clock: FixedClock, s: Scene, dossier_id: str, when: str, **confirm: bool
) -> dict[str, Any]:
    clock.at = at(when)
    args = "items: $items" + (", confirmLate: true" if confirm.get("late") else "")
    return await act(
        client, s.specialist, "dossierRequestSupplement", args, id=dossier_id, items=["Bản sao sổ hộ khẩu"]
    )


async def _supplement(
    client: httpx.AsyncClient,
    session: AsyncSession,
    store: ObjectStore,
    clock: FixedClock,
    s: Scene,
    dossier_id: str,
    when: str,
) -> dict[str, Any]:
    clock.at = at(when)
    file_id = await upload(session, store, s.citizen_id, "bo-sung.pdf")
    done = await act(
        client,
        s.citizen,
        "dossierSupplement",
        "components: $components",
        id=dossier_id,
        components=[{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [file_id]}],
    )
    assert done["dossier"]["status"] == "IN_PROGRESS", done
    return done["dossier"]  # type: ignore[no-any-return]


async def _paused_three_days(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock, s: Scene
) -> str:
    """Asked Friday 27/11 09:00 (within 3 working days of reception); the documents arrive
    Wednesday 2/12 09:00: three working days waited."""
    dossier_id = await _received(client, session, store, clock, s)
    assert (await _ask(client, clock, s, dossier_id, "2026-11-27T09:00:00"))["dossier"]["status"] == (
        "SUPPLEMENT_REQUESTED"
    )
    await _supplement(client, session, store, clock, s, dossier_id, "2026-12-02T09:00:00")
    waited = CALENDAR.working_minutes_between(at("2026-11-27T09:00:00"), at("2026-12-02T09:00:00"))
    assert waited == 3 * CALENDAR.minutes_per_day()
    return dossier_id


async def _finish(
    client: httpx.AsyncClient,
    session: AsyncSession,
    store: ObjectStore,
    clock: FixedClock,
    s: Scene,
    dossier_id: str,
    when: str,
) -> dict[str, Any]:
    clock.at = at(when)
    return await _conclude(client, session, store, s, dossier_id)


async def _fact(session: AsyncSession, dossier_id: str) -> DossierFact:
    session.expire_all()
    fact = await session.get(DossierFact, uuid.UUID(dossier_id))
    assert fact is not None
    return fact


async def test_decision_766_subtracts_the_time_waiting_for_the_applicant(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """Decision 766/QĐ-TTg (the index as the national portal scores it): a dossier is on time
    after subtracting the time spent waiting for the applicant's supplement. Paused three working
    days and finished Friday 4/12 — after the receipt's appointment (2/12), before the deadline
    moved by the wait (7/12) — it is early, not late; the statistics facts say so too."""
    s = await scene(client, session)
    dossier_id = await _paused_three_days(client, session, store, clock, s)
    closed = await _finish(client, session, store, clock, s, dossier_id, "2026-12-04T10:00:00")
    assert datetime.fromisoformat(closed["appointmentAt"]) == at("2026-12-02T09:00:00")  # never moved
    assert datetime.fromisoformat(closed["dueAt"]) == at("2026-12-07T09:00:00")
    assert datetime.fromisoformat(closed["deadlineAt"]) == at("2026-12-07T09:00:00")
    assert closed["punctuality"] == "EARLY"
    fact = await _fact(session, dossier_id)
    assert (fact.punctuality, fact.due_at) == ("EARLY", at("2026-12-07T09:00:00"))


async def test_decision_766_judges_against_the_moved_deadline_not_a_later_one(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """Decision 766/QĐ-TTg: only the waiting time is subtracted — the result ready on Tuesday
    8/12, a day after the deadline moved by the three days waited (Monday 7/12 09:00), is late."""
    s = await scene(client, session)
    dossier_id = await _paused_three_days(client, session, store, clock, s)
    closed = await _finish(client, session, store, clock, s, dossier_id, "2026-12-08T08:00:00")
    assert closed["punctuality"] == "LATE"


async def test_decision_766_counts_a_second_supplement_request_as_late(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """Decision 766/QĐ-TTg: more than one supplement request counts the dossier as late. The
    officer is warned before sending a second one — refused with a field error unless confirmed —
    and the dossier, though finished well before its deadline, is recorded late."""
    s = await scene(client, session)
    dossier_id = await _received(client, session, store, clock, s)
    await _ask(client, clock, s, dossier_id, "2026-11-27T09:00:00")
    await _supplement(client, session, store, clock, s, dossier_id, "2026-11-30T09:00:00")
    warned = await _ask(client, clock, s, dossier_id, "2026-11-30T10:00:00")
    assert warned["__typename"] == "ValidationFailed"
    [error] = warned["errors"]
    assert (error["field"], error["code"]) == (["confirmLate"], "SECOND_SUPPLEMENT_LATE")
    assert "trễ hạn" in error["message"]
    assert "766" in error["message"]
    confirmed = await _ask(client, clock, s, dossier_id, "2026-11-30T10:00:00", late=True)
    assert confirmed["dossier"]["status"] == "SUPPLEMENT_REQUESTED"
    assert confirmed["dossier"]["trail"][-1]["data"] == {"items": ["Bản sao sổ hộ khẩu"], "confirmLate": True}
    await _supplement(client, session, store, clock, s, dossier_id, "2026-11-30T14:00:00")
    closed = await _finish(client, session, store, clock, s, dossier_id, "2026-12-01T09:00:00")
    assert closed["punctuality"] == "LATE"
    assert (await _fact(session, dossier_id)).punctuality == "LATE"


async def test_decree_61_art_19_restarts_the_time_after_a_supplement(
    client: httpx.AsyncClient,
    session: AsyncSession,
    store: ObjectStore,
    clock: FixedClock,
    settings: Settings,
) -> None:
    """Decree 61/2018/NĐ-CP art. 19: when the competent agency finds a received dossier incomplete
    within 3 working days of reception, the processing time counts again from the start once the
    complete dossier arrives, with a new appointment the applicant is told. Under that policy the
    dossier finished Tuesday 8/12 08:00 (late under the 766 formula) is on time: its time
    restarted on 2/12 09:00 and ends 8/12 09:00."""
    settings.on_time_policy = "DECREE_61_ART_19"
    s = await scene(client, session)
    dossier_id = await _received(client, session, store, clock, s)
    await _ask(client, clock, s, dossier_id, "2026-11-27T09:00:00")
    resumed = await _supplement(client, session, store, clock, s, dossier_id, "2026-12-02T09:00:00")
    restarted = CALENDAR.add_working_days(at("2026-12-02T09:00:00"), Decimal(4))
    assert restarted == at("2026-12-08T09:00:00")
    assert datetime.fromisoformat(resumed["appointmentAt"]) == restarted  # the new appointment
    assert datetime.fromisoformat(resumed["dueAt"]) == restarted
    assert resumed["trail"][-1]["data"]["restarted"] is True
    told = [
        m for m in await messages_to(session, "lan1@example.vn") if m.template == "dossier_new_appointment"
    ]
    assert len(told) == 1
    assert "08/12/2026" in told[0].body
    assert "tính lại từ đầu" in told[0].body
    closed = await _finish(client, session, store, clock, s, dossier_id, "2026-12-08T08:00:00")
    assert closed["punctuality"] == "ON_TIME"


async def test_decree_61_art_19_restarts_only_for_a_request_within_3_working_days(
    client: httpx.AsyncClient,
    session: AsyncSession,
    store: ObjectStore,
    clock: FixedClock,
    settings: Settings,
) -> None:
    """Decree 61/2018/NĐ-CP art. 19 restarts the time for a request made within 3 working days of
    reception; one made later (Wednesday 2/12, the window ended Tuesday 1/12 09:00) only stops the
    clock: the appointment stays, the deadline moves by the one working day waited."""
    settings.on_time_policy = "DECREE_61_ART_19"
    s = await scene(client, session)
    dossier_id = await _received(client, session, store, clock, s)
    await _ask(client, clock, s, dossier_id, "2026-12-02T08:00:00")
    resumed = await _supplement(client, session, store, clock, s, dossier_id, "2026-12-03T08:00:00")
    assert datetime.fromisoformat(resumed["appointmentAt"]) == at("2026-12-02T09:00:00")
    assert datetime.fromisoformat(resumed["dueAt"]) == at("2026-12-03T09:00:00")
    assert "restarted" not in resumed["trail"][-1]["data"]
    templates = {m.template for m in await messages_to(session, "lan1@example.vn")}
    assert "dossier_new_appointment" not in templates


async def test_an_apology_never_turns_late_into_on_time_and_open_apologised_dossiers_stay_overdue(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """Decree 61/2018 art. 19 and Decision 766/QĐ-TTg: an apology with a new date does not make a
    late dossier on time. While still open after its deadline by law (2/12 09:00), the apologised
    dossier is counted overdue even though the apology's date (4/12) has not come; returned before
    that date, it is late."""
    s = await scene(client, session)
    dossier_id = await _received(client, session, store, clock, s)
    clock.at = at("2026-12-01T08:00:00")
    await act(client, s.specialist, "dossierForward", id=dossier_id)
    sorry = await act(
        client,
        s.tax,
        "dossierApologize",
        "newAppointment: $when, reason: $reason",
        id=dossier_id,
        when=at("2026-12-04T16:00:00").isoformat(),
        reason="Chờ xác minh",
    )
    assert sorry["dossier"]["apologised"] is True, sorry
    assert datetime.fromisoformat(sorry["dossier"]["dueAt"]) == at("2026-12-04T16:00:00")
    assert datetime.fromisoformat(sorry["dossier"]["deadlineAt"]) == at("2026-12-02T09:00:00")
    clock.at = at("2026-12-03T10:00:00")
    figures = (await gql(client, STATISTICS, {"f": PERIOD}))["data"]["statistics"]["total"]
    assert (figures["inProgress"], figures["overdue"]) == (1, 1)
    fact = await _fact(session, dossier_id)
    assert fact.due_at == at("2026-12-02T09:00:00")  # the deadline by law, not the apology's date
    await act(client, s.tax, "dossierForward", id=dossier_id)
    result = await upload(session, store, None, "giay-phep.pdf")
    await act(client, s.leader, "dossierApprove", "resultFileIds: $files", id=dossier_id, files=[result])
    closed = await act(
        client, s.reception, "dossierReturn", "method: $method", id=dossier_id, method="ONLINE"
    )
    assert closed["dossier"]["punctuality"] == "LATE"


def _migration() -> ModuleType:
    path = ROOT / "migrations" / "versions" / "20261203_0024_on_time_by_law.py"
    spec = importlib.util.spec_from_file_location("migration_0024", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_migration_0024_recomputes_the_stored_punctuality_and_facts(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """Decision 766/QĐ-TTg, recomputed (issue 16): the dossier paused three working days and
    finished early against its moved deadline was stored LATE by the old code (judged against the
    receipt's appointment) and counted late in the statistics facts. Set back to what the old code
    stored, the migration's recompute makes it EARLY again, facts included; a dossier untouched by
    supplements keeps its verdict."""
    s = await scene(client, session)
    paused = await _paused_three_days(client, session, store, clock, s)
    await _finish(client, session, store, clock, s, paused, "2026-12-04T10:00:00")
    plain = await _received(client, session, store, clock, s)
    await _finish(client, session, store, clock, s, plain, "2026-12-01T10:00:00")

    # Before: what the code before this change stored.
    row = await session.scalar(select(Dossier).where(Dossier.id == uuid.UUID(paused)))
    assert row is not None
    assert row.result_at is not None
    assert row.appointment_at is not None
    old = CALENDAR.punctuality(row.result_at, row.appointment_at)
    assert old.value == "LATE"
    await session.execute(
        update(Dossier)
        .where(Dossier.id.in_([uuid.UUID(paused), uuid.UUID(plain)]))
        .values(deadline_at=None, supplement_requests=0)
    )
    await session.execute(
        update(Dossier).where(Dossier.id == uuid.UUID(paused)).values(punctuality=Punctuality.LATE)
    )
    await session.flush()
    assert (await _fact(session, paused)).punctuality == "LATE"
    assert (await _fact(session, plain)).punctuality == "EARLY"

    migration = _migration()
    replayed, changed = await session.run_sync(
        lambda sync: migration.recompute(sync.connection(), CALENDAR, OnTimePolicy.DECISION_766)
    )
    assert (replayed, changed) == (2, 1)

    # After.
    session.expire_all()
    fixed = await session.get_one(Dossier, uuid.UUID(paused))
    assert (fixed.punctuality, fixed.supplement_requests) == (Punctuality.EARLY, 1)
    assert fixed.deadline_at == at("2026-12-07T09:00:00")
    assert (await _fact(session, paused)).punctuality == "EARLY"
    kept = await session.get_one(Dossier, uuid.UUID(plain))
    assert (kept.punctuality, kept.deadline_at) == (Punctuality.EARLY, at("2026-12-02T09:00:00"))
    late = (
        await session.execute(text("SELECT count(*) FROM dossier_facts WHERE punctuality = 'LATE'"))
    ).scalar()
    assert late == 0
