"""Plans are cached per document and permission set: callers with the same permissions share one
plan, unless its statement holds the caller's account — then each account has its own, and no
caller is ever answered with a statement built for another."""

from __future__ import annotations

import uuid

from auth.actor import Actor, ActorKind
from core.settings import Settings
from planner.plans import Planner
from resolvers.root import build_schema
from schema.limits import Limits

VAULT = "query($s: String) { vaultDocuments(search: $s) { hasNextPage items { id title } } }"
DOSSIER = "query($id: ID!) { dossier(id: $id) { id code status } }"


def _planner(settings: Settings) -> Planner:
    zone = settings.zone
    return Planner(build_schema(zone=zone)._schema, Limits.from_settings(settings), zone)


def _citizen(n: int) -> Actor:
    return Actor(ActorKind.CITIZEN, uuid.UUID(int=n))


def test_callers_with_the_same_permissions_share_a_plan_that_binds_the_account(settings: Settings) -> None:
    planner = _planner(settings)
    first = planner.prepare(VAULT, None, {"s": "khai sinh"}, _citizen(1))
    second = planner.prepare(VAULT, None, {"s": "khai sinh"}, _citizen(2))
    assert first.plan is second.plan
    assert first.arguments() != second.arguments()  # each caller's own account, bound per request


def test_a_plan_that_holds_the_account_is_kept_per_account(settings: Settings) -> None:
    planner = _planner(settings)
    ident = str(uuid.uuid4())
    mine = planner.prepare(DOSSIER, None, {"id": ident}, _citizen(1))
    theirs = planner.prepare(DOSSIER, None, {"id": ident}, _citizen(2))
    again = planner.prepare(DOSSIER, None, {"id": ident}, _citizen(1))
    assert mine.plan is not theirs.plan
    assert again.plan is mine.plan
    for ready, n in ((mine, 1), (theirs, 2)):
        fixed = [p.fixed for p in ready.plan.params.items if p.request is None]
        held = {str(v) for v in fixed} | {str(v) for v in ready.arguments()}
        assert str(uuid.UUID(int=n)) in held
        assert str(uuid.UUID(int=3 - n)) not in held
