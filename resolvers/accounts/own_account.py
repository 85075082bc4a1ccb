"""What an account holder does to their own account: notification channels, locking it, and
unlocking it with a code after too many wrong passwords."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.common import run_command
from schema.context import Context
from schema.payloads.accounts import AccountAdminResult, AccountSaved, Done, DoneResult
from schema.permissions import PERSON
from schema.types.accounts import Account
from services.accounts import locks, owners, self_unlock
from services.zalo import zalo_config


@strawberry.type
class OwnAccountMutation:
    @strawberry.mutation(
        description="Chọn kênh nhận thông báo (ít nhất thư điện tử hoặc SMS); Zalo gửi tới số điện "
        "thoại đã xác thực, bên cạnh SMS (để trống: giữ như cũ).",
        extensions=PERSON,
    )
    async def notification_preferences_set(
        self, info: Info[Context, None], email: bool, sms: bool, zalo: bool | None = None
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            # Zalo is offered where it is connected (development catches it like SMS).
            available = zalo_config(ctx.settings) is not None or ctx.settings.environment == "development"
            account = await owners.set_preferences(
                session, ctx.actor, email=email, sms=sms, zalo=zalo, zalo_available=available
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Chủ tài khoản yêu cầu khoá tài khoản của mình.", extensions=PERSON)
    async def account_lock_request(self, info: Info[Context, None]) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            return AccountSaved(
                account=Account(
                    row=await locks.request_own_lock(
                        session, ctx.actor, journal=ctx.journal, system_name=ctx.policy.system_name
                    )
                )
            )

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Yêu cầu mã mở khoá tài khoản bị khoá do nhập sai mật khẩu, gửi tới thư điện tử và số "
        "điện thoại đã xác thực (không cho biết tài khoản có tồn tại hay bị khoá hay không)."
    )
    async def account_unlock_code_request(self, info: Info[Context, None], identifier: str) -> DoneResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Done:
            await self_unlock.request_unlock_code(session, identifier, journal=ctx.journal, policy=ctx.policy)
            return Done(ok=True)

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Tự mở khoá tài khoản bị khoá do nhập sai mật khẩu, bằng mã đã gửi (dùng một lần)."
    )
    async def account_unlock_with_code(
        self, info: Info[Context, None], identifier: str, code: str
    ) -> DoneResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Done:
            await self_unlock.unlock_with_code(
                session, identifier, code, journal=ctx.journal, policy=ctx.policy
            )
            return Done(ok=True)

        return await run_command(info, command)  # type: ignore[return-value]
