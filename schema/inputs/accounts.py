"""GraphQL inputs of accounts: registration, staff and their assignments, third-party apps."""

from __future__ import annotations

from datetime import date

import strawberry

# The GraphQL enums (with their descriptions) are registered with the types: import those first.
import schema.types.accounts  # noqa: F401
from auth.roles import StaffRole
from services.accounts.admin import assignments


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
