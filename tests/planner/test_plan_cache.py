"""Plans are cached per document and permission set: callers with the same permissions share one
plan, unless its statement holds the caller's account — then each account has its own, and no
caller is ever answered with a statement built for another."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from core.settings import Settings
from planner.plans import Planner
from resolvers.root import build_schema
from schema.limits import Limits

VAULT = "query($s: String) { vaultDocuments(search: $s) { hasNextPage items { id title } } }"
DOSSIER = "query($id: ID!) { dossier(id: $id) { id code status } }"
INBOX = "{ inbox(first: 5) { edges { node { id code } } } }"


def _planner(settings: Settings) -> Planner:
    zone = settings.zone
    return Planner(build_schema(zone=zone)._schema, Limits.from_settings(settings), zone)


def _citizen(n: int) -> Actor:
    return Actor(ActorKind.CITIZEN, uuid.UUID(int=n))


def _officer(n: int) -> Actor:
    return Actor(
        ActorKind.STAFF, uuid.UUID(int=n), roles={StaffRole.SPECIALIST: frozenset({uuid.UUID(int=99)})}
    )


@pytest.mark.parametrize(
    ("query", "variables"), [(VAULT, {"s": "khai sinh"}), (DOSSIER, {"id": str(uuid.uuid4())})]
)
def test_callers_with_the_same_permissions_share_a_plan_that_binds_the_account(
    settings: Settings, query: str, variables: dict[str, Any]
) -> None:
    planner = _planner(settings)
    first = planner.prepare(query, None, variables, _citizen(1))
    second = planner.prepare(query, None, variables, _citizen(2))
    assert first.plan is second.plan
    assert first.arguments() != second.arguments()  # each caller's own account, bound per request


def test_a_plan_that_holds_the_account_is_kept_per_account(settings: Settings) -> None:
    planner = _planner(settings)
    # the inbox holds the officer's own open steps (`inbox_condition`): the account is in the text
    mine = planner.prepare(INBOX, None, {}, _officer(1))
    theirs = planner.prepare(INBOX, None, {}, _officer(2))
    again = planner.prepare(INBOX, None, {}, _officer(1))
    assert mine.plan is not theirs.plan
    assert again.plan is mine.plan
    for ready, n in ((mine, 1), (theirs, 2)):
        fixed = [p.fixed for p in ready.plan.params.items if p.request is None]
        held = {str(v) for v in fixed} | {str(v) for v in ready.arguments()}
        assert str(uuid.UUID(int=n)) in held
        assert str(uuid.UUID(int=3 - n)) not in held
