"""GraphQL types of accounts, sessions, staff roles, apps and the security audit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from auth.roles import StaffRole
from models import accounts as m
from schema.context import Context
from schema.types.catalog import Agency
from schema.types.columns import column, identifier
from services import legal

strawberry.enum(m.AccountKind, description="Loại tài khoản: công dân, tổ chức/doanh nghiệp, cán bộ.")
strawberry.enum(
    m.AccountStatus,
    description="Trạng thái: PENDING chưa xác thực, ACTIVE hoạt động, LOCKED bị khoá, DELETED đã xoá.",
)
strawberry.enum(
    m.LockReason,
    description="Lý do khoá: sai mật khẩu 5 lần, 01 năm không đăng nhập, theo yêu cầu, qua đời, giải thể, "
    "không còn phân công, quyết định của quản trị.",
)
strawberry.enum(
    StaffRole,
    description="Vai trò cán bộ: một cửa, chuyên viên, lãnh đạo, bưu chính, đầu mối phản ánh, quản trị cơ "
    "quan, quản trị hệ thống, xem thống kê.",
)


@strawberry.type(description="Thông tin công dân (chỉ chủ tài khoản và quản trị xem được).")
class CitizenInfo:
    citizen_id: str | None = strawberry.field(description="Số định danh cá nhân.")
    full_name: str = strawberry.field(description="Họ và tên.")
    birth_date: date | None = strawberry.field(description="Ngày sinh.")
    address: str | None = strawberry.field(description="Địa chỉ.")
    linked_to_national_identity: bool = strawberry.field(
        description="Đã liên kết định danh điện tử quốc gia."
    )


@strawberry.type(description="Thông tin tổ chức, doanh nghiệp.")
class OrganisationInfo:
    tax_code: str | None = strawberry.field(description="Mã số thuế / mã số doanh nghiệp.")
    name: str = strawberry.field(description="Tên tổ chức.")
    representative_name: str = strawberry.field(description="Người đại diện.")
    address: str | None = strawberry.field(description="Địa chỉ.")


@strawberry.type(description="Một vai trò của cán bộ tại một cơ quan.")
class StaffAssignment:
    row: strawberry.Private[m.StaffAssignment]

    id: strawberry.ID = identifier("Mã định danh của phân công.")

    @strawberry.field(description="Vai trò.")
    def role(self) -> StaffRole:
        return StaffRole(self.row.role)

    include_sub_agencies: bool = column("Áp dụng cả cho các cơ quan trực thuộc.")
    created_at: datetime = column("Ngày phân công.")

    @strawberry.field(description="Cơ quan (null: toàn hệ thống, chỉ với quản trị hệ thống).")
    async def agency(self, info: Info[Context, None]) -> Agency | None:
        if self.row.agency_id is None:
            return None
        row = await info.context.loaders.agency_by_id.load(self.row.agency_id)
        return Agency(row=row) if row else None


@strawberry.type(
    description=f"Kho quản lý dữ liệu điện tử của tài khoản ({legal.text('decree-45-2020').short}, điều 16)."
)
class Vault:
    id: strawberry.ID = strawberry.field(description="Mã định danh của kho.")
    created_at: datetime = strawberry.field(description="Thời điểm tạo (cùng lúc với tài khoản).")


@strawberry.type(description="Tài khoản (chỉ chủ tài khoản và người quản trị được xem).")
class Account:
    row: strawberry.Private[m.Account]

    id: strawberry.ID = identifier("Mã định danh.")
    kind: m.AccountKind = column("Loại tài khoản.")
    status: m.AccountStatus = column("Trạng thái.")
    display_name: str = column("Tên hiển thị.")
    email: str | None = column("Thư điện tử.")
    phone: str | None = column("Số điện thoại.")

    @strawberry.field(description="Thư điện tử đã xác thực.")
    def email_verified(self) -> bool:
        return self.row.email_verified_at is not None

    @strawberry.field(description="Số điện thoại đã xác thực.")
    def phone_verified(self) -> bool:
        return self.row.phone_verified_at is not None

    notify_email: bool = column("Nhận thông báo qua thư điện tử.")
    notify_sms: bool = column("Nhận thông báo qua tin nhắn SMS.")
    notify_zalo: bool = column("Nhận thông báo qua Zalo (số điện thoại đã xác thực).")
    lock_reason: m.LockReason | None = column("Lý do khoá (nếu bị khoá).")
    locked_at: datetime | None = column("Thời điểm khoá.")
    last_sign_in_at: datetime | None = column("Lần đăng nhập thành công gần nhất.")
    created_at: datetime = column("Thời điểm tạo tài khoản.")

    @strawberry.field(description="Thông tin công dân.")
    async def citizen(self, info: Info[Context, None]) -> CitizenInfo | None:
        if self.row.kind is not m.AccountKind.CITIZEN:
            return None
        p = await info.context.loaders.citizen_by_account_id.load(self.row.id)
        if p is None:
            return None
        return CitizenInfo(
            citizen_id=p.citizen_id,
            full_name=p.full_name,
            birth_date=p.birth_date,
            address=p.address,
            linked_to_national_identity=p.national_identity_subject is not None,
        )

    @strawberry.field(description="Thông tin tổ chức.")
    async def organisation(self, info: Info[Context, None]) -> OrganisationInfo | None:
        if self.row.kind is not m.AccountKind.ORGANISATION:
            return None
        p = await info.context.loaders.organisation_by_account_id.load(self.row.id)
        if p is None:
            return None
        return OrganisationInfo(
            tax_code=p.tax_code, name=p.name, representative_name=p.representative_name, address=p.address
        )

    @strawberry.field(description="Các vai trò đang được phân công (cán bộ).")
    async def assignments(self, info: Info[Context, None]) -> list[StaffAssignment]:
        if self.row.kind is not m.AccountKind.STAFF:
            return []
        rows = await info.context.loaders.assignments_by_account_id.load(self.row.id)
        return [StaffAssignment(row=r) for r in rows]

    @strawberry.field(description="Kho dữ liệu điện tử của tài khoản.")
    async def vault(self, info: Info[Context, None]) -> Vault | None:
        row = await info.context.loaders.vault_by_account_id.load(self.row.id)
        return Vault(id=strawberry.ID(str(row.id)), created_at=row.created_at) if row else None


@strawberry.type(description="Phiên đăng nhập: mã truy cập ngắn hạn và mã làm mới (xoay vòng).")
class AuthSession:
    access_token: str = strawberry.field(description="Mã truy cập (JWT), gửi trong `Authorization: Bearer`.")
    access_token_expires_at: datetime = strawberry.field(description="Hết hạn lúc.")
    refresh_token: str = strawberry.field(description="Mã làm mới, dùng một lần với tokenRefresh.")
    account: Account = strawberry.field(description="Tài khoản đã đăng nhập.")


@strawberry.type(description="Một sự kiện an ninh trong nhật ký.")
class SecurityEvent:
    seq: int = strawberry.field(description="Số thứ tự.")
    at: datetime = strawberry.field(description="Thời điểm.")
    event: str = strawberry.field(description="Sự kiện: SIGN_IN, LOCK, UNLOCK, ROLE_GRANT…")
    outcome: str = strawberry.field(description="Kết quả: SUCCESS, FAILURE, DENIED.")
    actor: str = strawberry.field(description="Người/ứng dụng thực hiện.")
    subject_id: strawberry.ID | None = strawberry.field(description="Tài khoản liên quan.")
    address: str | None = strawberry.field(description="Địa chỉ IP.")
    detail: JSON = strawberry.field(description="Chi tiết.")

    @classmethod
    def from_row(cls, r: m.SecurityEvent) -> SecurityEvent:
        detail: Any = r.detail
        return cls(
            seq=r.seq,
            at=r.at,
            event=r.event,
            outcome=r.outcome,
            actor=r.actor_label,
            subject_id=strawberry.ID(str(r.subject_id)) if r.subject_id else None,
            address=str(r.address) if r.address else None,
            detail=detail,
        )


@strawberry.type(description="Ứng dụng bên thứ ba được cấp quyền truy cập (OAuth 2 client credentials).")
class OAuthApp:
    client_id: str = strawberry.field(description="Mã ứng dụng (client_id).")
    name: str = strawberry.field(description="Tên ứng dụng.")
    contact_email: str = strawberry.field(description="Thư điện tử liên hệ.")
    scopes: list[str] = strawberry.field(description="Phạm vi được cấp.")
    rate_limit_per_minute: int = strawberry.field(description="Số lượt gọi tối đa mỗi phút.")
    created_at: datetime = strawberry.field(description="Ngày đăng ký.")
    revoked_at: datetime | None = strawberry.field(description="Ngày thu hồi (nếu đã thu hồi).")

    @classmethod
    def from_row(cls, r: m.OAuthClient) -> OAuthApp:
        return cls(
            client_id=r.client_id,
            name=r.name,
            contact_email=r.contact_email,
            scopes=list(r.scopes),
            rate_limit_per_minute=r.rate_limit_per_minute,
            created_at=r.created_at,
            revoked_at=r.revoked_at,
        )


@strawberry.type(description="Một trang tài khoản.")
class AccountPage:
    items: list[Account] = strawberry.field(description="Các tài khoản.")
    has_next_page: bool = strawberry.field(description="Còn trang sau.")


@strawberry.type(description="Một trang nhật ký an ninh (mới nhất trước).")
class SecurityEventPage:
    items: list[SecurityEvent] = strawberry.field(description="Các sự kiện.")
    has_next_page: bool = strawberry.field(description="Còn trang sau (dùng beforeSeq = seq cuối).")
