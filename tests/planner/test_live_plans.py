"""Live plans (planner/live.py): which subscriptions compile, what subscribers share (the plan,
the group), and what keeps callers apart. No database: the statements are looked at, not run
(tests/live/test_live_hub.py runs them across processes)."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import pytest

from auth.actor import ANONYMOUS, Actor, ActorKind
from auth.roles import StaffRole
from planner.live import LivePlanner
from planner.plans import Planner
from planner.statements import NotCompilable
from resolvers.root import schema
from schema.limits import Limits

BY_CODE = (
    "subscription($code: String!, $secret: String) {"
    " dossierStatusChanged(code: $code, secret: $secret) { code status version currentStep dueAt } }"
)
BY_ID = "subscription($id: ID!) { dossierStatusChanged(id: $id) { status version } }"


@pytest.fixture
def live() -> LivePlanner:
    return LivePlanner(Planner(schema._schema, Limits(), ZoneInfo("Asia/Ho_Chi_Minh")))


def citizen() -> Actor:
    return Actor(ActorKind.CITIZEN, id=uuid.uuid4())


def test_subscribers_by_the_same_code_and_secret_share_one_group(live: LivePlanner) -> None:
    one = live.prepare(BY_CODE, None, {"code": "h44.99-261201-0001", "secret": "s1"}, ANONYMOUS)
    two = live.prepare(BY_CODE, None, {"code": "h44.99-261201-0001", "secret": "s1"}, ANONYMOUS)
    other = live.prepare(BY_CODE, None, {"code": "H44.99-261201-0002", "secret": "s1"}, ANONYMOUS)
    wrong = live.prepare(BY_CODE, None, {"code": "h44.99-261201-0001", "secret": "s2"}, ANONYMOUS)
    assert one.plan is two.plan is other.plan is wrong.plan  # one plan per document and caller kind
    assert one.group == two.group
    assert len({one.group, other.group, wrong.group}) == 3
    assert one.arguments[:2] == ("H44.99-261201-0001", "h44.99-261201-0001")  # as issued, as typed
    assert one.plan.topic == "dossier"
    assert "json_build_object('code', " in one.plan.sql  # in selection order, never jsonb
    assert "jsonb" not in one.plan.sql


def test_two_citizens_never_share_a_plan_or_a_group(live: LivePlanner) -> None:
    dossier = str(uuid.uuid4())
    a, b = citizen(), citizen()
    for_a = live.prepare(BY_ID, None, {"id": dossier}, a)
    again = live.prepare(BY_ID, None, {"id": dossier}, a)
    for_b = live.prepare(BY_ID, None, {"id": dossier}, b)
    assert for_a.plan is again.plan
    assert for_a.group == again.group
    assert for_a.plan is not for_b.plan
    assert for_a.group != for_b.group
    assert a.id in for_a.arguments  # the caller's visibility is in the statement's values
    assert a.id not in for_b.arguments


def test_officers_of_one_agency_share_a_group_others_do_not(live: LivePlanner) -> None:
    agency, other_agency = uuid.uuid4(), uuid.uuid4()
    dossier = str(uuid.uuid4())

    def officer(where: uuid.UUID) -> Actor:
        return Actor(
            ActorKind.STAFF, id=uuid.uuid4(), roles={StaffRole.RECEPTION_OFFICER: frozenset({where})}
        )

    one, two, three = (
        live.prepare(BY_ID, None, {"id": dossier}, officer(where)) for where in (agency, agency, other_agency)
    )
    assert one.plan is not two.plan  # the permission set names the account
    assert one.group == two.group  # but the same statement and values: the same answer, one read
    assert one.group != three.group  # another agency: its own visibility values


@pytest.mark.parametrize(
    ("document", "variables", "reason"),
    [
        (
            'subscription { dossierStatusChanged(id: "%s") { status feesDue { total } } }' % uuid.uuid4(),
            {},
            "Dossier.feesDue has no SQL declaration",
        ),
        (
            'subscription { dossierStatusChanged(id: "%s") { status overdue } }' % uuid.uuid4(),
            {},
            "the selection reads the clock",
        ),
        ('subscription { procedureChanged(code: "1.0") { code } }', {}, "Subscription.procedureChanged"),
        ('subscription { inboxChanged(agencyCode: "H44.99") { code } }', {}, "Subscription.inboxChanged"),
        ('subscription { dossierStatusChanged(id: "not-a-uuid") { status } }', {}, "not a dossier id"),
        ('subscription { dossierStatusChanged(code: "X") { status } }', {}, "no second factor"),
        (BY_CODE, {"code": "X", "secret": "bí mật"}, "a second factor that is not ASCII"),
        ("query { __typename }", {}, "a query"),
        ("subscription { dossierStatusChanged { nope } }", {}, "the document is not valid"),
    ],
)
def test_what_the_old_path_serves(
    live: LivePlanner, document: str, variables: dict[str, str], reason: str
) -> None:
    with pytest.raises(NotCompilable, match=reason.replace("(", r"\(")):
        live.prepare(document, None, variables, citizen())


def test_a_directive_makes_a_plan_of_its_own(live: LivePlanner) -> None:
    document = (
        "subscription($id: ID!, $more: Boolean!) {"
        " dossierStatusChanged(id: $id) { status version @include(if: $more) } }"
    )
    actor, dossier = citizen(), str(uuid.uuid4())
    short = live.prepare(document, None, {"id": dossier, "more": False}, actor)
    long = live.prepare(document, None, {"id": dossier, "more": True}, actor)
    assert "'version'" not in short.plan.sql
    assert "'version'" in long.plan.sql
    assert short.group != long.group
