"""The catalog's root fields on the compiled read path: the same answers as the executor, for
anonymous callers, signed-in staff and the catalog's administrator (drafts), over the demo
catalog and procedures created through the catalog's own mutations."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.catalog import LIST, SEARCH
from models import catalog as m
from services.pagination import encode_offset
from tests.accounts.helpers import make_staff
from tests.catalog.factories import AMEND, CREATE, PUBLISH, procedure_input
from tests.conftest import ADMIN_TOKEN, admin_gql
from tests.planner.conftest import Paths

# Every field of a procedure the compiled path reads.
NODE = """
  id code status version versionState revision name processingDays onlineProcessingDays
  onlineMode paymentTiming deliveryMethods resultName legalBasis publishedAt
  field { id code name } levels { code name rank }
  competentAgency { code name level { code } parent { code } }
  receivingAgencies { code isOneStopUnit feeAccount { number bank holder } }
  fees { kind name amount onlineAmount note }
  components { id position name required copyType count templateUrl acceptedFormats maxSizeBytes }
  workflow { position name agencyRef role days agency { code name } }
  decision { number date }
  versions { version state decision { number date } publishedAt changeNote }
  history { action fromStatus toStatus actor decisionNumber note at }
"""
PROCEDURES = (
    """
query($first: Int, $after: String, $filter: ProcedureFilterInput, $search: String) {
  procedures(first: $first, after: $after, filter: $filter, search: $search) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { %s } }
  }
}"""
    % NODE
)
PROCEDURE = "query($code: String!, $version: Int) { procedure(code: $code, version: $version) { %s } }" % NODE
AGENCY = """
query($code: String!) {
  agency(code: $code) {
    __typename id code electronicId name isOneStopUnit supportPhone address validFrom validUntil
    feeAccount { number bank holder } level { code name rank } parent { code name } successor { code }
    children { code children { code } }
  }
}"""


async def _walk(paths: Paths, query: str, variables: dict[str, Any], token: str | None = None) -> list[str]:
    """Every page of a connection, each compared on both paths; the codes seen, in order."""
    codes: list[str] = []
    after = None
    while True:
        page = (await paths.same(query, {**variables, "after": after}, token=token))["data"]["procedures"]
        codes.extend(edge["node"]["code"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return codes
        after = page["pageInfo"]["endCursor"]


async def test_the_benchmarks_catalog_queries_compile(paths: Paths) -> None:
    listed = await paths.same(LIST, {"first": 20})
    assert len(listed["data"]["procedures"]["edges"]) == 20
    for search in ("khai sinh", "dang ky khai sinh", "ĐĂNG KÝ KẾT H", "Đất đai", "1.000894", "zzzqqq"):
        answer = await paths.same(SEARCH, {"s": search, "first": 20})
        if search == "zzzqqq":
            assert answer["data"]["procedures"]["totalCount"] == 0
    found = await paths.same(SEARCH, {"s": "khai sinh", "first": 1})
    assert found["data"]["procedures"]["edges"][0]["node"]["code"] == "1.001193"


async def test_listing_and_search_pages_walk_with_cursors(paths: Paths) -> None:
    listed = await _walk(paths, PROCEDURES, {"first": 17})
    assert listed == sorted(listed)
    assert len(listed) > 17
    searched = await _walk(paths, PROCEDURES, {"first": 3, "search": "đăng ký"})
    assert len(searched) > 3
    assert await _walk(paths, PROCEDURES, {"first": 5, "search": "khai sinh", "filter": {"level": "commune"}})
    # a cursor of the other kind: the listing ignores an offset, the search a key (as the services)
    searched_page = await paths.same(PROCEDURES, {"first": 2, "search": "hộ tịch"})
    listed_page = await paths.same(PROCEDURES, {"first": 2, "search": ""})
    offset = searched_page["data"]["procedures"]["pageInfo"]["endCursor"]
    key = listed_page["data"]["procedures"]["pageInfo"]["endCursor"]
    await paths.same(PROCEDURES, {"first": 2, "after": offset})
    await paths.same(PROCEDURES, {"first": 2, "after": key, "search": "hộ tịch"})


async def test_a_search_page_past_the_end_still_counts_every_match(paths: Paths) -> None:
    """A search counts its matches in the page's own scan (a window); a page past the last
    match has no row to carry the count, and the count is taken by itself."""
    past = encode_offset(10_000)
    answer = await paths.same(PROCEDURES, {"first": 5, "search": "đăng ký", "after": past})
    page = answer["data"]["procedures"]
    assert page["edges"] == []
    assert page["totalCount"] > 5
    within = await paths.same(PROCEDURES, {"first": 5, "search": "đăng ký"})
    assert within["data"]["procedures"]["totalCount"] == page["totalCount"]


@pytest.mark.parametrize(
    "flt",
    [
        {"level": "commune"},
        {"onlineMode": "FULL"},
        {"onlineMode": "PARTIAL", "fieldCode": "HOTICH"},
        {"agencyCode": "H44.45"},
        {"agencyCode": "KHONG-CO"},
        {"status": "SUSPENDED"},
        {"status": "PUBLISHED", "level": "province"},
        {},
    ],
)
async def test_filters(paths: Paths, flt: dict[str, Any]) -> None:
    await paths.same(PROCEDURES, {"first": 30, "filter": flt})
    await paths.same(PROCEDURES, {"first": 30, "filter": flt, "search": "giấy phép"})


async def test_shapes_of_the_selection(paths: Paths) -> None:
    query = """
    query($s: String, $withTotal: Boolean!, $noEdges: Boolean!) {
      a: procedures(first: 2, search: $s) {
        n: totalCount @include(if: $withTotal)
        ...Page
        edges @skip(if: $noEdges) { __typename c: cursor node { ...Item } }
      }
      b: procedures(first: 0) { totalCount pageInfo { hasNextPage endCursor } edges { cursor } }
      c: procedures(first: 3) { edges { node { ... on Procedure { code } code competentAgency { code } } } }
    }
    fragment Page on ProcedureCountedConnection { __typename pageInfo { __typename hasPreviousPage startCursor } }
    fragment Item on Procedure { __typename code nm: name levels { code } }
    """
    for flags in ({"withTotal": True, "noEdges": False}, {"withTotal": False, "noEdges": True}):
        await paths.same(query, {"s": "hộ tịch", **flags})
        await paths.same(query, {"s": None, **flags})


async def test_drafts_stay_with_the_catalog_administrator(paths: Paths, session: AsyncSession) -> None:
    await admin_gql(paths.executor, CREATE, {"input": procedure_input("9.999001")})
    await admin_gql(
        paths.executor, CREATE, {"input": procedure_input("9.999002", name="Thủ tục thử đã công bố")}
    )
    await admin_gql(
        paths.executor, PUBLISH, {"code": "9.999002", "number": "12/QĐ-UBND", "date": "2026-11-20"}
    )
    amended = procedure_input("9.999002", name="Thủ tục thử, sửa đổi")
    saved = await admin_gql(paths.executor, AMEND, {"code": "9.999002", "input": amended})
    assert saved["procedureAmend"]["__typename"] == "ProcedureSaved", saved
    _, staff = await make_staff(session, "chuyenvien@phutho.gov.vn", ("SPECIALIST", "H44.19", False))
    for token in (None, staff, ADMIN_TOKEN):
        listed = await paths.same(PROCEDURES, {"first": 100, "filter": {"level": "province"}}, token=token)
        codes = [e["node"]["code"] for e in listed["data"]["procedures"]["edges"]]
        assert ("9.999001" in codes) is (token == ADMIN_TOKEN)
        assert "9.999002" in codes
        found = await paths.same(PROCEDURES, {"first": 5, "search": "thủ tục thử nghiệm"}, token=token)
        assert bool(found["data"]["procedures"]["edges"]) is (token == ADMIN_TOKEN)
        draft = await paths.same(PROCEDURE, {"code": "9.999001"}, token=token)
        assert (draft["data"]["procedure"] is not None) is (token == ADMIN_TOKEN)
        for version in (None, 1, 2):
            await paths.same(PROCEDURE, {"code": "9.999002", "version": version}, token=token)
        shown = (await paths.same(PROCEDURE, {"code": "9.999002"}, token=token))["data"]["procedure"]
        assert [v["state"] for v in shown["versions"]] == (
            ["PUBLISHED", "DRAFT"] if token == ADMIN_TOKEN else ["PUBLISHED"]
        )
        assert bool(shown["history"]) is (token == ADMIN_TOKEN)
        draft_version = await paths.same(PROCEDURE, {"code": "9.999002", "version": 2}, token=token)
        assert (draft_version["data"]["procedure"] is not None) is (token == ADMIN_TOKEN)
    # a draft status asked by whoever may not see drafts: an empty page, from the executor
    refused, executed, planned = await paths.both(PROCEDURES, {"filter": {"status": "DRAFT"}}, token=staff)
    assert refused == executed
    assert not planned
    assert refused["data"]["procedures"]["edges"] == []
    drafts = await paths.same(PROCEDURES, {"filter": {"status": "DRAFT"}}, token=ADMIN_TOKEN)
    assert [e["node"]["code"] for e in drafts["data"]["procedures"]["edges"]] == ["9.999001"]


async def test_one_procedure(paths: Paths) -> None:
    found = await paths.same(PROCEDURE, {"code": "1.001193"})
    assert found["data"]["procedure"]["code"] == "1.001193"
    for code, version in (("KHONG-CO", None), ("1.001193", 99), ("", None)):
        assert (await paths.same(PROCEDURE, {"code": code, "version": version}))["data"]["procedure"] is None
    await paths.same(
        """{ x: procedure(code: "1.001193") { code levels { rank } }
             y: procedure(code: "1.000894") { name decision { date } } }"""
    )


async def test_agencies_fields_and_levels(paths: Paths) -> None:
    for code in ("H44", "H44.19", "H44.99", "KHONG-CO"):
        await paths.same(AGENCY, {"code": code})
    parent = await paths.same(AGENCY, {"code": "H44"})
    assert parent["data"]["agency"]["children"]
    tree = await paths.same(
        """{ agencyTree { code name level { code rank } feeAccount { holder }
               children { code parent { code } children { code name children { code } } } } }"""
    )
    assert tree["data"]["agencyTree"]
    await paths.same("{ fields { id code name } administrativeLevels { code name rank } }")
    await paths.same("{ f: fields { __typename code } l: administrativeLevels { rank } }")


async def test_what_the_compiled_path_does_not_read_goes_to_the_executor(paths: Paths) -> None:
    for query in (
        '{ procedure(code: "1.001193") { formSchema } }',
        '{ procedure(code: "1.001193") { availableActions } }',
        '{ procedures(search: "!!!") { totalCount } }',
        "{ procedures(first: 500) { totalCount } }",
        '{ procedures(after: "nope") { totalCount } }',
    ):
        compiled, executed, planned = await paths.both(query)
        assert compiled == executed, query
        assert not planned, query


async def test_an_amount_past_graphqls_int_is_answered_by_the_executor(
    paths: Paths, session: AsyncSession
) -> None:
    procedure = await session.scalar(select(m.Procedure).where(m.Procedure.code == "1.001193"))
    assert procedure is not None
    fee = m.ProcedureFee(
        version_id=procedure.published_version_id,
        position=99,
        kind=m.FeeKind.FEE,
        name="Phí thử nghiệm rất lớn",
        amount=3_000_000_000,
    )
    session.add(fee)
    await session.commit()
    query = '{ procedure(code: "1.001193") { code fees { name amount } } }'
    compiled, executed, planned = await paths.both(query)
    assert compiled == executed
    assert "errors" in executed
    assert not planned
    fee.amount = 2_000_000_000  # within Int: compiled again
    await session.commit()
    await paths.same(query)
