"""Signing in and out: sessions and refresh tokens, passwords, and the national identity
(định danh điện tử quốc gia) sign-in."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.common import run_command
from schema.context import Context
from schema.errors import ClientError
from schema.payloads.accounts import (
    AccountSaved,
    Done,
    DoneResult,
    NationalIdentityRedirect,
    PasswordResetResult,
    RedirectResult,
    SignedIn,
    SignInResult,
)
from schema.permissions import PERSON
from schema.types.accounts import Account, AuthSession
from services.accounts import national_identity, passwords, sessions, sign_in


def _session(s: sessions.Session) -> AuthSession:
    return AuthSession(
        access_token=s.access_token,
        access_token_expires_at=s.access_expires_at,
        refresh_token=s.refresh_token,
        account=Account(row=s.account),
    )


@strawberry.type
class SessionMutation:
    @strawberry.mutation(
        description="Đăng nhập bằng thư điện tử, số điện thoại, số định danh hoặc mã số thuế và mật khẩu."
    )
    async def sign_in(self, info: Info[Context, None], identifier: str, password: str) -> SignInResult:
        ctx = info.context

        async def command(session: AsyncSession) -> SignedIn:
            s = await sign_in.sign_in(session, identifier, password, journal=ctx.journal, policy=ctx.policy)
            return SignedIn(session=_session(s))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Đổi mã làm mới lấy phiên mới (mã cũ hết hiệu lực).")
    async def token_refresh(self, info: Info[Context, None], refresh_token: str) -> SignInResult:
        ctx = info.context

        async def command(session: AsyncSession) -> SignedIn:
            s = await sessions.refresh(session, refresh_token, journal=ctx.journal, policy=ctx.policy)
            return SignedIn(session=_session(s))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Đăng xuất phiên này (thu hồi mã làm mới).")
    async def sign_out(self, info: Info[Context, None], refresh_token: str) -> DoneResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Done:
            await sessions.sign_out(session, refresh_token, journal=ctx.journal)
            return Done(ok=True)

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Đăng xuất khỏi mọi thiết bị.", extensions=PERSON)
    async def sign_out_everywhere(self, info: Info[Context, None]) -> DoneResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Done:
            await sessions.sign_out_everywhere(session, ctx.actor, journal=ctx.journal)
            return Done(ok=True)

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Đổi mật khẩu; mọi phiên khác bị đăng xuất.", extensions=PERSON)
    async def password_change(
        self, info: Info[Context, None], current_password: str, new_password: str
    ) -> SignInResult:
        ctx = info.context

        async def command(session: AsyncSession) -> SignedIn:
            s = await passwords.change_password(
                session, ctx.actor, current_password, new_password, journal=ctx.journal, policy=ctx.policy
            )
            return SignedIn(session=_session(s))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Yêu cầu mã đặt lại mật khẩu gửi tới liên hệ đã xác thực.")
    async def password_reset_request(self, info: Info[Context, None], destination: str) -> DoneResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Done:
            await passwords.request_password_reset(
                session, destination, journal=ctx.journal, policy=ctx.policy
            )
            return Done(ok=True)

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Đặt mật khẩu mới bằng mã (tài khoản bị khoá vẫn bị khoá: mở khoá bằng "
        "accountUnlockWithCode hoặc do quản trị)."
    )
    async def password_reset(
        self, info: Info[Context, None], destination: str, code: str, new_password: str
    ) -> PasswordResetResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await passwords.reset_password(
                session, destination, code, new_password, journal=ctx.journal, policy=ctx.policy
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]


@strawberry.type
class NationalIdentityMutation:
    @strawberry.mutation(description="Bắt đầu đăng nhập bằng tài khoản định danh điện tử quốc gia.")
    async def national_identity_sign_in_start(self, info: Info[Context, None]) -> RedirectResult:
        ctx = info.context
        oidc = ctx.oidc
        if oidc is None:
            raise ClientError("Chưa cấu hình đăng nhập bằng định danh điện tử quốc gia.", "NOT_CONFIGURED")

        async def command(session: AsyncSession) -> NationalIdentityRedirect:
            return NationalIdentityRedirect(
                url=await national_identity.start(session, oidc, journal=ctx.journal)
            )

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Hoàn tất đăng nhập định danh điện tử với `code` và `state` nhận về.")
    async def national_identity_sign_in_complete(
        self, info: Info[Context, None], state: str, code: str
    ) -> SignInResult:
        ctx = info.context
        oidc = ctx.oidc
        if oidc is None:
            raise ClientError("Chưa cấu hình đăng nhập bằng định danh điện tử quốc gia.", "NOT_CONFIGURED")

        async def command(session: AsyncSession) -> SignedIn:
            s = await national_identity.complete(
                session, oidc, state, code, journal=ctx.journal, policy=ctx.policy
            )
            return SignedIn(session=_session(s))

        return await run_command(info, command)  # type: ignore[return-value]
