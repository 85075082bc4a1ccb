"""Staff roles (vai trò). A role applies within an agency (and, where noted, its sub-agencies)."""

from __future__ import annotations

import enum


class StaffRole(enum.Enum):
    RECEPTION_OFFICER = "RECEPTION_OFFICER"  # cán bộ Bộ phận Một cửa
    SPECIALIST = "SPECIALIST"  # chuyên viên xử lý
    LEADER = "LEADER"  # lãnh đạo phê duyệt, ký
    POSTAL_STAFF = "POSTAL_STAFF"  # nhân viên bưu chính công ích
    FEEDBACK_FOCAL_POINT = "FEEDBACK_FOCAL_POINT"  # đầu mối tiếp nhận phản ánh, kiến nghị
    AGENCY_ADMIN = "AGENCY_ADMIN"  # quản trị cơ quan
    SYSTEM_ADMIN = "SYSTEM_ADMIN"  # quản trị hệ thống
    STATISTICS_VIEWER = "STATISTICS_VIEWER"  # xem báo cáo thống kê


# Roles that can act on a step of a procedure's internal workflow.
WORKFLOW_ROLES = frozenset(
    {StaffRole.RECEPTION_OFFICER, StaffRole.SPECIALIST, StaffRole.LEADER, StaffRole.POSTAL_STAFF}
)
