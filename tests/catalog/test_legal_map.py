"""Today's legal map (issue 16 item 9): two levels of local government since 1 July 2025, levels as
data an admin adds and retires, agency electronic ids as issued after the reorganisation, and the
legal basis as data in one place."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pytest

from core import migrate
from core.settings import ELECTRONIC_ID_DEFAULT, Settings
from services import legal
from services.catalog import rules
from services.catalog.data import AgencyData
from tests.catalog.test_agencies_fields import AGENCY_CREATE, AGENCY_UPDATE, agency
from tests.conftest import ROOT, Servers, admin_gql, gql

LEVEL_CREATE = """
mutation($input: AdministrativeLevelInput!) { administrativeLevelCreate(input: $input) {
  __typename
  ... on AdministrativeLevelSaved { level { code name rank retiredOn } }
  ... on ValidationFailed { errors { field code message } }
} }"""
LEVEL_RETIRE = """
mutation($code: String!, $on: Date!) { administrativeLevelRetire(code: $code, retiredOn: $on) {
  __typename
  ... on AdministrativeLevelSaved { level { code retiredOn } }
  ... on ValidationFailed { errors { field code message } }
  ... on NotFound { message }
} }"""


async def test_since_1_july_2025_local_government_has_two_levels_province_and_commune(
    client: httpx.AsyncClient,
) -> None:
    """The 2025 Law on the Organisation of Local Government (in force 1 July 2025): two levels of
    local government, province and commune — the demo has no district level."""
    data = (await gql(client, "{ administrativeLevels { code rank retiredOn } }"))["data"]
    assert data["administrativeLevels"] == [
        {"code": "province", "rank": 1, "retiredOn": None},
        {"code": "commune", "rank": 3, "retiredOn": None},
    ]
    doc = (ROOT / "seed" / "demo_catalog.json").read_text(encoding="utf-8")
    assert '"district"' not in doc


async def test_an_admin_adds_a_level_and_retires_it_keeping_its_agencies_readable(
    client: httpx.AsyncClient,
) -> None:
    """Levels are data (issue 16 item 9): a retired level keeps its historical agencies readable,
    but no new agency may use it, and no agency moves to it."""
    created = await admin_gql(
        client, LEVEL_CREATE, {"input": {"code": "special", "name": "Đặc khu", "rank": 2}}
    )
    assert created["administrativeLevelCreate"]["level"] == {
        "code": "special",
        "name": "Đặc khu",
        "rank": 2,
        "retiredOn": None,
    }
    old = (await admin_gql(client, AGENCY_CREATE, {"input": agency(levelCode="special")}))["agencyCreate"]
    assert old["__typename"] == "AgencySaved"
    retired = await admin_gql(client, LEVEL_RETIRE, {"code": "special", "on": "2026-12-01"})
    assert retired["administrativeLevelRetire"]["level"] == {"code": "special", "retiredOn": "2026-12-01"}

    refused = (
        await admin_gql(
            client,
            AGENCY_CREATE,
            {"input": agency(code="H44.301", electronicId="000.30.01.H44", levelCode="special")},
        )
    )["agencyCreate"]
    assert refused["__typename"] == "ValidationFailed"
    assert [(e["field"][0], e["code"]) for e in refused["errors"]] == [("levelCode", "RETIRED")]
    assert "bãi bỏ" in refused["errors"][0]["message"]

    # The historical agency stays readable on its level, and may still be edited on it.
    read = (await gql(client, '{ agency(code: "H44.300") { level { code retiredOn } } }'))["data"]
    assert read["agency"]["level"] == {"code": "special", "retiredOn": "2026-12-01"}
    kept = await admin_gql(
        client,
        AGENCY_UPDATE,
        {"id": old["agency"]["id"], "input": agency(levelCode="special", name="Đổi tên")},
    )
    assert kept["agencyUpdate"]["__typename"] == "AgencySaved"
    # …but no commune agency moves to the retired level.
    justice = (await gql(client, '{ agency(code: "H44.100") { id } }'))["data"]["agency"]["id"]
    moved = await admin_gql(
        client,
        AGENCY_UPDATE,
        {"id": justice, "input": agency(code="H44.100", electronicId="000.01.00.H44", levelCode="special")},
    )
    assert [(e["field"][0], e["code"]) for e in moved["agencyUpdate"]["errors"]] == [("levelCode", "RETIRED")]


async def test_level_mutations_answer_typed_field_errors(client: httpx.AsyncClient) -> None:
    """Levels are data (issue 16 item 9): typed field errors, Vietnamese messages."""
    bad = (await admin_gql(client, LEVEL_CREATE, {"input": {"code": "Xã!", "name": " ", "rank": 0}}))[
        "administrativeLevelCreate"
    ]
    assert sorted(e["field"][0] for e in bad["errors"]) == ["code", "name", "rank"]
    dup = (await admin_gql(client, LEVEL_CREATE, {"input": {"code": "commune", "name": "Xã", "rank": 5}}))[
        "administrativeLevelCreate"
    ]
    assert [(e["field"][0], e["code"]) for e in dup["errors"]] == [("code", "DUPLICATE")]
    missing = await admin_gql(client, LEVEL_RETIRE, {"code": "nope", "on": "2026-12-01"})
    assert missing["administrativeLevelRetire"]["__typename"] == "NotFound"
    await admin_gql(client, LEVEL_RETIRE, {"code": "commune", "on": "2026-12-01"})
    twice = await admin_gql(client, LEVEL_RETIRE, {"code": "commune", "on": "2026-12-02"})
    assert [e["code"] for e in twice["administrativeLevelRetire"]["errors"]] == ["ALREADY_RETIRED"]


async def test_only_a_catalog_admin_adds_or_retires_a_level(client: httpx.AsyncClient) -> None:
    """Levels are data an admin changes (issue 16 item 9): anyone else is refused, nothing changes
    (every role: tests/test_permission_matrix.py, tests/test_authorization_matrix.py)."""
    body = await gql(
        client,
        'mutation { administrativeLevelRetire(code: "commune", retiredOn: "2026-01-01") { __typename } }',
        expect_errors=True,
    )
    assert body["errors"]
    assert body["data"] is None
    data = (await gql(client, "{ administrativeLevels { code retiredOn } }"))["data"]
    assert {"code": "commune", "retiredOn": None} in data["administrativeLevels"]


@pytest.mark.parametrize(
    "eid",
    [
        "000.00.31.H34",  # QCVN 102:2016, a department before 2025
        "000.01.00.H44",  # a commune of the merged Phú Thọ (seed)
        "000.01.148.H44",  # a merged province's 148th commune: three digits
        "000.100.05.H44",
    ],
)
def test_agency_electronic_ids_accept_the_codes_issued_after_the_2025_reorganisation(eid: str) -> None:
    """QCVN 102:2016 V1V2V3.Z1Z2.Y1Y2.MX1X2 with the wider groups of the codes issued after the
    1 July 2025 reorganisation (unverified: AGENCY_ELECTRONIC_ID_PATTERN, docs/domain.md)."""
    data = AgencyData(code="H44.300", name="UBND xã", level_code="commune", electronic_id=eid)
    assert not rules.check_agency(data, levels={"commune"}, agencies={"H44"}).items
    assert re.match(Settings.model_fields["agency_electronic_id_pattern"].default, eid)


def test_a_province_sets_its_own_electronic_id_pattern() -> None:
    """Where the format is unverified it is configuration (PREAMBLE; DESIGN.md "The law since 2025")."""
    data = AgencyData(code="H44.300", name="UBND xã", level_code="commune", electronic_id="G22.01.H44")
    assert rules.check_agency(data, levels={"commune"}, agencies=()).items
    custom = re.compile(r"^G\d{2}\.\d{2}\.H\d{2}$")
    assert not rules.check_agency(data, levels={"commune"}, agencies=(), electronic_id=custom).items
    assert Settings.model_fields["agency_electronic_id_pattern"].default == ELECTRONIC_ID_DEFAULT
    with pytest.raises(ValueError, match="AGENCY_ELECTRONIC_ID_PATTERN"):
        Settings(agency_electronic_id_pattern="(")


async def test_a_malformed_electronic_id_is_a_field_error(client: httpx.AsyncClient) -> None:
    """The electronic id is the dossier code's prefix (Circular 03/2025, earlier 01/2018)."""
    result = (await admin_gql(client, AGENCY_CREATE, {"input": agency(electronicId="H44.300")}))[
        "agencyCreate"
    ]
    assert [(e["field"][0], e["code"]) for e in result["errors"]] == [("electronicId", "BAD_FORMAT")]


def test_decree_118_2025_replaces_decree_61_2018_for_dossiers_received_from_1_july_2025() -> None:
    """Decree 118/2025/NĐ-CP (in force 1 July 2025, amended by Decree 367/2025) replaced Decree
    61/2018 and its amendment 107/2021 (DESIGN.md "The law since 2025")."""
    assert [t.number for t in legal.one_stop_basis(date(2025, 6, 30))] == ["61/2018/NĐ-CP", "107/2021/NĐ-CP"]
    assert [t.number for t in legal.one_stop_basis(date(2025, 7, 1))] == ["118/2025/NĐ-CP", "367/2025/NĐ-CP"]
    assert legal.article("decree-61-2018", 19) == "Nghị định 61/2018/NĐ-CP, Điều 19"
    assert legal.basis_citation(date(2026, 1, 5)) == (
        "Nghị định số 118/2025/NĐ-CP (được sửa đổi, bổ sung bởi Nghị định số 367/2025/NĐ-CP)"
    )


def test_circular_03_2025_forms_apply_to_dossiers_received_from_15_september_2025() -> None:
    """Circular 03/2025/TT-VPCP (15 Sept 2025) sets the forms; Circular 01/2018's remain for
    dossiers received before (DESIGN.md "The law since 2025")."""
    assert legal.form_circular(date(2025, 9, 14)).number == "01/2018/TT-VPCP"
    assert legal.form_circular(date(2025, 9, 15)).number == "03/2025/TT-VPCP"
    assert legal.in_force("decree-224-2026", date(2026, 7, 1))
    assert not legal.in_force("decree-224-2026", date(2026, 6, 30))


def test_the_legal_basis_is_data_in_one_place_not_literals() -> None:
    """Issue 16 item 9: citations of the one-stop texts live in services/legal only (the slips'
    texts are the forms' own: services/documents, issue 16 item 5)."""
    citation = re.compile(r"(61/2018|107/2021|118/2025|367/2025|03/2025|224/2026|45/2020)")
    offenders = []
    for path in sorted((ROOT / "schema").rglob("*.py")) + sorted((ROOT / "resolvers").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if citation.search(stripped) and not stripped.startswith(("#", '"""')):
                offenders.append(f"{Path(path).relative_to(ROOT)}:{number}: {stripped}")
    assert offenders == []


def test_the_migration_retires_the_district_level_only_where_agencies_use_it(servers: Servers) -> None:
    """Since 1 July 2025 there is no district level: migration 0026 removes it from a database where
    nothing uses it, and retires it (1 July 2025) where district agencies remain — their dossiers
    keep naming them."""

    async def sql(database: str, statement: str) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(_dsn(servers.database_url).replace("/postgres?", f"/{database}?", 1))
        try:
            return await conn.fetch(statement)
        finally:
            await conn.close()

    for database, with_district in (("legal_map_empty", False), ("legal_map_district", True)):
        asyncio.run(sql("postgres", f"DROP DATABASE IF EXISTS {database}"))
        asyncio.run(sql("postgres", f"CREATE DATABASE {database}"))
        url = servers.database_url.replace("/postgres?", f"/{database}?", 1)
        migrate.upgrade(url, "0023")
        if with_district:
            asyncio.run(
                sql(
                    database,
                    "INSERT INTO agencies (id, code, name, search_text, level_code, is_one_stop_unit, "
                    "created_at, updated_at) VALUES (gen_random_uuid(), 'H44.H1', 'UBND huyện Lâm Thao', '', "
                    "'district', true, now(), now())",
                )
            )
        migrate.upgrade(url)
        rows = asyncio.run(sql(database, "SELECT code, retired_on FROM administrative_levels ORDER BY rank"))
        levels = [(r["code"], r["retired_on"]) for r in rows]
        if with_district:
            assert levels == [("province", None), ("district", date(2025, 7, 1)), ("commune", None)]
        else:
            assert levels == [("province", None), ("commune", None)]
        asyncio.run(sql("postgres", f"DROP DATABASE {database}"))


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_the_legal_texts_are_public_with_their_effective_dates(client: httpx.AsyncClient) -> None:
    """The legal basis is data in one place (issue 16 item 9), readable by anyone: which texts apply
    on a day — Decree 61/2018 until 30 June 2025, Decree 118/2025 from 1 July 2025."""
    query = "query($on: Date) { legalTexts(on: $on) { key number citation effectiveFrom verified inForce } }"
    before = (await gql(client, query, {"on": "2025-06-30"}))["data"]["legalTexts"]
    after = (await gql(client, query, {"on": "2025-07-01"}))["data"]["legalTexts"]
    in_force = {t["key"]: t["inForce"] for t in before}, {t["key"]: t["inForce"] for t in after}
    assert (in_force[0]["decree-61-2018"], in_force[1]["decree-61-2018"]) == (True, False)
    assert (in_force[0]["decree-118-2025"], in_force[1]["decree-118-2025"]) == (False, True)
    decree = next(t for t in after if t["key"] == "decree-118-2025")
    assert decree == {
        "key": "decree-118-2025",
        "number": "118/2025/NĐ-CP",
        "citation": "Nghị định số 118/2025/NĐ-CP",
        "effectiveFrom": "2025-07-01",
        "verified": True,
        "inForce": True,
    }
