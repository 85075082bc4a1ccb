"""A receiving unit's own calendar, set by its admin through the API, and the deadlines of the
dossiers it receives; days off corrected in both directions; time limits in other units."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FixedClock
from core.settings import Settings
from models.catalog import Agency
from models.dossiers import UnitCalendar
from services import holidays
from services.calendar import OfficeHours
from storage.s3 import ObjectStore
from tests.accounts.helpers import make_staff
from tests.catalog.factories import CREATE, PUBLISH, procedure_input
from tests.conftest import NOW, admin_gql, gql
from tests.dossiers.helpers import act, long_token, scene, upload

VN = ZoneInfo("Asia/Ho_Chi_Minh")

SET = """mutation($code: String!, $hours: UnitCalendarInput!) { r: unitCalendarSet(agencyCode: $code, hours: $hours) {
  __typename
  ... on UnitCalendarChanged { calendar { agencyCode own hours { morningStart afternoonEnd cutoff saturdayStart
    saturdayEnd saturdayCounts } } }
  ... on ValidationFailed { errors { field code } }
  ... on NotFound { code } } }"""
REMOVE = """mutation($code: String!) { r: unitCalendarRemove(agencyCode: $code) {
  __typename ... on UnitCalendarChanged { calendar { own hours { cutoff saturdayStart } } } ... on NotFound { code } } }"""
SATURDAY_MORNING = {
    "morningStart": "07:30",
    "morningEnd": "11:30",
    "afternoonStart": "13:00",
    "afternoonEnd": "17:00",
    "cutoff": "16:30",
    "saturdayStart": "07:30",
    "saturdayEnd": "11:30",
    "saturdayCounts": True,
}
REGISTER = """mutation($c: [ComponentFilesInput!]!, $a: ApplicantInput!) {
  r: dossierRegisterAtCounter(procedureCode: "9.999001", receivingAgencyCode: "H44.99", applicant: $a,
    formData: {hoTen: "Nguyễn Thị Lan"}, components: $c) {
    __typename ... on DossierChanged { dossier { id version countsFrom } } } }"""


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(VN)


async def _admin_of(session: AsyncSession, code: str, email: str) -> str:
    account_id, _ = await make_staff(session, email, ("AGENCY_ADMIN", code, False))
    return long_token(account_id)


async def test_unit_calendar_is_set_by_its_own_admin_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Issue 16 item 7: the province's calendar with overrides per receiving unit, managed by an
    admin — a system admin or the unit's own agency admin; an admin of another agency (H44.07)
    cannot change H44.99's calendar, and nothing is written when refused."""
    own = await _admin_of(session, "H44.99", "quantri.ttpvhcc@phutho.gov.vn")
    foreign = await _admin_of(session, "H44.07", "quantri.socongthuong@phutho.gov.vn")
    refused = await gql(
        client, SET, {"code": "H44.99", "hours": SATURDAY_MORNING}, token=foreign, expect_errors=True
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    shown = await gql(client, '{ unitCalendar(agencyCode: "H44.99") { own hours { cutoff saturdayStart } } }')
    assert shown["data"]["unitCalendar"] == {
        "own": False,
        "hours": {"cutoff": "16:30:00", "saturdayStart": None},
    }

    made = (await gql(client, SET, {"code": "H44.99", "hours": SATURDAY_MORNING}, token=own))["data"]["r"]
    assert made["calendar"] == {
        "agencyCode": "H44.99",
        "own": True,
        "hours": {
            "morningStart": "07:30:00",
            "afternoonEnd": "17:00:00",
            "cutoff": "16:30:00",
            "saturdayStart": "07:30:00",
            "saturdayEnd": "11:30:00",
            "saturdayCounts": True,
        },
    }
    # The foreign admin may set their own unit's calendar, not H44.99's.
    theirs = (await gql(client, SET, {"code": "H44.07", "hours": SATURDAY_MORNING}, token=foreign))["data"][
        "r"
    ]
    assert theirs["calendar"]["agencyCode"] == "H44.07"
    again = await gql(client, REMOVE, {"code": "H44.99"}, token=foreign, expect_errors=True)
    assert again["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    removed = (await gql(client, REMOVE, {"code": "H44.99"}, token=own))["data"]["r"]
    assert removed["calendar"] == {"own": False, "hours": {"cutoff": "16:30:00", "saturdayStart": None}}
    gone = (await gql(client, REMOVE, {"code": "H44.99"}, token=own))["data"]["r"]
    assert gone == {"__typename": "NotFound", "code": "NOT_FOUND"}


async def test_unit_calendar_errors_are_typed_per_field(client: httpx.AsyncClient) -> None:
    """Province policy checks of a unit's hours: sessions in order, the cut-off inside the
    afternoon, a Saturday session given whole, counted only when there is one; a unit that is not a
    one-stop unit has no calendar of its own; an unknown unit is NotFound."""

    async def errors(code: str, **hours: Any) -> Any:
        return (await admin_gql(client, SET, {"code": code, "hours": {**SATURDAY_MORNING, **hours}}))["r"]

    bad = await errors("H44.99", afternoonStart="11:00", cutoff="18:00", saturdayEnd=None)
    assert {tuple(e["field"]): e["code"] for e in bad["errors"]} == {
        ("afternoonStart",): "OUT_OF_ORDER",
        ("cutoff",): "OUT_OF_RANGE",
        ("saturdayEnd",): "REQUIRED",
    }
    counted = await errors("H44.99", saturdayStart=None, saturdayEnd=None, saturdayCounts=True)
    assert counted["errors"] == [{"field": ["saturdayCounts"], "code": "NO_SATURDAY_SESSION"}]
    tax = await errors("H44.96")
    assert tax["errors"] == [{"field": ["agencyCode"], "code": "NOT_ONE_STOP_UNIT"}]
    assert (await errors("H44.00000"))["__typename"] == "NotFound"


async def test_deadline_follows_the_receiving_units_saturday_session(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    """Issue 16 item 7 ("the per-unit calendar is the one used where a dossier is received"): H44.99
    holds a counted Saturday morning session; a dossier it receives on Thursday 26 November 2026 at
    09:00 with a 5-working-day limit is due Wednesday 2 December 14:30 (Saturday's 4 hours count),
    not Thursday 3 December 09:00 as under the province's hours."""
    s = await scene(client, session)
    assert (await admin_gql(client, SET, {"code": "H44.99", "hours": SATURDAY_MORNING}))["r"]["calendar"][
        "own"
    ]
    reception_id = (await gql(client, "{ me { id } }", token=s.reception))["data"]["me"]["id"]
    scan = await upload(session, store, uuid.UUID(reception_id), "to-khai-quet.pdf")
    variables = {
        "c": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [scan]}],
        "a": {"name": "Nguyễn Thị Lan", "idNumber": "025190000001"},
    }
    made = (await gql(client, REGISTER, variables, token=s.reception))["data"]["r"]["dossier"]
    received = await act(
        client, s.reception, "dossierReceive", "expectedVersion: $v", id=made["id"], v=made["version"]
    )
    due = local(received["dossier"]["appointmentAt"])
    assert due == datetime(2026, 12, 2, 14, 30, tzinfo=VN)


async def test_unit_cutoff_moves_a_late_reception_to_the_next_working_day(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """DESIGN.md: "Dossiers submitted outside office hours count from the next working day"; the
    cut-off is the receiving unit's (here 15:00, the province's default being 16:30): a counter
    registration at 15:30 on Thursday counts from Friday 07:30."""
    s = await scene(client, session)
    hours = {
        **SATURDAY_MORNING,
        "cutoff": "15:00",
        "saturdayStart": None,
        "saturdayEnd": None,
        "saturdayCounts": False,
    }
    assert (await admin_gql(client, SET, {"code": "H44.99", "hours": hours}))["r"]["calendar"]["own"]
    reception_id = (await gql(client, "{ me { id } }", token=s.reception))["data"]["me"]["id"]
    scan = await upload(session, store, uuid.UUID(reception_id), "to-khai-quet.pdf")
    clock.at = datetime(2026, 11, 26, 15, 30, tzinfo=VN)
    variables = {
        "c": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [scan]}],
        "a": {"name": "Nguyễn Thị Lan", "idNumber": "025190000001"},
    }
    made = (await gql(client, REGISTER, variables, token=s.reception))["data"]["r"]["dossier"]
    assert local(made["countsFrom"]) == datetime(2026, 11, 27, 7, 30, tzinfo=VN)


async def test_a_library_holiday_on_a_weekday_can_be_removed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Province override in both directions: Tuesday 24 November 2026 (Vietnam Cultural Day) comes
    from the `holidays` library as a day off; the province may work it (isWorkingDay: true). A
    weekday that is no holiday cannot be "made" a working day (NOT_WEEKEND)."""
    query = """mutation($d: Date!, $w: Boolean!) { r: holidayOverrideSet(day: $d, isWorkingDay: $w, name: "QĐ 1/UBND") {
      __typename ... on CalendarChanged { day { day working } } ... on ValidationFailed { errors { field code } } } }"""
    worked = (await admin_gql(client, query, {"d": "2026-11-24", "w": True}))["r"]
    assert worked["day"] == {"day": "2026-11-24", "working": True}
    plain = (await admin_gql(client, query, {"d": "2026-11-25", "w": True}))["r"]
    assert plain["errors"] == [{"field": ["day"], "code": "NOT_WEEKEND"}]
    calendar = holidays.build(VN, await holidays.overrides(session), around=2026)
    assert calendar.is_working_day(date(2026, 11, 24))
    assert not calendar.is_working_day(date(2026, 9, 2))


async def test_time_limit_in_working_hours_sets_the_appointment(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    """A procedure's time limit in working hours (time_limit_unit WORKING_HOURS, e.g. "trong 08 giờ
    làm việc"; the default stays working days): 8 hours for a dossier received Thursday 26 November
    2026 at 09:00 is due Friday 09:00, its first 2-hour step Thursday 11:00; a limit in calendar
    days must be whole days (NOT_WHOLE_DAY)."""
    s = await scene(client, session)
    workflow = [
        {"name": "Tiếp nhận", "agencyRef": "RECEIVING", "role": "RECEPTION_OFFICER", "days": 2},
        {"name": "Giải quyết", "agencyRef": "COMPETENT", "role": "SPECIALIST", "days": 6},
    ]
    hours = procedure_input(
        "9.999101",
        processingDays=8,
        onlineProcessingDays=None,
        timeLimitUnit="WORKING_HOURS",
        workflow=workflow,
    )
    saved = await admin_gql(client, CREATE, {"input": hours})
    assert saved["procedureCreate"]["__typename"] == "ProcedureSaved", saved
    published = await admin_gql(
        client, PUBLISH, {"code": "9.999101", "number": "2/QĐ-UBND", "date": "2026-11-01"}
    )
    assert published["procedurePublish"]["__typename"] == "ProcedurePublished"
    shown = await gql(
        client, '{ procedure(code: "9.999101") { timeLimitUnit processingDays components { id name } } }'
    )
    procedure = shown["data"]["procedure"]
    assert (procedure["timeLimitUnit"], procedure["processingDays"]) == ("WORKING_HOURS", 8.0)
    form = next(c["id"] for c in procedure["components"] if c["name"] == "Tờ khai theo mẫu")
    reception_id = (await gql(client, "{ me { id } }", token=s.reception))["data"]["me"]["id"]
    scan = await upload(session, store, uuid.UUID(reception_id), "to-khai-quet.pdf")
    variables = {"c": [{"componentId": form, "fileIds": [scan]}], "a": {"name": "Nguyễn Thị Lan"}}
    register = REGISTER.replace('"9.999001"', '"9.999101"')
    made = (await gql(client, register, variables, token=s.reception))["data"]["r"]["dossier"]
    received = await act(
        client, s.reception, "dossierReceive", "expectedVersion: $v", id=made["id"], v=made["version"]
    )
    assert local(received["dossier"]["appointmentAt"]) == datetime(2026, 11, 27, 9, 0, tzinfo=VN)
    assert local(received["dossier"]["steps"][0]["dueAt"]) == datetime(2026, 11, 26, 11, 0, tzinfo=VN)

    calendar_days = procedure_input(
        "9.999102",
        processingDays=5,
        onlineProcessingDays=None,
        timeLimitUnit="CALENDAR_DAYS",
        workflow=[{**workflow[0], "days": 0.5}, {**workflow[1], "days": 4.5}],
    )
    refused = (await admin_gql(client, CREATE, {"input": calendar_days}))["procedureCreate"]
    assert {tuple(e["field"]): e["code"] for e in refused["errors"]} == {
        ("steps", "0", "days"): "NOT_WHOLE_DAY",
        ("steps", "1", "days"): "NOT_WHOLE_DAY",
    }


def test_province_hours_come_from_the_settings(settings: Settings) -> None:
    """Province policy: CALENDAR_MORNING, CALENDAR_AFTERNOON, CALENDAR_CUTOFF, CALENDAR_SATURDAY and
    CALENDAR_SATURDAY_COUNTS (docs/configuration.md) make the province's office hours; the
    defaults are 07:30-11:30, 13:00-17:00, cut-off 16:30, no Saturday session."""
    assert holidays.province_hours(settings) == OfficeHours()
    custom = settings.model_copy(
        update={
            "calendar_morning": "08:00-12:00",
            "calendar_afternoon": "13:30-17:30",
            "calendar_cutoff": "",
            "calendar_saturday": "08:00-11:00",
            "calendar_saturday_counts": True,
        }
    )
    assert holidays.province_hours(custom) == OfficeHours(
        morning=(time(8, 0), time(12, 0)),
        afternoon=(time(13, 30), time(17, 30)),
        cutoff=None,
        saturday=(time(8, 0), time(11, 0)),
        saturday_counts=True,
    )
    with pytest.raises(ValueError, match="office hours must satisfy"):
        holidays.province_hours(settings.model_copy(update={"calendar_afternoon": "11:00-17:00"}))


async def test_unit_calendars_are_cached_per_unit_and_rebuilt_on_change(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    """Issue 16 item 7 (keep it cheap): each process keeps one calendar per receiving unit, derived
    from the province's and reused until an override or a unit's hours change (the broker's
    notice invalidates the cache; here called directly)."""
    cache = holidays.CalendarCache(VN, session_factory)
    agency_id = await session.scalar(select(Agency.id).where(Agency.code == "H44.99"))
    assert agency_id is not None
    province = await cache.get(NOW)
    assert await cache.for_unit(NOW, agency_id) is province
    session.add(
        UnitCalendar(
            agency_id=agency_id,
            morning_start=time(7, 0),
            morning_end=time(11, 0),
            afternoon_start=time(13, 0),
            afternoon_end=time(17, 0),
            cutoff=None,
            saturday_start=time(7, 0),
            saturday_end=time(11, 0),
            saturday_counts=False,
            changed_by="test",
            changed_at=NOW,
        )
    )
    await session.commit()
    assert await cache.for_unit(NOW, agency_id) is province  # cached until told
    cache.invalidate()
    unit = await cache.for_unit(NOW, agency_id)
    assert unit.hours.saturday == (time(7, 0), time(11, 0))
    assert unit.hours.cutoff is None
    assert await cache.for_unit(NOW, agency_id) is unit
    assert unit.days_off is (await cache.get(NOW)).days_off
    assert await cache.for_unit(NOW, None) is await cache.get(NOW)
