"""From a verified access token to the `Actor` of a request, with one or two queries.

The token only says who; the database says whether that account may still act (active, token
version current, the session it was issued in not revoked) and with which roles where
(sub-agencies expanded here, once per request).
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import EVERYWHERE, Actor, ActorKind
from auth.roles import StaffRole
from auth.tokens import APP_TYP, AccessClaims, InvalidToken
from models.accounts import Account, AccountKind, AccountStatus, OAuthClient, RefreshToken, StaffAssignment
from models.catalog import Agency

_KINDS = {
    AccountKind.CITIZEN: ActorKind.CITIZEN,
    AccountKind.ORGANISATION: ActorKind.ORGANISATION,
    AccountKind.STAFF: ActorKind.STAFF,
}


async def actor_for(session: AsyncSession, claims: AccessClaims) -> tuple[Actor, int]:
    """The actor, and for apps the rate limit per minute (0 for people: limited elsewhere)."""
    if claims.typ == APP_TYP:
        app = await _live_app(session, claims)
        scopes = claims.scopes & frozenset(app.scopes)
        return Actor(
            ActorKind.APP, name=app.name, client_id=app.client_id, scopes=scopes
        ), app.rate_limit_per_minute
    account = await _live_account(session, claims)
    roles = await roles_of(session, account.id) if account.kind is AccountKind.STAFF else {}
    return Actor(_KINDS[account.kind], account.id, account.display_name, roles=roles), 0


async def still_admitted(session: AsyncSession, claims: AccessClaims) -> bool:
    """Whether the app or account behind claims verified earlier may still act (one query, no
    roles read): asked again by long-lived operations such as a websocket subscription."""
    try:
        await (_live_app(session, claims) if claims.typ == APP_TYP else _live_account(session, claims))
    except InvalidToken:
        return False
    return True


async def _live_app(session: AsyncSession, claims: AccessClaims) -> OAuthClient:
    app = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == claims.subject))
    if app is None or app.revoked_at is not None:
        raise InvalidToken("application revoked")
    return app


async def _live_account(session: AsyncSession, claims: AccessClaims) -> Account:
    """The account, if active, at the token's version, and the token's session not revoked."""
    try:
        account_id = uuid.UUID(claims.subject)
    except ValueError:
        raise InvalidToken("bad subject") from None
    if claims.session_id is None:
        account = await session.get(Account, account_id)
    else:
        # In the same query: the refresh token it was issued with is not revoked. Revoking a chain
        # revokes every token of it, the spent ones too, so one primary-key probe is enough.
        live = (
            select(RefreshToken.id)
            .where(RefreshToken.id == claims.session_id, RefreshToken.revoked_at.is_(None))
            .exists()
        )
        found = (await session.execute(select(Account, live).where(Account.id == account_id))).one_or_none()
        account = found[0] if found is not None and found[1] else None
    if (
        account is None
        or account.status is not AccountStatus.ACTIVE
        or account.token_version != claims.token_version
    ):
        raise InvalidToken("account not active or token revoked")
    return account


async def roles_of(
    session: AsyncSession, account_id: uuid.UUID
) -> dict[StaffRole, frozenset[uuid.UUID] | None]:
    """Active roles, each with the agencies where it applies (sub-agencies expanded)."""
    rows = (
        await session.execute(
            select(
                StaffAssignment.role, StaffAssignment.agency_id, StaffAssignment.include_sub_agencies
            ).where(StaffAssignment.account_id == account_id, StaffAssignment.ended_at.is_(None))
        )
    ).all()
    if not rows:
        return {}
    roots = [agency for _, agency, sub in rows if sub and agency is not None]
    below = await _descendants(session, roots) if roots else {}
    result: dict[StaffRole, set[uuid.UUID] | None] = defaultdict(set)
    for role_name, agency_id, include_sub in rows:
        role = StaffRole(role_name)
        if agency_id is None:
            result[role] = EVERYWHERE
            continue
        current = result[role]
        if current is EVERYWHERE:
            continue
        current.add(agency_id)
        if include_sub:
            current.update(below.get(agency_id, ()))
    return {role: (None if agencies is None else frozenset(agencies)) for role, agencies in result.items()}


async def _descendants(session: AsyncSession, roots: list[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Every agency below each root, in one recursive query."""
    tree = (
        select(Agency.id.label("root"), Agency.id.label("node"))
        .where(Agency.id.in_(roots))
        .cte("tree", recursive=True)
    )
    tree = tree.union_all(select(tree.c.root, Agency.id).where(Agency.parent_id == tree.c.node))
    found: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for root, node in (await session.execute(select(tree.c.root, tree.c.node))).all():
        found[root].add(node)
    return found
