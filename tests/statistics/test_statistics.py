"""Statistics and the Decision 766 index equal what the dossiers created imply — asserted
number by number, against a recount made directly from the dossier tables, in the exported CSV
and XLSX files — and the dossiers behind an indicator are shown only to those allowed."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from models.catalog import ProcedureVersion
from models.dossiers import (
    Channel,
    Dossier,
    DossierEvent,
    DossierRating,
    DossierStatus,
    PaymentStatus,
    VaultDocument,
    VaultSource,
)
from models.payments import Payment, PaymentState
from models.statistics import DossierFact
from services.statistics.facts import months_differing, rebuild
from storage.s3 import ObjectStore
from tests.accounts.helpers import make_staff
from tests.conftest import ADMIN_TOKEN, gql
from tests.dossiers.helpers import long_token
from tests.statistics.helpers import history

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
FIGURES = """received receivedOnline receivedNationalPortal receivedCounter receivedPost finished
  finishedEarly finishedOnTime finishedLate refused rejected withdrawn inProgress overdue onlineShare
  fullOnlineShare onlinePaymentShare digitisationShare onTimeShare averageHandlingDays ratings
  satisfactionAverage satisfiedShare"""
STATISTICS = """query($f: StatisticsFilter!, $g: StatisticsGroupBy!) { statistics(filter: $f, groupBy: $g) {
    from to reference total { %s } rows { key label figures { %s } } } }""" % (FIGURES, FIGURES)
INDEX = """query($f: StatisticsFilter!, $first: Int!, $after: String) { serviceIndex(filter: $f) {
  score maxPoints measuredPoints
  groups { code name maxPoints measuredPoints score
    indicators { code name maxPoints status reason numerator denominator value score
      lowering(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { id code status } } } } } } }"""
COMPLAIN = """mutation($i: InquiryInput!) { r: inquirySubmit(input: $i) { __typename
  ... on ValidationFailed { errors { field code message } } ... on UserError { message code } } }"""
WHOLE = {"from": "2026-11-01", "to": "2026-12-31", "agencyCode": "H44.99"}
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30", "agencyCode": "H44.99"}


async def _statistics(
    client: httpx.AsyncClient, f: dict[str, Any], group: str = "TOTAL", token: str | None = None
) -> dict[str, Any]:
    found: dict[str, Any] = (await gql(client, STATISTICS, {"f": f, "g": group}, token=token))["data"][
        "statistics"
    ]
    return found


async def _index(
    client: httpx.AsyncClient, f: dict[str, Any], token: str | None = None, first: int = 50
) -> dict[str, dict[str, Any]]:
    data = (await gql(client, INDEX, {"f": f, "first": first}, token=token))["data"]["serviceIndex"]
    indicators = {i["code"]: i for g in data["groups"] for i in g["indicators"]}
    return {"index": data, **indicators}


def _codes(indicator: dict[str, Any]) -> set[str]:
    return {e["node"]["code"] for e in indicator["lowering"]["edges"]}


async def test_the_figures_the_index_and_the_exports_match_the_dossiers(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    h = await history(client, session, store, clock)
    # The month rows, kept by the facts' trigger through every act, say what the facts say.
    assert await months_differing(session) == 0

    whole = await _statistics(client, WHOLE)
    t = whole["total"]
    assert datetime.fromisoformat(whole["reference"]) == clock.at  # the period has not ended
    handling = [
        datetime.fromisoformat(h.dossiers[n]["resultAt"] or h.dossiers[n]["finishedAt"])
        - datetime.fromisoformat(h.dossiers[n]["receivedAt"])
        for n in ("early", "on_time", "late", "counter", "refused")
    ]
    assert t == {
        "received": 8,  # not the rejected one: never received
        "receivedOnline": 5,
        "receivedNationalPortal": 0,
        "receivedCounter": 2,
        "receivedPost": 1,
        "finished": 5,
        "finishedEarly": 3,  # early, counter, refused
        "finishedOnTime": 1,
        "finishedLate": 1,
        "refused": 1,
        "rejected": 1,
        "withdrawn": 1,
        "inProgress": 2,  # post, fresh
        "overdue": 1,  # post
        "onlineShare": 62.5,
        "fullOnlineShare": 62.5,  # the procedure is "toàn trình": all 8 count below the line
        "onlinePaymentShare": 25.0,  # early and late paid online, of 8 owing fees
        "digitisationShare": 33.33,  # counter, of counter + refused + post
        "onTimeShare": 80.0,
        "averageHandlingDays": round(sum(d.total_seconds() for d in handling) / 86400 / 5, 2),
        "ratings": 2,
        "satisfactionAverage": 3.7,  # (5 + 2.4) / 2
        "satisfiedShare": 50.0,
    }
    post_due = datetime.fromisoformat(h.dossiers["post"]["dueAt"])
    fresh_due = datetime.fromisoformat(h.dossiers["fresh"]["dueAt"])
    assert post_due < clock.at < fresh_due

    # A past period: in progress and overdue as at its end, not now.
    november = (await _statistics(client, NOVEMBER))["total"]
    assert datetime.fromisoformat((await _statistics(client, NOVEMBER))["reference"]) == datetime.combine(
        date(2026, 12, 1), time(), tzinfo=ZONE
    )
    assert (november["received"], november["finished"], november["withdrawn"], november["rejected"]) == (
        7,
        3,
        1,
        1,
    )
    assert (november["inProgress"], november["overdue"], november["ratings"]) == (
        3,
        0,
        1,
    )  # on_time, late, post

    # The same figures recounted straight from the dossier tables, for both periods.
    for f in (WHOLE, NOVEMBER):
        api = (await _statistics(client, f))["total"]
        assert api == await _recount(session, f, clock.at), f

    # Scope: a parent agency includes its sub-agencies; another agency, field or level has none.
    assert (await _statistics(client, {**WHOLE, "agencyCode": "H44.01"}))["total"] == t
    assert (await _statistics(client, {**WHOLE, "agencyCode": "H44.19"}))["total"]["received"] == 0
    assert (await _statistics(client, {**WHOLE, "procedureCode": "9.999001"}))["total"] == t
    assert (await _statistics(client, {**WHOLE, "levelCode": "province"}))["total"] == t
    assert (await _statistics(client, {**WHOLE, "levelCode": "commune"}))["total"]["received"] == 0

    # Attribution, as the national portal attributes a dossier: the competent agency (H44.19,
    # the procedure's) counts every one; each processing agency those that reached it.
    assert (await _statistics(client, {**WHOLE, "agencyCode": "H44.19", "attribution": "COMPETENT"}))[
        "total"
    ] == t
    assert (await _statistics(client, {**WHOLE, "agencyCode": "H44.99", "attribution": "COMPETENT"}))[
        "total"
    ]["received"] == 0
    tax = (await _statistics(client, {**WHOLE, "agencyCode": "H44.96", "attribution": "PROCESSING"}))["total"]
    assert (tax["received"], tax["finished"], tax["rejected"], tax["withdrawn"], tax["inProgress"]) == (
        5,  # early, on_time, late, counter, refused: the others never reached the tax office
        5,
        0,
        0,
        0,
    )
    province = {"from": WHOLE["from"], "to": WHOLE["to"], "attribution": "PROCESSING"}
    by_processing = await _statistics(client, province, "AGENCY")
    assert [
        (r["key"], r["figures"]["received"], r["figures"]["rejected"]) for r in by_processing["rows"]
    ] == [
        ("H44.19", 8, 0),  # the rejected one never started a step
        ("H44.96", 5, 0),
        ("H44.99", 8, 0),
    ]

    # Breakdowns add up to the total.
    by_agency = await _statistics(client, WHOLE, "AGENCY")
    assert [(r["key"], r["figures"]) for r in by_agency["rows"]] == [("H44.99", t)]
    by_month = await _statistics(client, WHOLE, "MONTH")
    assert [r["key"] for r in by_month["rows"]] == ["2026-11", "2026-12"]
    assert by_month["rows"][0]["figures"] == november
    assert sum(r["figures"]["received"] for r in by_month["rows"]) == 8
    assert sum(r["figures"]["finished"] for r in by_month["rows"]) == 5
    by_quarter = await _statistics(client, WHOLE, "QUARTER")
    assert [(r["key"], r["label"], r["figures"]) for r in by_quarter["rows"]] == [
        ("2026-Q4", "Quý 4/2026", t)
    ]
    by_year = await _statistics(client, {**WHOLE, "from": "2025-12-01"}, "YEAR")
    assert [(r["key"], r["figures"]) for r in by_year["rows"]] == [("2026", t)]  # nothing in 2025
    by_procedure = await _statistics(client, WHOLE, "PROCEDURE")
    assert [(r["key"], r["figures"]["received"]) for r in by_procedure["rows"]] == [("9.999001", 8)]

    # The 766 index, indicator by indicator (the admin sees the lowering dossiers).
    index = await _index(client, WHOLE, ADMIN_TOKEN)
    unmeasured = ("NOT_MEASURED", None, None, None)
    expected = {
        "1.1": unmeasured,
        "1.2": unmeasured,
        "1.3": unmeasured,
        "1.4": ("MEASURED", 0, 8, 0.0),  # no national-portal consumer has received their events
        "2.1": ("MEASURED", 4, 5, 16.0),
        "3.1": ("MEASURED", 4, 4, 6.0),
        "3.2": ("MEASURED", 1, 3, 1.33),
        "3.3": ("MEASURED", 1, 8, 0.31),  # 12.5 % of the 80 % that scores full: 2 × 12.5 / 80
        "3.4": unmeasured,
        "3.5": unmeasured,
        "3.6": unmeasured,
        "3.7": unmeasured,
        "4.1": ("MEASURED", 1, 1, 6.0),  # the one online procedure had online dossiers
        "4.2": ("MEASURED", 5, 8, 6.0),  # 62.5 % ≥ 50 %: full
        "4.3": ("MEASURED", 2, 8, 2.5),
        "5.1": ("NO_DATA", 0, 0, 6.0),  # no feedback was due: full points (see tests/feedback)
        "5.2": unmeasured,
        "5.3": ("MEASURED", 4, 5, 5.33),  # 100 % − 20 % late − 0 % complained, of 90 %
    }
    got = {
        c: (i["status"], i["numerator"], i["denominator"], i["score"])
        for c, i in index.items()
        if c != "index"
    }
    assert got == expected
    assert all(index[c]["reason"] for c, e in expected.items() if e == unmeasured)
    assert index["1.1"]["lowering"] is None
    whole_index = index["index"]
    assert (whole_index["score"], whole_index["maxPoints"], whole_index["measuredPoints"]) == (49.47, 100, 72)
    assert [(g["code"], g["maxPoints"], g["score"]) for g in whole_index["groups"]] == [
        ("TRANSPARENCY", 18, 0.0),
        ("PROGRESS", 20, 16.0),
        ("DIGITISATION", 22, 7.64),
        ("ONLINE_SERVICE", 22, 14.5),
        ("SATISFACTION", 18, 11.33),
    ]
    # The index under attribution: the competent agency's is the receiving unit's here; the tax
    # office's counts only the five dossiers that reached it.
    competent = await _index(client, {**WHOLE, "agencyCode": "H44.19", "attribution": "COMPETENT"})
    assert competent["index"]["score"] == whole_index["score"]
    tax = await _index(client, {**WHOLE, "agencyCode": "H44.96", "attribution": "PROCESSING"})
    assert {c: (i["numerator"], i["denominator"], i["score"]) for c, i in tax.items() if c != "index"} == {
        **{c: (None, None, None) for c, e in expected.items() if e == unmeasured},
        "1.4": (0, 5, 0.0),
        "2.1": (4, 5, 16.0),
        "3.1": (4, 4, 6.0),
        "3.2": (1, 2, 2.0),  # counter digitised, refused not
        "3.3": (0, 5, 0.0),
        "4.1": (1, 1, 6.0),
        "4.2": (3, 5, 6.0),
        "4.3": (2, 5, 4.0),
        "5.1": (0, 0, 6.0),
        "5.3": (4, 5, 5.33),
    }
    assert tax["index"]["score"] == 51.33

    # Drill-down: exactly the dossiers that lower each indicator.
    code = h.code
    assert _codes(index["2.1"]) == {code("late")}
    assert _codes(index["4.2"]) == {code("counter"), code("refused"), code("post")}
    assert _codes(index["4.3"]) == {
        code(n) for n in ("on_time", "counter", "refused", "post", "fresh", "withdrawn")
    }
    assert _codes(index["3.2"]) == {code("refused"), code("post")}
    assert _codes(index["3.3"]) == {code(n) for n in h.dossiers if n not in ("fresh", "rejected")}
    assert _codes(index["5.3"]) == {code("late")}
    assert index["3.1"]["lowering"]["totalCount"] == 0
    assert index["4.1"]["lowering"] is None  # counted in procedures, not dossiers
    # Paginated: two at a time, every one once.
    seen: list[str] = []
    after = None
    while True:
        body = (await gql(client, INDEX, {"f": WHOLE, "first": 2, "after": after}, token=ADMIN_TOKEN))["data"]
        page = next(i for g in body["serviceIndex"]["groups"] for i in g["indicators"] if i["code"] == "4.3")
        page = page["lowering"]
        seen += [e["node"]["code"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(_codes(index["4.3"]))
    assert len(seen) == 6

    # A feedback about a dossier counts it as complained in 5.3 (100 % − late − complained).
    complaint = {
        "kind": "FEEDBACK",
        "title": "Cán bộ hướng dẫn chưa rõ",
        "content": "Tôi phải hỏi lại nhiều lần mới biết cần nộp giấy tờ gì cho hồ sơ này.",
        "dossierId": h.ids["early"],
    }
    made = await gql(client, COMPLAIN, {"i": complaint}, token=h.scene.citizen)
    assert made["data"]["r"]["__typename"] == "InquiryChanged", made
    after = await _index(client, WHOLE, ADMIN_TOKEN)
    five_three = after["5.3"]
    assert (five_three["numerator"], five_three["denominator"], five_three["score"]) == (3, 5, 4.0)
    assert _codes(five_three) == {code("late"), code("early")}

    # The kept facts are exactly what a rebuild from scratch computes.
    assert (await rebuild(session)).differed == 0
    # …and a rebuild repairs a row that went wrong behind the triggers' back.
    late_id = uuid.UUID(h.ids["late"])
    await session.execute(
        update(DossierFact).where(DossierFact.dossier_id == late_id).values(punctuality="EARLY")
    )
    assert (await _statistics(client, WHOLE))["total"]["finishedLate"] == 0
    repaired = await rebuild(session)
    assert (repaired.rows, repaired.differed) == (9, 2)  # the wrong line and the right one
    assert (await _statistics(client, WHOLE))["total"] == t

    # Exports: the same numbers, Vietnamese headers, CSV with a BOM.
    params = {**WHOLE, "groupBy": "AGENCY"}
    got_csv = await client.get("/exports/statistics.csv", params=params)
    assert got_csv.status_code == 200
    assert got_csv.headers["content-type"].startswith("text/csv")
    assert got_csv.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(got_csv.content.decode("utf-8-sig"))))
    header, agency_line, total_line = lines
    assert header[:4] == ["Mã", "Tên", "Tiếp nhận", "Tiếp nhận trực tuyến"]
    assert agency_line[0] == "H44.99"
    assert total_line[1] == "Tổng cộng"
    as_csv = dict(zip(header, total_line, strict=True))
    assert (as_csv["Tiếp nhận"], as_csv["Quá hạn"], as_csv["Đang giải quyết quá hạn"]) == ("8", "1", "1")
    assert (as_csv["Tỷ lệ trực tuyến (%)"], as_csv["Tỷ lệ số hoá (%)"]) == ("62.5", "33.33")
    got_xlsx = await client.get("/exports/statistics.xlsx", params=params)
    assert got_xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(got_xlsx.content)).active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    header_x, total_x = values[2], values[-1]
    assert header_x == header
    as_xlsx = dict(zip(header_x, total_x, strict=True))
    assert as_xlsx["Tiếp nhận"] == 8
    assert as_xlsx["Đã giải quyết"] == 5
    assert as_xlsx["Từ chối giải quyết"] == 1
    assert as_xlsx["Tỷ lệ thanh toán trực tuyến (%)"] == 25.0
    assert as_xlsx["Lượt đánh giá"] == 2
    assert as_xlsx["Tỷ lệ hài lòng (%)"] == 50.0
    by_tax = await client.get(
        "/exports/statistics.csv", params={**WHOLE, "agencyCode": "H44.96", "attribution": "processing"}
    )
    tax_lines = list(csv.reader(io.StringIO(by_tax.content.decode("utf-8-sig"))))
    assert dict(zip(tax_lines[0], tax_lines[-1], strict=True))["Tiếp nhận"] == "5"
    unknown = await client.get("/exports/statistics.csv", params={**WHOLE, "attribution": "SIGNER"})
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == ["attribution"]
    bad = await client.get("/exports/statistics.csv", params={"from": "2026-12-31", "to": "2026-11-01"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "BEFORE_START"


async def test_who_sees_the_dossiers_behind_the_index(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    h = await history(client, session, store, clock)
    parent_id, _ = await make_staff(session, "vanphong@phutho.gov.vn", ("STATISTICS_VIEWER", "H44.01", True))
    parent_only_id, _ = await make_staff(session, "vp2@phutho.gov.vn", ("STATISTICS_VIEWER", "H44.01", False))
    await session.commit()
    allowed = {
        "reception at the agency": h.scene.reception,
        "statistics viewer above it, with sub-agencies": long_token(parent_id),
        "admin": ADMIN_TOKEN,
    }
    refused = {
        "anonymous": None,
        "the citizen": h.scene.citizen,
        "staff of another agency": h.scene.specialist,
        "staff of the parent agency only": long_token(parent_only_id),
    }
    for who, token in allowed.items():
        index = await _index(client, WHOLE, token)
        assert _codes(index["2.1"]) == {h.code("late")}, who
    for who, maybe in refused.items():
        index = await _index(client, WHOLE, maybe)
        assert index["2.1"]["lowering"] is None, who
        # The public figures stay public.
        assert (index["2.1"]["numerator"], index["2.1"]["denominator"]) == (4, 5), who
    # Province-wide, only those whose roles reach everywhere.
    province = {"from": "2026-11-01", "to": "2026-12-31"}
    assert (await _index(client, province, h.scene.reception))["2.1"]["lowering"] is None
    assert _codes((await _index(client, province, ADMIN_TOKEN))["2.1"]) == {h.code("late")}
    # A public request's cost is bounded: at most 60 periods per breakdown.
    decades = {"from": "2010-01-01", "to": "2026-12-31"}
    body = await gql(client, STATISTICS, {"f": decades, "g": "MONTH"}, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY"
    assert len((await _statistics(client, decades, "YEAR"))["rows"]) == 1
    # Unknown codes are named.
    body = await gql(
        client, STATISTICS, {"f": {**WHOLE, "agencyCode": "KHONGCO"}, "g": "TOTAL"}, expect_errors=True
    )
    assert body["errors"][0]["extensions"]["code"] == "UNKNOWN"


async def _recount(session: AsyncSession, f: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The figures computed in Python from the dossier tables themselves, following the
    definitions, with nothing of the statistics code (agency H44.99 has no sub-agency here)."""
    since = datetime.combine(date.fromisoformat(f["from"]), time(), tzinfo=ZONE)
    until = datetime.combine(date.fromisoformat(f["to"]) + timedelta(days=1), time(), tzinfo=ZONE)
    ref = min(until, now)
    dossiers = [d for d in await session.scalars(select(Dossier)) if d.status is not DossierStatus.DRAFT]
    paid = set(await session.scalars(select(Payment.dossier_id).where(Payment.state == PaymentState.PAID)))
    refused = set(
        await session.scalars(select(DossierEvent.dossier_id).where(DossierEvent.action == "REFUSE"))
    )
    digitised = set(
        await session.scalars(
            select(VaultDocument.source_dossier_id).where(VaultDocument.source == VaultSource.DIGITISED)
        )
    )
    ratings = {r.dossier_id: r for r in await session.scalars(select(DossierRating))}
    full = {v.id for v in await session.scalars(select(ProcedureVersion)) if v.online_mode.value == "FULL"}

    def within(moment: datetime | None) -> bool:
        return moment is not None and since <= moment < until

    rec = [d for d in dossiers if within(d.received_at)]
    fin = [d for d in dossiers if within(d.finished_at) and d.punctuality is not None]
    opened = [
        d
        for d in dossiers
        if d.received_at and d.received_at < ref and (d.finished_at is None or d.finished_at >= ref)
    ]
    online = {Channel.ONLINE, Channel.NATIONAL_PORTAL}
    paper = [d for d in rec if d.channel in (Channel.COUNTER, Channel.POST)]
    owing = [d for d in rec if d.payment_status is not PaymentStatus.NOT_REQUIRED]
    full_rec = [d for d in rec if d.procedure_version_id in full]
    rated = [ratings[d.id] for d in dossiers if d.id in ratings and within(ratings[d.id].at)]

    def pct(a: int, b: int) -> float | None:
        return round(100 * a / b, 2) if b else None

    days = sum(
        ((d.result_at or d.finished_at) - d.received_at).total_seconds() / 86400
        for d in fin
        if d.finished_at and d.received_at
    )
    early = sum(1 for d in fin if d.punctuality and d.punctuality.value == "EARLY")
    on_time = sum(1 for d in fin if d.punctuality and d.punctuality.value == "ON_TIME")
    return {
        "received": len(rec),
        "receivedOnline": sum(1 for d in rec if d.channel in online),
        "receivedNationalPortal": sum(1 for d in rec if d.channel is Channel.NATIONAL_PORTAL),
        "receivedCounter": sum(1 for d in rec if d.channel is Channel.COUNTER),
        "receivedPost": sum(1 for d in rec if d.channel is Channel.POST),
        "finished": len(fin),
        "finishedEarly": early,
        "finishedOnTime": on_time,
        "finishedLate": len(fin) - early - on_time,
        "refused": sum(1 for d in fin if d.id in refused),
        "rejected": sum(1 for d in dossiers if d.status is DossierStatus.REJECTED and within(d.finished_at)),
        "withdrawn": sum(
            1 for d in dossiers if d.status is DossierStatus.WITHDRAWN and within(d.finished_at)
        ),
        "inProgress": len(opened),
        "overdue": sum(
            1 for d in opened if (due := d.deadline_at or d.due_at) and due < ref and d.paused_at is None
        ),
        "onlineShare": pct(sum(1 for d in rec if d.channel in online), len(rec)),
        "fullOnlineShare": pct(sum(1 for d in full_rec if d.channel in online), len(full_rec)),
        "onlinePaymentShare": pct(sum(1 for d in owing if d.id in paid), len(owing)),
        "digitisationShare": pct(sum(1 for d in paper if d.id in digitised), len(paper)),
        "onTimeShare": pct(early + on_time, len(fin)),
        "averageHandlingDays": round(days / len(fin), 2) if fin else None,
        "ratings": len(rated),
        "satisfactionAverage": round(sum(r.overall for r in rated) / len(rated), 3) if rated else None,
        "satisfiedShare": pct(sum(1 for r in rated if r.overall >= 3), len(rated)),
    }
