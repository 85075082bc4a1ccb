"""Account queries and mutations: registration, sign-in, sessions, passwords, administration,
third-party apps and the audit trail. One mutation per act, each with a typed result union."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import PermissionExtension
from strawberry.types import Info

from auth.roles import StaffRole
from models.accounts import AccountKind, AccountStatus, LockReason
from resolvers.common import parse_id, run_command
from resolvers.context import Context
from schema.errors import ClientError, NotFound, Refused, ValidationFailed
from schema.permissions import PERSON, IsAccountAdmin, IsSystemAdmin
from schema.types.accounts import Account, AuthSession, OAuthApp, SecurityEvent
from services.accounts import (
    apps,
    locks,
    national_identity,
    owners,
    passwords,
    queries,
    registration,
    self_unlock,
    sessions,
    sign_in,
)
from services.accounts.admin import assignments, deletion, hand_over, reach, resets, staff
from services.accounts.admin import locks as admin_locks
from services.errors import ValidationFailed as DomainValidationFailed

ACCOUNT_ADMIN: list[FieldExtension] = [PermissionExtension(permissions=[IsAccountAdmin()])]
SYSTEM_ADMIN: list[FieldExtension] = [PermissionExtension(permissions=[IsSystemAdmin()])]


def _session(s: sessions.Session) -> AuthSession:
    return AuthSession(
        access_token=s.access_token,
        access_token_expires_at=s.access_expires_at,
        refresh_token=s.refresh_token,
        account=Account(row=s.account),
    )


# --- inputs -----------------------------------------------------------------------------------


@strawberry.input(description="Đăng ký tài khoản công dân.")
class CitizenRegisterInput:
    citizen_id: str = strawberry.field(description="Số định danh cá nhân (12 chữ số).")
    full_name: str = strawberry.field(description="Họ và tên.")
    birth_date: date = strawberry.field(description="Ngày sinh.")
    password: str = strawberry.field(description="Mật khẩu (ít nhất 8 ký tự).")
    email: str | None = strawberry.field(default=None, description="Thư điện tử.")
    phone: str | None = strawberry.field(default=None, description="Số điện thoại di động.")
    address: str | None = strawberry.field(default=None, description="Địa chỉ.")


@strawberry.input(description="Đăng ký tài khoản tổ chức, doanh nghiệp.")
class OrganisationRegisterInput:
    tax_code: str = strawberry.field(description="Mã số thuế / mã số doanh nghiệp.")
    name: str = strawberry.field(description="Tên tổ chức.")
    representative_name: str = strawberry.field(description="Người đại diện theo pháp luật.")
    password: str = strawberry.field(description="Mật khẩu.")
    representative_citizen_id: str | None = strawberry.field(
        default=None, description="Số định danh người đại diện."
    )
    email: str | None = strawberry.field(default=None, description="Thư điện tử.")
    phone: str | None = strawberry.field(default=None, description="Số điện thoại.")
    address: str | None = strawberry.field(default=None, description="Địa chỉ trụ sở.")


@strawberry.input(description="Một vai trò tại một cơ quan.")
class AssignmentInput:
    role: StaffRole = strawberry.field(description="Vai trò.")
    agency_code: str | None = strawberry.field(default=None, description="Mã cơ quan (trống: toàn hệ thống).")
    include_sub_agencies: bool = strawberry.field(
        default=False, description="Áp dụng cho cơ quan trực thuộc."
    )

    def to_data(self) -> assignments.AssignmentData:
        return assignments.AssignmentData(self.role, self.agency_code, self.include_sub_agencies)


@strawberry.input(description="Tạo tài khoản cán bộ.")
class StaffCreateInput:
    full_name: str = strawberry.field(description="Họ và tên.")
    email: str = strawberry.field(description="Thư điện tử công vụ (nhận mã đặt mật khẩu).")
    assignments: list[AssignmentInput] = strawberry.field(description="Các vai trò được phân công.")
    phone: str | None = strawberry.field(default=None, description="Số điện thoại.")


@strawberry.input(description="Đăng ký ứng dụng bên thứ ba.")
class AppRegisterInput:
    name: str = strawberry.field(description="Tên ứng dụng.")
    contact_email: str = strawberry.field(description="Thư điện tử liên hệ.")
    scopes: list[str] = strawberry.field(
        description="Phạm vi: catalog:read, dossier-status:read, feedback:submit."
    )
    rate_limit_per_minute: int = strawberry.field(default=600, description="Số lượt gọi tối đa mỗi phút.")


# --- results ----------------------------------------------------------------------------------


@strawberry.type(
    description="Đã nhận đăng ký; mã xác thực được gửi tới liên hệ đã khai. Nhập mã bằng contactVerify để "
    "kích hoạt tài khoản. Câu trả lời như nhau dù số định danh, mã số thuế, thư điện tử hay số điện thoại "
    "đã có tài khoản (khi đó không tạo tài khoản mới và chủ tài khoản được báo)."
)
class Registered:
    verification_sent_to: list[str] = strawberry.field(
        description="Nơi mã xác thực được gửi (che bớt): các liên hệ đã khai."
    )


@strawberry.type(description="Đăng nhập thành công.")
class SignedIn:
    session: AuthSession = strawberry.field(description="Phiên đăng nhập.")


@strawberry.type(description="Đã thực hiện.")
class Done:
    ok: bool = strawberry.field(description="Luôn là true.")


@strawberry.type(description="Tài khoản sau thao tác.")
class AccountSaved:
    account: Account = strawberry.field(description="Tài khoản.")


@strawberry.type(description="Chuyển trình duyệt tới hệ thống định danh quốc gia.")
class NationalIdentityRedirect:
    url: str = strawberry.field(description="Địa chỉ đăng nhập của nhà cung cấp định danh.")


@strawberry.type(description="Ứng dụng đã được đăng ký; mã bí mật chỉ hiển thị một lần.")
class AppRegistered:
    app: OAuthApp = strawberry.field(description="Ứng dụng.")
    client_secret: str = strawberry.field(description="client_secret — lưu lại ngay, không xem lại được.")


@strawberry.type(description="Ứng dụng sau thao tác.")
class AppSaved:
    app: OAuthApp = strawberry.field(description="Ứng dụng.")


def _union(name: str, description: str) -> object:
    return strawberry.union(name, description=description)


RegisterResult = Annotated[
    Registered | ValidationFailed | Refused, _union("RegisterResult", "Kết quả đăng ký.")
]
VerifyResult = Annotated[AccountSaved | Refused, _union("ContactVerifyResult", "Kết quả xác thực.")]
DoneResult = Annotated[Done | Refused, _union("DoneResult", "Kết quả thao tác.")]
SignInResult = Annotated[SignedIn | ValidationFailed | Refused, _union("SignInResult", "Kết quả đăng nhập.")]
PasswordResetResult = Annotated[
    AccountSaved | ValidationFailed | Refused, _union("PasswordResetResult", "Kết quả đặt lại mật khẩu.")
]
RedirectResult = Annotated[
    NationalIdentityRedirect | Refused, _union("NationalIdentityStartResult", "Kết quả.")
]
AccountAdminResult = Annotated[
    AccountSaved | ValidationFailed | NotFound | Refused,
    _union("AccountAdminResult", "Kết quả thao tác quản trị tài khoản."),
]
AppRegisterResult = Annotated[AppRegistered | ValidationFailed, _union("AppRegisterResult", "Kết quả.")]
AppRevokeResult = Annotated[AppSaved | NotFound, _union("AppRevokeResult", "Kết quả.")]


@strawberry.type(description="Một trang tài khoản.")
class AccountPage:
    items: list[Account] = strawberry.field(description="Các tài khoản.")
    has_next_page: bool = strawberry.field(description="Còn trang sau.")


@strawberry.type(description="Một trang nhật ký an ninh (mới nhất trước).")
class SecurityEventPage:
    items: list[SecurityEvent] = strawberry.field(description="Các sự kiện.")
    has_next_page: bool = strawberry.field(description="Còn trang sau (dùng beforeSeq = seq cuối).")


# --- queries ------------------------------------------------------------------------------------


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


# --- mutations ----------------------------------------------------------------------------------


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Công dân tự đăng ký tài khoản; mã xác thực được gửi tới liên hệ.")
    async def citizen_register(
        self, info: Info[Context, None], input: CitizenRegisterInput
    ) -> RegisterResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Registered:
            data = registration.CitizenRegistration(
                citizen_id=input.citizen_id.strip(),
                full_name=input.full_name,
                birth_date=input.birth_date,
                password=input.password,
                email=input.email,
                phone=input.phone,
                address=input.address,
            )
            registered = await registration.register_citizen(
                session, data, journal=ctx.journal, policy=ctx.policy, today=ctx.today
            )
            return Registered(verification_sent_to=_sent_to(registered.email, registered.phone))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Tổ chức, doanh nghiệp tự đăng ký tài khoản.")
    async def organisation_register(
        self, info: Info[Context, None], input: OrganisationRegisterInput
    ) -> RegisterResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Registered:
            data = registration.OrganisationRegistration(
                tax_code=input.tax_code,
                name=input.name,
                representative_name=input.representative_name,
                password=input.password,
                representative_citizen_id=input.representative_citizen_id,
                email=input.email,
                phone=input.phone,
                address=input.address,
            )
            registered = await registration.register_organisation(
                session, data, journal=ctx.journal, policy=ctx.policy
            )
            return Registered(verification_sent_to=_sent_to(registered.email, registered.phone))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Xác thực thư điện tử hoặc số điện thoại bằng mã đã gửi.")
    async def contact_verify(self, info: Info[Context, None], destination: str, code: str) -> VerifyResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await registration.verify_contact(
                session, destination, code, journal=ctx.journal, policy=ctx.policy
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Gửi lại mã xác thực (không cho biết địa chỉ có tài khoản hay không).")
    async def contact_verification_resend(self, info: Info[Context, None], destination: str) -> DoneResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Done:
            await registration.resend_verification(
                session, destination, journal=ctx.journal, policy=ctx.policy
            )
            return Done(ok=True)

        return await run_command(info, command)  # type: ignore[return-value]

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

    @strawberry.mutation(description="Chọn kênh nhận thông báo (ít nhất một kênh).", extensions=PERSON)
    async def notification_preferences_set(
        self, info: Info[Context, None], email: bool, sms: bool
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await owners.set_preferences(session, ctx.actor, email=email, sms=sms)
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Chủ tài khoản yêu cầu khoá tài khoản của mình.", extensions=PERSON)
    async def account_lock_request(self, info: Info[Context, None]) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            return AccountSaved(
                account=Account(row=await locks.request_own_lock(session, ctx.actor, journal=ctx.journal))
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

    # --- administration ---

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
        description="Thu hồi một phân công; cán bộ không còn vai trò nào thì tài khoản bị khoá.",
        extensions=ACCOUNT_ADMIN,
    )
    async def staff_unassign(
        self, info: Info[Context, None], assignment_id: strawberry.ID
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await assignments.end_assignment(
                session, ctx.actor, parse_id(assignment_id, "assignmentId"), journal=ctx.journal
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
            )
            return AccountSaved(account=Account(row=successor))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Khoá tài khoản: chủ tài khoản qua đời (DECEASED), tổ chức giải thể (DISSOLVED) hoặc "
        "quyết định khác (ADMIN).",
        extensions=ACCOUNT_ADMIN,
    )
    async def account_lock(
        self, info: Info[Context, None], account_id: strawberry.ID, reason: LockReason
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await admin_locks.admin_lock(
                session, ctx.actor, parse_id(account_id, "accountId"), reason, journal=ctx.journal
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Mở khoá tài khoản.", extensions=ACCOUNT_ADMIN)
    async def account_unlock(
        self, info: Info[Context, None], account_id: strawberry.ID
    ) -> AccountAdminResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await admin_locks.admin_unlock(
                session, ctx.actor, parse_id(account_id, "accountId"), journal=ctx.journal
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


def _sent_to(email: str | None, phone: str | None) -> list[str]:
    """Masked, so a screen shows where the code went without showing the whole address."""
    out = []
    if email:
        name, _, domain = email.partition("@")
        out.append(f"{name[:2]}***@{domain}")
    if phone:
        out.append(f"{phone[:5]}***{phone[-2:]}")
    return out
