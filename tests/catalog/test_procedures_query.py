"""Public catalog queries over the demo catalog: filters, pagination, search, versions."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import gql

LIST = """
query($first: Int, $after: String, $filter: ProcedureFilterInput, $search: String) {
  procedures(first: $first, after: $after, filter: $filter, search: $search) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { code name status onlineMode levels { code } field { code } } }
  }
}"""


async def _list(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    page: dict[str, Any] = (await gql(client, LIST, variables))["data"]["procedures"]
    return page


async def test_search_ignores_diacritics_case_and_d(client: httpx.AsyncClient) -> None:
    for query in ("khai sinh", "dang ky khai sinh", "ĐĂNG KÝ KHAI SINH", "Dang Ky Khai Sinh"):
        page = await _list(client, search=query, first=5)
        assert page["edges"][0]["node"]["code"] == "1.001193", query
        assert page["edges"][0]["node"]["name"] == "Thủ tục đăng ký khai sinh"


async def test_search_ranks_whole_phrase_before_scattered_words(client: httpx.AsyncClient) -> None:
    page = await _list(client, search="khai sinh", first=50)
    names = [e["node"]["name"].lower() for e in page["edges"]]
    assert all("khai sinh" in n for n in names[:5])
    assert page["totalCount"] == len(names)


async def test_search_by_prefix_of_last_word(client: httpx.AsyncClient) -> None:
    page = await _list(client, search="ket h", first=20)
    assert any(e["node"]["code"] == "1.000894" for e in page["edges"])  # đăng ký kết hôn


async def test_search_by_code(client: httpx.AsyncClient) -> None:
    page = await _list(client, search="1.000894", first=5)
    assert page["edges"][0]["node"]["code"] == "1.000894"


async def test_search_with_only_punctuation_finds_nothing(client: httpx.AsyncClient) -> None:
    page = await _list(client, search="!!!", first=5)
    assert page == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
        "edges": [],
    }


async def test_filters(client: httpx.AsyncClient) -> None:
    commune = await _list(client, filter={"level": "commune"}, first=100)
    assert commune["totalCount"] > 0
    assert all("commune" in [lv["code"] for lv in e["node"]["levels"]] for e in commune["edges"])
    full = await _list(client, filter={"onlineMode": "FULL"}, first=100)
    assert full["totalCount"] > 0
    assert all(e["node"]["onlineMode"] == "FULL" for e in full["edges"])
    civil = await _list(client, filter={"fieldCode": "HOTICH"}, first=100)
    assert civil["totalCount"] > 0
    assert all(e["node"]["field"]["code"] == "HOTICH" for e in civil["edges"])
    justice = await _list(client, filter={"agencyCode": "H44.45"}, first=100)
    assert justice["totalCount"] > 0
    everything = await _list(client, first=100)
    assert commune["totalCount"] < everything["totalCount"]


async def test_keyset_pagination_walks_every_procedure_once(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = await _list(client, first=7, after=after)
        seen.extend(e["node"]["code"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == page["totalCount"]


async def test_search_pagination_has_no_gaps(client: httpx.AsyncClient) -> None:
    whole = await _list(client, search="dang ky", first=100)
    walked: list[str] = []
    after = None
    while True:
        page = await _list(client, search="dang ky", first=4, after=after)
        walked.extend(e["node"]["code"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == [e["node"]["code"] for e in whole["edges"]]


async def test_page_size_is_bounded(client: httpx.AsyncClient) -> None:
    body = await gql(client, "{ procedures(first: 1000) { totalCount } }", expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"


async def test_procedure_by_code_has_everything_the_catalog_lists(client: httpx.AsyncClient) -> None:
    query = """
    { procedure(code: "1.001193") {
        code name status version versionState processingDays onlineMode resultName legalBasis
        deliveryMethods formSchema field { name } levels { code name }
        components { name required copyType acceptedFormats maxSizeBytes }
        fees { amount } workflow { name role days agencyRef } decision { number date }
    } }"""
    p = (await gql(client, query))["data"]["procedure"]
    assert p["status"] == "PUBLISHED"
    assert p["versionState"] == "PUBLISHED"
    assert p["field"]["name"] == "Hộ tịch"
    assert p["levels"] == [{"code": "commune", "name": "Cấp xã"}]
    assert p["components"][0]["name"] == "Tờ khai đăng ký khai sinh theo mẫu"
    assert sum(s["days"] for s in p["workflow"]) == p["processingDays"]
    assert p["formSchema"]["type"] == "object"
    assert p["decision"]["number"]


async def test_unknown_procedure_is_null(client: httpx.AsyncClient) -> None:
    assert (await gql(client, '{ procedure(code: "0.000000") { code } }'))["data"]["procedure"] is None


async def test_agency_tree(client: httpx.AsyncClient) -> None:
    query = """{ agencyTree { code name level { code } children { code electronicId isOneStopUnit
                 feeAccount { number } parent { code } } } }"""
    roots = (await gql(client, query))["data"]["agencyTree"]
    province = next(r for r in roots if r["code"] == "H44")
    assert province["level"]["code"] == "province"
    codes = {c["code"] for c in province["children"]}
    assert "H44.19" in codes
    assert all(c["parent"]["code"] == "H44" for c in province["children"])
    justice = next(c for c in province["children"] if c["code"] == "H44.19")
    assert justice["electronicId"] == "000.00.19.H44"


async def test_fields_and_levels(client: httpx.AsyncClient) -> None:
    data = (await gql(client, "{ fields { code name } administrativeLevels { code rank } }"))["data"]
    assert {"code": "HOTICH", "name": "Hộ tịch"} in data["fields"]
    assert [lv["code"] for lv in data["administrativeLevels"]] == ["province", "commune"]
