"""The personal data vault and feedback/questions on the compiled read path: `vaultDocuments`,
`myInquiries`, `inquiryInbox` and `inquiry(id)` answered by the planner exactly as the executor
answers them (aliases, fragments, directives, variables, pages and cursors, filters, the clock),
and nobody reads another's documents or inquiries on either path."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from core.clock import FixedClock
from planner.plans import Planner
from resolvers.root import build_schema
from schema.limits import Limits
from storage.s3 import ObjectStore
from tests.accounts.helpers import token_for
from tests.conftest import NOW, gql
from tests.dossiers.helpers import upload
from tests.feedback import test_inquiries as fb
from tests.planner.conftest import Paths

ADD = """mutation($f: ID!, $t: String!, $k: String, $i: Date) {
  r: vaultDocumentAdd(fileId: $f, title: $t, docType: $k, issuedOn: $i) {
    ... on VaultDocumentSaved { document { id } } } }"""
DELETE = "mutation($id: ID!) { r: vaultDocumentDelete(id: $id) { __typename } }"
DOCS = """query($s: String, $o: Int! = 0, $l: Int! = 50) { vaultDocuments(search: $s, offset: $o, limit: $l) {
  __typename hasNextPage
  items { __typename id title docType issuer issuedOn expiresOn source version fileId } } }"""

INQUIRY = """fragment Inq on Inquiry {
  id code kind channel status statusLabel title content submitterName submitterEmail submitterPhone
  dossierId receivedAt classifyDueAt forwardedAt forwardedOnTime answerDueAt overdue answer answeredAt
  returnedCount declineReason publishedAt version
  focalAgency { code name } competentAgency { __typename code isOneStopUnit } agency { code }
}"""
MINE = (
    """query($first: Int! = 20, $after: String) { myInquiries(first: $first, after: $after) {
  edges { cursor node { ...Inq } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    + INQUIRY
)
INBOX = (
    """query($s: InquiryStatus, $k: InquiryKind, $o: Boolean, $first: Int! = 20, $after: String) {
  inquiryInbox(status: $s, kind: $k, overdue: $o, first: $first, after: $after) {
    __typename edges { __typename cursor node { ...Inq } } pageInfo { endCursor hasNextPage } } }"""
    + INQUIRY
)
ONE = "query($id: ID!) { inquiry(id: $id) { ...Inq } }" + INQUIRY
FEEDBACK = {
    "kind": "FEEDBACK",
    "title": "Đường liên xã bị sạt lở",
    "content": "Đoạn đường qua thôn 3 bị sạt lở sau mưa lớn, đề nghị khắc phục sớm.",
}


@dataclass
class Vaults:
    owner: str
    stranger: str
    docs: list[str]  # the owner's current documents, as added
    gone: str  # the owner's deleted document


@pytest.fixture
async def vaults(paths: Paths, session: AsyncSession, store: ObjectStore) -> Vaults:
    owner, stranger = [await token_for(paths.executor, session, n) for n in (1, 2)]
    me = (await gql(paths.executor, "{ me { id } }", token=owner))["data"]["me"]["id"]
    them = (await gql(paths.executor, "{ me { id } }", token=stranger))["data"]["me"]["id"]
    added = []
    for title, kind, issued in (
        ("Giấy khai sinh", "Hộ tịch", "2020-01-31"),
        ("Căn cước công dân", "Giấy tờ tùy thân", None),
        ("Sổ hộ khẩu (cũ)", None, "1999-12-01"),
        ("Bằng tốt nghiệp", "Văn bằng", None),
    ):
        file_id = await upload(session, store, uuid.UUID(me), f"{title}.pdf")
        variables = {"f": file_id, "t": title, "k": kind, "i": issued}
        added.append((await gql(paths.executor, ADD, variables, token=owner))["data"]["r"]["document"]["id"])
    gone = added.pop()
    assert (await gql(paths.executor, DELETE, {"id": gone}, token=owner))["data"]["r"]["__typename"] == (
        "VaultDocumentSaved"
    )
    theirs = await upload(session, store, uuid.UUID(them), "khai-sinh.pdf")
    await gql(paths.executor, ADD, {"f": theirs, "t": "Giấy khai sinh của người khác"}, token=stranger)
    return Vaults(owner, stranger, added, gone)


async def test_the_vault_pages_and_searches_as_the_executor(paths: Paths, vaults: Vaults) -> None:
    page = (await paths.same(DOCS, token=vaults.owner))["data"]["vaultDocuments"]
    assert sorted(d["id"] for d in page["items"]) == sorted(vaults.docs)
    assert vaults.gone not in {d["id"] for d in page["items"]}
    assert {d["issuedOn"] for d in page["items"]} == {"2020-01-31", None, "1999-12-01"}
    seen = []
    for offset in range(4):
        one = await paths.same(DOCS, {"o": offset, "l": 1}, token=vaults.owner)
        items = one["data"]["vaultDocuments"]["items"]
        assert one["data"]["vaultDocuments"]["hasNextPage"] is (offset < 2)
        seen += [d["id"] for d in items]
    assert seen == [d["id"] for d in page["items"]]  # the pages make the whole list, in order
    for search, count in (("khai sinh", 1), ("CĂN CƯỚC", 1), ("ho tich khai", 1), ("giay", 2), ("xyz", 0)):
        found = await paths.same(DOCS, {"s": search}, token=vaults.owner)
        assert len(found["data"]["vaultDocuments"]["items"]) == count, search
    assert (await paths.same(DOCS, {"s": "  "}, token=vaults.owner))["data"]["vaultDocuments"] == page


async def test_the_vault_with_aliases_fragments_and_directives(paths: Paths, vaults: Vaults) -> None:
    query = """query($skip: Boolean!, $with: Boolean!) {
      first: vaultDocuments(limit: 2) { more: hasNextPage ...Titles items @skip(if: $skip) { kind: source } }
      again: vaultDocuments(offset: 1, limit: 1) { items { ... on VaultDocument { id } v: version } }
      ...Rest
    }
    fragment Titles on VaultDocumentPage { items { title ...Ids @include(if: $with) } }
    fragment Ids on VaultDocument { id fileId }
    fragment Rest on Query { vaultDocuments { hasNextPage } }"""
    for skip, with_ in ((True, True), (False, False), (False, True)):
        answer = await paths.same(query, {"skip": skip, "with": with_}, token=vaults.owner)
        first = answer["data"]["first"]
        assert list(first["items"][0]) == [
            "title",
            *(["id", "fileId"] if with_ else []),
            *([] if skip else ["kind"]),
        ]
        assert first["more"] is True


async def test_nobody_reads_another_persons_vault(paths: Paths, vaults: Vaults) -> None:
    theirs = (await paths.same(DOCS, token=vaults.stranger))["data"]["vaultDocuments"]["items"]
    assert [d["title"] for d in theirs] == ["Giấy khai sinh của người khác"]
    assert not {d["id"] for d in theirs} & {*vaults.docs, vaults.gone}
    for search in ("can cuoc", "ho khau"):
        found = await paths.same(DOCS, {"s": search}, token=vaults.stranger)
        assert found["data"]["vaultDocuments"]["items"] == []
    beyond = await paths.same(DOCS, {"o": 5}, token=vaults.owner)
    assert beyond["data"]["vaultDocuments"] == {
        "__typename": "VaultDocumentPage",
        "hasNextPage": False,
        "items": [],
    }


async def test_what_the_vault_plan_refuses_the_executor_answers(paths: Paths, vaults: Vaults) -> None:
    for query, variables, token in (
        ("{ vaultDocuments { items { file { id } } } }", {}, vaults.owner),  # a loader, not SQL
        (DOCS, {"l": 0}, vaults.owner),  # OUT_OF_RANGE
        (DOCS, {"s": "a " * 300}, vaults.owner),  # the search is too long
        (DOCS, {}, None),  # not signed in
    ):
        compiled, executed, planned = await paths.both(query, variables, token=token)
        assert not planned
        assert compiled == executed


@dataclass
class Inquiries:
    citizen: str
    stranger: str
    staff: dict[str, str]
    ids: list[str]  # the citizen's, newest first


@pytest.fixture
async def inquiries(paths: Paths, session: AsyncSession, clock: FixedClock) -> Inquiries:
    citizen = await fb.citizen_token(paths.executor, session)
    stranger = await fb.citizen_token(paths.executor, session, 2)
    staff = await fb.people(session)
    ids: list[str] = []
    # Fractions of a second that print differently (none, trailing zeros, six digits) in cursors.
    for n, (micro, body) in enumerate(((0, fb.QUESTION), (500_000, FEEDBACK), (123_456, fb.QUESTION))):
        clock.at = NOW + timedelta(minutes=n, microseconds=micro)
        sent = await fb.run(paths.executor, fb.SUBMIT, citizen, i=body, k=None)
        ids.insert(0, sent["inquiry"]["id"])
    clock.at = NOW + timedelta(minutes=5)
    await fb.run(paths.executor, fb.SUBMIT, stranger, i=fb.QUESTION, k=None)
    clock.at = NOW + timedelta(days=1)
    forwarded = await fb.run(paths.executor, fb.FORWARD, staff["focal"], id=ids[2], a="H44.19", f="HOTICH")
    assert forwarded["inquiry"]["status"] == "FORWARDED"
    answered = await fb.run(paths.executor, fb.ANSWER, staff["justice"], id=ids[2], t=fb.ANSWER_TEXT)
    assert answered["inquiry"]["status"] == "ANSWERED"
    return Inquiries(citizen, stranger, staff, ids)


async def test_my_inquiries_page_by_cursor_as_the_executor(paths: Paths, inquiries: Inquiries) -> None:
    whole = (await paths.same(MINE, token=inquiries.citizen))["data"]["myInquiries"]
    assert [e["node"]["id"] for e in whole["edges"]] == inquiries.ids
    answered = whole["edges"][2]["node"]
    assert (answered["status"], answered["answer"], answered["submitterEmail"]) == ("ANSWERED", None, None)
    after, seen = None, []
    while True:
        page = (await paths.same(MINE, {"first": 1, "after": after}, token=inquiries.citizen))["data"]
        connection = page["myInquiries"]
        seen += [e["node"]["id"] for e in connection["edges"]]
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
    assert seen == inquiries.ids
    assert all("\n" not in e["cursor"] and len(e["cursor"]) > 76 for e in whole["edges"])
    empty = (await paths.same(MINE, {"first": 0}, token=inquiries.citizen))["data"]["myInquiries"]
    assert empty["edges"] == []
    assert empty["pageInfo"]["hasNextPage"] is True
    last = whole["pageInfo"]["endCursor"]
    assert (await paths.same(MINE, {"after": last}, token=inquiries.citizen))["data"]["myInquiries"][
        "edges"
    ] == []


async def test_one_inquiry_as_the_executor_and_never_anothers(paths: Paths, inquiries: Inquiries) -> None:
    for ident in inquiries.ids:
        mine = (await paths.same(ONE, {"id": ident}, token=inquiries.citizen))["data"]["inquiry"]
        assert mine["id"] == ident
    staff = (await paths.same(ONE, {"id": inquiries.ids[2]}, token=inquiries.staff["justice"]))["data"]
    assert staff["inquiry"]["answer"] == fb.ANSWER_TEXT  # staff read it before it is published
    assert staff["inquiry"]["submitterEmail"] is not None
    assert staff["inquiry"]["competentAgency"]["code"] == "H44.19"
    for ident, token in (
        (inquiries.ids[0], inquiries.stranger),
        (inquiries.ids[1], inquiries.staff["foreign_focal"]),
        (inquiries.ids[2], inquiries.staff["foreign_specialist"]),
        (str(uuid.uuid4()), inquiries.citizen),
        ("khong-phai-ma", inquiries.citizen),
    ):
        assert (await paths.same(ONE, {"id": ident}, token=token))["data"] == {"inquiry": None}
    theirs = (await paths.same(MINE, token=inquiries.stranger))["data"]["myInquiries"]["edges"]
    assert len(theirs) == 1
    assert theirs[0]["node"]["id"] not in inquiries.ids


async def test_the_inquiry_inbox_filters_and_pages_as_the_executor(
    paths: Paths, inquiries: Inquiries, clock: FixedClock
) -> None:
    focal = inquiries.staff["focal"]
    everything = (await paths.same(INBOX, token=focal))["data"]["inquiryInbox"]["edges"]
    assert len(everything) == 4  # the stranger's too: the focal agency's
    for variables, count in (
        ({"s": "RECEIVED"}, 3),
        ({"s": "ANSWERED"}, 1),
        ({"s": "DECLINED"}, 0),
        ({"k": "FEEDBACK"}, 1),
        ({"k": "QUESTION", "s": "RECEIVED"}, 2),
        ({"o": True}, 0),
        ({"o": False}, 4),
    ):
        found = await paths.same(INBOX, variables, token=focal)
        assert len(found["data"]["inquiryInbox"]["edges"]) == count, variables
    clock.at = NOW + timedelta(days=10)  # past the classification deadline: overdue by the clock
    late = await paths.same(INBOX, {"o": True}, token=focal)
    assert len(late["data"]["inquiryInbox"]["edges"]) == 3
    assert all(e["node"]["overdue"] for e in late["data"]["inquiryInbox"]["edges"])
    assert len((await paths.same(INBOX, {"o": False}, token=focal))["data"]["inquiryInbox"]["edges"]) == 1
    after, seen = None, []
    while True:
        page = (await paths.same(INBOX, {"first": 3, "after": after}, token=focal))["data"]["inquiryInbox"]
        seen += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == [e["node"]["id"] for e in everything]
    answerer = (await paths.same(INBOX, token=inquiries.staff["justice"]))["data"]["inquiryInbox"]["edges"]
    assert [e["node"]["id"] for e in answerer] == [inquiries.ids[2]]


async def test_an_officer_elsewhere_reads_no_inquiry(paths: Paths, inquiries: Inquiries) -> None:
    for name in ("foreign_focal", "foreign_specialist", "counter"):
        inbox = await paths.same(INBOX, token=inquiries.staff[name])
        assert inbox["data"]["inquiryInbox"]["edges"] == [], name
        assert inbox["data"]["inquiryInbox"]["pageInfo"] == {"endCursor": None, "hasNextPage": False}


async def test_what_the_inquiry_plans_refuse_the_executor_answers(paths: Paths, inquiries: Inquiries) -> None:
    cases: list[tuple[str, dict[str, Any], str | None]] = [
        ("query($id: ID!) { inquiry(id: $id) { history { action } } }", {"id": inquiries.ids[2]}, None),
        ("query($id: ID!) { inquiry(id: $id) { field { code } } }", {"id": inquiries.ids[2]}, None),
        (MINE, {"after": "khong-hop-le"}, None),  # BAD_CURSOR
        (MINE, {"first": 101}, None),  # OUT_OF_RANGE
        (MINE, {}, inquiries.staff["focal"]),  # staff have no inquiries of their own: an empty page
        (INBOX, {}, inquiries.citizen),  # not staff: an empty page
        (ONE, {"id": inquiries.ids[0]}, "anonymous"),
    ]
    for query, variables, token in cases:
        who = inquiries.citizen if token is None else None if token == "anonymous" else token
        compiled, executed, planned = await paths.both(query, variables, token=who)
        assert not planned, query
        assert compiled == executed


@pytest.mark.parametrize(
    ("query", "variables", "kind"),
    [
        (DOCS, {"s": "khai sinh"}, ActorKind.CITIZEN),
        (MINE, {}, ActorKind.CITIZEN),
        (ONE, {"id": str(uuid.uuid4())}, ActorKind.ORGANISATION),
        (ONE, {"id": str(uuid.uuid4())}, ActorKind.STAFF),
        (INBOX, {"o": True, "s": "RECEIVED"}, ActorKind.STAFF),
    ],
)
def test_the_callers_account_is_a_parameter_of_the_plan_not_part_of_it(
    paths: Paths, query: str, variables: dict[str, Any], kind: ActorKind
) -> None:
    """Two callers with the same permissions get the same SQL text, their account (and the clock)
    bound per request, so a plan shared between them answers each for themselves."""
    zone = paths.settings.zone
    planner = Planner(build_schema(zone=zone)._schema, Limits.from_settings(paths.settings), zone)
    roles = {StaffRole.FEEDBACK_FOCAL_POINT: frozenset({uuid.UUID(int=7)})} if kind is ActorKind.STAFF else {}
    plans = []
    for n in (1, 2):
        actor = Actor(kind, uuid.UUID(int=n), roles=roles)
        ready = planner.prepare(query, None, variables, actor)
        fixed = [p.fixed for p in ready.plan.params.items if p.request is None]
        assert actor.id not in fixed
        assert str(actor.id) not in ready.plan.sql
        assert actor.id in ready.values.values()
        plans.append(ready.plan.sql)
    assert plans[0] == plans[1]
