"""The wire is consistent: one printed form per scalar whichever path computed the value (a row
read from PostgreSQL, a value computed in Python), PostgreSQL's `to_char` able to print the same
bytes, enums where an argument means an enum, and positions counted from 1 everywhere."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    get_named_type,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.clock import FixedClock
from resolvers.root import schema
from services.files import clean_filename
from storage.s3 import ObjectStore
from tests.conftest import gql
from tests.dossiers.helpers import act, scene, upload
from tests.dossiers.test_lifecycle import SAVE, at

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
WIRE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+07:00$")
# What a compiled SQL path prints, with the session's TimeZone the province's (see schema.scalars).
TO_CHAR = """to_char(CAST(:t AS timestamptz), 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM')"""

GRAPHQL = schema._schema


def scalar(name: str) -> GraphQLScalarType:
    found = GRAPHQL.get_type(name)
    assert isinstance(found, GraphQLScalarType)
    return found


INSTANTS = [
    datetime(2026, 11, 26, 2, 0, tzinfo=UTC),  # a whole second: still six fraction digits
    datetime(2026, 11, 26, 9, 0, 0, 123456, tzinfo=ZONE),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),  # next day at home
    datetime(2027, 1, 1, 0, 0, 0, 500, tzinfo=UTC),
]


@pytest.mark.parametrize("instant", INSTANTS)
def test_every_instant_prints_in_the_province_offset_with_six_fraction_digits(instant: datetime) -> None:
    printed = scalar("DateTime").serialize(instant)
    assert WIRE_DATETIME.match(printed), printed
    assert datetime.fromisoformat(printed) == instant
    # The same instant from another zone prints the same bytes (a row read back in UTC, say).
    assert scalar("DateTime").serialize(instant.astimezone(UTC)) == printed


def test_a_naive_datetime_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="naive"):
        scalar("DateTime").serialize(datetime(2026, 11, 26, 9, 0))  # noqa: DTZ001 — the point


def test_inputs_accept_any_iso_offset() -> None:
    parse = scalar("DateTime").parse_value
    one = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    for given in ("2026-11-26T02:00:00Z", "2026-11-26T09:00:00+07:00", "2026-11-26T02:00:00.000000+00:00"):
        assert parse(given) == one


async def test_postgresql_prints_the_same_bytes(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SET TIME ZONE 'Asia/Ho_Chi_Minh'"))
        for instant in INSTANTS:
            printed = await connection.scalar(text(f"SELECT {TO_CHAR}"), {"t": instant})
            assert printed == scalar("DateTime").serialize(instant)
        day = await connection.scalar(
            text("SELECT to_char(CAST(:d AS date), 'YYYY-MM-DD')"), {"d": date(2026, 3, 1)}
        )
        assert day == scalar("Date").serialize(date(2026, 3, 1))
        await connection.rollback()


def test_a_date_prints_as_a_day_and_a_datetime_is_not_a_date() -> None:
    assert scalar("Date").serialize(date(2026, 3, 1)) == "2026-03-01"
    with pytest.raises(TypeError):
        scalar("Date").serialize(datetime(2026, 3, 1, tzinfo=UTC))


def test_amounts_and_days_print_the_same_from_the_database_and_from_python() -> None:
    """Amounts are `Int` (VND), days `Float`: a `Decimal` read from a NUMERIC column prints as the
    number computed in Python does."""
    for stored, computed in ((Decimal("150000"), 150000), (Decimal("150000.00"), 150000)):
        assert GRAPHQL.get_type("Int").serialize(stored) == GRAPHQL.get_type("Int").serialize(computed)  # type: ignore[union-attr]
    for stored_days, computed_days in ((Decimal("3.5"), 3.5), (Decimal("3.0"), 3), (Decimal("0.5"), 0.5)):
        a = GRAPHQL.get_type("Float").serialize(stored_days)  # type: ignore[union-attr]
        b = GRAPHQL.get_type("Float").serialize(computed_days)  # type: ignore[union-attr]
        assert (a, type(a)) == (b, type(b))


def test_byte_counts_are_json_integers_beyond_int32() -> None:
    count = scalar("ByteCount")
    assert count.serialize(3_000_000_000) == 3_000_000_000
    assert count.parse_value(2**31) == 2**31
    for wrong in ("12", 1.5, True, -1, 2**53):
        with pytest.raises(GraphQLError):
            count.parse_value(wrong)


def test_file_names_hold_what_their_description_says() -> None:
    """StoredFile.filename's description: 1–255 characters, no control characters, `/` and `\\`
    replaced by `_`, surrounding spaces dropped (`services.files.clean_filename`)."""
    assert clean_filename("  Tờ khai (bản 2).pdf ") == "Tờ khai (bản 2).pdf"
    assert clean_filename("a/b\\c.pdf") == "a_b_c.pdf"
    assert clean_filename("x" * 255) == "x" * 255
    for wrong in ("", "   ", "x" * 256, "a\nb.pdf", "a\tb.pdf", "a\x00b.pdf", "a\x7fb.pdf"):
        assert clean_filename(wrong) is None, repr(wrong)
    assert "64 ký tự hexa viết thường" in GRAPHQL.get_type("StoredFile").fields["sha256"].description  # type: ignore[union-attr]


# Arguments and input fields typed String whose name sounds like an enum, and that are free text on
# purpose. Every other such name must be typed with its enum.
FREE_TEXT = {
    # an explanation a person writes, not a code (LockReason/RefundReason are the system's own)
    "Mutation.procedureSuspend(reason)",
    "Mutation.accountDelete(reason)",
    "Mutation.dossierApologize(reason)",
    "Mutation.dossierWithdraw(reason)",
    "Mutation.inquiryDecline(reason)",
    "Mutation.inquiryReview(reason)",
    "Mutation.accountVaultHandOver(reason)",
    # OpenID Connect's opaque `state` parameter, echoed back to the provider's redirect
    "Mutation.nationalIdentitySignInComplete(state)",
    # a MIME type (validated against the known formats), not a CopyType
    "Mutation.fileUploadStart(contentType)",
    # the kind of paper a citizen keeps in the vault, in their own words
    "Mutation.vaultDocumentAdd(docType)",
}


def _words(name: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)]


def _string_places() -> list[tuple[str, str]]:
    """(where, name) of every String argument and input field."""
    places: list[tuple[str, str]] = []
    for type_name, named in GRAPHQL.type_map.items():
        if type_name.startswith("__"):
            continue
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, f in named.fields.items():
                places += [
                    (f"{type_name}.{field_name}({arg})", arg)
                    for arg, a in f.args.items()
                    if get_named_type(a.type) is GraphQLString
                ]
        if isinstance(named, GraphQLInputObjectType):
            places += [
                (f"{type_name}.{field_name}", field_name)
                for field_name, f in named.fields.items()
                if get_named_type(f.type) is GraphQLString
            ]
    return places


def test_no_string_argument_where_an_enum_is_meant() -> None:
    """`method`, `status`, `role`, `kind`, `channel`…: when an enum ends with the argument's last
    word (DeliveryMethod, DossierStatus, StaffRole…), the argument is typed with an enum."""
    enum_by_last_word: dict[str, list[str]] = {}
    for name, named in GRAPHQL.type_map.items():
        if isinstance(named, GraphQLEnumType) and not name.startswith("__"):
            enum_by_last_word.setdefault(_words(name)[-1], []).append(name)
    found = {
        where: enum_by_last_word[_words(name)[-1]]
        for where, name in _string_places()
        if _words(name)[-1] in enum_by_last_word and where not in FREE_TEXT
    }
    assert found == {}
    stale = FREE_TEXT - {where for where, _ in _string_places()}
    assert stale == set(), "allow-listed places that are no longer String arguments"


DOSSIER = """query($id: ID!) { dossier(id: $id) { %s } }"""
INSTANT_FIELDS = "submittedAt countsFrom dueAt deliveryMethod"


async def test_a_mutation_and_a_query_print_the_same_instant_and_count_steps_from_one(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    s = await scene(client, session)
    form_file = await upload(session, store, s.citizen_id)
    clock.at = at("2026-11-26T17:10:00")  # after hours: countsFrom is computed in local time
    draft_input = {
        "procedureCode": s.code,
        "receivingAgencyCode": "H44.99",
        "formData": {"hoTen": "Nguyễn Thị Lan"},
        "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form_file]}],
        "deliveryMethod": "POST",
    }
    saved = (await gql(client, SAVE, {"input": draft_input}, token=s.citizen))["data"]["r"]["dossier"]
    submitted = await act(client, s.citizen, "dossierSubmit", id=saved["id"])
    received = await act(client, s.reception, "dossierReceive", id=saved["id"])
    assert received["__typename"] == "DossierChanged", received
    query = DOSSIER % (INSTANT_FIELDS + " steps { position }")
    read = (await gql(client, query, {"id": saved["id"]}, token=s.citizen))["data"]["dossier"]
    for field in ("submittedAt", "countsFrom"):
        assert submitted["dossier"][field] == read[field], field
        assert WIRE_DATETIME.match(read[field]), read[field]
    assert received["dossier"]["dueAt"] == read["dueAt"]
    assert read["deliveryMethod"] == "POST"

    workflow = (await gql(client, '{ procedure(code: "9.999001") { workflow { position } } }'))["data"][
        "procedure"
    ]["workflow"]
    assert [w["position"] for w in workflow] == [s["position"] for s in read["steps"]]
    assert read["steps"][0]["position"] == 1
