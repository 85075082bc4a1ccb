"""Account administration: staff accounts and their assignments, locking, password resets and
deletion of false accounts; third-party apps (system admins)."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from models.accounts import LockReason
from resolvers.common import object_store, parse_id, run_command
from schema.context import Context
from schema.inputs.accounts import AppRegisterInput, AssignmentInput, StaffCreateInput
from schema.payloads.accounts import (
    AccountAdminResult,
    AccountSaved,
    AppRegistered,
    AppRegisterResult,
    AppRevokeResult,
    AppSaved,
    VaultHandedOver,
    VaultHandOverResult,
)
from schema.permissions import ACCOUNT_ADMIN, SYSTEM_ADMIN
from schema.types.accounts import Account, OAuthApp
from schema.types.files import StoredFile
from services.accounts import apps, estate
from services.accounts.admin import assignments, deletion, hand_over, reach, resets, staff
from services.accounts.admin import locks as admin_locks


@strawberry.type
class AccountAdminMutation:
    @strawberry.mutation(
        description="Tạo tài khoản cán bộ (quản trị hệ thống, hoặc quản trị cơ quan trong cơ quan mình).",
        extensions=ACCOUNT_ADMIN,
    )
    async def staff_create(self, info: Info[Context, None], input: StaffCreateInput) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            data = staff.StaffData(
                full_name=input.full_name,
                email=input.email,
                phone=input.phone,
                assignments=tuple(a.to_data() for a in input.assignments),
            )
            account = await staff.create_staff(
                session, ctx.actor, data, journal=ctx.journal, policy=ctx.policy
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Phân công thêm một vai trò cho cán bộ.", extensions=ACCOUNT_ADMIN)
    async def staff_assign(
        self, info: Info[Context, None], account_id: strawberry.ID, assignment: AssignmentInput
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            row = await assignments.assign_role(
                session,
                ctx.actor,
                parse_id(account_id, "accountId"),
                assignment.to_data(),
                journal=ctx.journal,
            )
            return AccountSaved(
                account=Account(row=await reach.manageable(session, ctx.actor, row.account_id))
            )

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description=(
            "Thu hồi một phân công. Cán bộ bị đăng xuất trên mọi thiết bị: mọi access token đã cấp "
            "cho tài khoản hết hiệu lực ngay (HTTP 401), để không token nào còn mang vai trò đã thu hồi; "
            "nếu còn vai trò khác, phiên đăng nhập vẫn dùng được `tokenRefresh` để nhận token mới với "
            "các vai trò còn lại. Cán bộ không còn vai trò nào thì tài khoản bị khoá (UNASSIGNED) và "
            "mọi phiên đăng nhập kết thúc."
        ),
        extensions=ACCOUNT_ADMIN,
    )
    async def staff_unassign(
        self, info: Info[Context, None], assignment_id: strawberry.ID
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await assignments.end_assignment(
                session,
                ctx.actor,
                parse_id(assignment_id, "assignmentId"),
                journal=ctx.journal,
                system_name=ctx.policy.system_name,
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Bàn giao: vai trò của cán bộ thôi việc chuyển cho người kế nhiệm; tài khoản cũ bị khoá.",
        extensions=ACCOUNT_ADMIN,
    )
    async def staff_hand_over(
        self, info: Info[Context, None], from_account_id: strawberry.ID, to_account_id: strawberry.ID
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            successor = await hand_over.hand_over(
                session,
                ctx.actor,
                parse_id(from_account_id, "fromAccountId"),
                parse_id(to_account_id, "toAccountId"),
                journal=ctx.journal,
                system_name=ctx.policy.system_name,
            )
            return AccountSaved(account=Account(row=successor))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Khoá tài khoản: chủ tài khoản qua đời (DECEASED) hoặc bị tuyên bố mất tích "
        "(MISSING) — kho dữ liệu bị niêm phong —, tổ chức giải thể (DISSOLVED) hoặc quyết định khác (ADMIN).",
        extensions=ACCOUNT_ADMIN,
    )
    async def account_lock(
        self, info: Info[Context, None], account_id: strawberry.ID, reason: LockReason
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await admin_locks.admin_lock(
                session,
                ctx.actor,
                parse_id(account_id, "accountId"),
                reason,
                journal=ctx.journal,
                system_name=ctx.policy.system_name,
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Bàn giao kho dữ liệu của tài khoản đã khoá vì chủ tài khoản qua đời hoặc bị tuyên bố "
        "mất tích cho người thừa kế hoặc người được Toà án giao quản lý tài sản: ghi người nhận, căn cứ "
        "và lý do vào nhật ký tài khoản (quản trị hệ thống).",
        extensions=SYSTEM_ADMIN,
    )
    async def account_vault_hand_over(
        self,
        info: Info[Context, None],
        account_id: strawberry.ID,
        recipient_name: str,
        recipient_id_number: str,
        basis: str,
        reason: str,
    ) -> VaultHandOverResult:
        ctx = info.context
        store = object_store(ctx)

        async def command(session: AsyncSession) -> VaultHandedOver:
            recipient = estate.Recipient(recipient_name, recipient_id_number, basis, reason)
            file, count = await estate.hand_over_vault(
                session, store, ctx.actor, parse_id(account_id, "accountId"), recipient, journal=ctx.journal
            )
            return VaultHandedOver(file=StoredFile(row=file), documents=count)

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Mở khoá tài khoản.", extensions=ACCOUNT_ADMIN)
    async def account_unlock(
        self, info: Info[Context, None], account_id: strawberry.ID
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await admin_locks.admin_unlock(
                session,
                ctx.actor,
                parse_id(account_id, "accountId"),
                journal=ctx.journal,
                system_name=ctx.policy.system_name,
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Gửi cho chủ tài khoản mã đặt lại mật khẩu và đăng xuất mọi phiên.",
        extensions=ACCOUNT_ADMIN,
    )
    async def account_password_reset(
        self, info: Info[Context, None], account_id: strawberry.ID
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await resets.admin_reset_password(
                session, ctx.actor, parse_id(account_id, "accountId"), journal=ctx.journal, policy=ctx.policy
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Xoá tài khoản đăng ký bằng thông tin sai sự thật: xoá dữ liệu cá nhân, giữ nhật ký.",
        extensions=SYSTEM_ADMIN,
    )
    async def account_delete(
        self, info: Info[Context, None], account_id: strawberry.ID, reason: str
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await deletion.delete_false_account(
                session, ctx.actor, parse_id(account_id, "accountId"), reason, journal=ctx.journal
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]


@strawberry.type
class AppMutation:
    @strawberry.mutation(
        description="Đăng ký ứng dụng bên thứ ba (client credentials).", extensions=SYSTEM_ADMIN
    )
    async def app_register(self, info: Info[Context, None], input: AppRegisterInput) -> AppRegisterResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AppRegistered:
            registered = await apps.register_app(
                session,
                ctx.actor,
                input.name,
                input.contact_email,
                input.scopes,
                journal=ctx.journal,
                policy=ctx.policy,
                rate_limit_per_minute=input.rate_limit_per_minute,
            )
            return AppRegistered(
                app=OAuthApp.from_row(registered.app), client_secret=registered.client_secret
            )

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Thu hồi ứng dụng: mọi mã truy cập của nó hết hiệu lực.", extensions=SYSTEM_ADMIN
    )
    async def app_revoke(self, info: Info[Context, None], client_id: str) -> AppRevokeResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AppSaved:
            return AppSaved(
                app=OAuthApp.from_row(
                    await apps.revoke_app(session, ctx.actor, client_id, journal=ctx.journal)
                )
            )

        return await run_command(info, command)  # type: ignore[return-value]
