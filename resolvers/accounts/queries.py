"""Account queries: who is signed in, the accounts an admin manages, the security log, the apps."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from models.accounts import AccountKind, AccountStatus
from schema.context import Context
from schema.errors import ClientError
from schema.permissions import ACCOUNT_ADMIN, PERSON, SYSTEM_ADMIN
from schema.types.accounts import Account, AccountPage, OAuthApp, SecurityEvent, SecurityEventPage
from services.accounts import queries
from services.errors import ValidationFailed as DomainValidationFailed


@strawberry.type
class AccountQuery:
    @strawberry.field(description="Tài khoản đang đăng nhập (null nếu chưa đăng nhập).")
    async def me(self, info: Info[Context, None]) -> Account | None:
        ctx = info.context
        if ctx.actor.id is None or not ctx.actor.is_person:
            return None
        async with ctx.db.session() as session:
            row = await queries.account_for(session, ctx.actor, ctx.actor.id)
        return Account(row=row) if row else None

    @strawberry.field(description="Tài khoản người gọi được quản trị.", extensions=ACCOUNT_ADMIN)
    async def accounts(
        self,
        info: Info[Context, None],
        kind: AccountKind | None = None,
        status: AccountStatus | None = None,
        search: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> AccountPage:
        if not 0 <= offset <= 100_000 or not 1 <= limit <= 100:
            raise ClientError("offset từ 0 và limit từ 1 đến 100.", "OUT_OF_RANGE")
        ctx = info.context
        try:
            async with ctx.db.session() as session:
                rows, more = await queries.list_accounts(
                    session, ctx.actor, kind=kind, status=status, search=search, offset=offset, limit=limit
                )
        except DomainValidationFailed as error:
            raise ClientError.of(error) from error
        return AccountPage(items=[Account(row=r) for r in rows], has_next_page=more)

    @strawberry.field(
        description="Một tài khoản (của mình, hoặc người gọi được quản trị).", extensions=PERSON
    )
    async def account(self, info: Info[Context, None], id: strawberry.ID) -> Account | None:
        ctx = info.context
        try:
            account_id = uuid.UUID(str(id))
        except ValueError:
            return None
        async with ctx.db.session() as session:
            row = await queries.account_for(session, ctx.actor, account_id)
        return Account(row=row) if row else None

    @strawberry.field(
        description="Nhật ký an ninh: toàn bộ (quản trị hệ thống), tài khoản mình quản trị (quản trị cơ "
        "quan), hoặc của chính mình.",
        extensions=PERSON,
    )
    async def security_events(
        self,
        info: Info[Context, None],
        account_id: strawberry.ID | None = None,
        event: str | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> SecurityEventPage:
        if not 1 <= limit <= 200:
            raise ClientError("limit từ 1 đến 200.", "OUT_OF_RANGE")
        ctx = info.context
        subject = None
        if account_id is not None:
            try:
                subject = uuid.UUID(str(account_id))
            except ValueError:
                return SecurityEventPage(items=[], has_next_page=False)
        async with ctx.db.session() as session:
            rows, more = await queries.security_events(
                session, ctx.actor, subject_id=subject, event=event, before_seq=before_seq, limit=limit
            )
        return SecurityEventPage(items=[SecurityEvent.from_row(r) for r in rows], has_next_page=more)

    @strawberry.field(description="Các ứng dụng bên thứ ba.", extensions=SYSTEM_ADMIN)
    async def apps(self, info: Info[Context, None]) -> list[OAuthApp]:
        async with info.context.db.session() as session:
            return [OAuthApp.from_row(r) for r in await queries.apps(session)]
