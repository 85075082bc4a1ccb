"""Declarative permissions for fields and mutations (strawberry `PermissionExtension`).

A refused caller gets a top-level GraphQL error with a stable `code` extension
(`UNAUTHENTICATED` when nobody is signed in, `FORBIDDEN` otherwise); rows the caller may not
see are filtered by the queries themselves and come back as "not found".
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from schema.context import Context


class _Rule(BasePermission):
    message = "Bạn không có quyền thực hiện thao tác này."
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 — strawberry reads it per class

    def allows(self, actor: Actor) -> bool:  # each rule says whom it lets through
        return False

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        actor = info.context.actor
        if self.allows(actor):
            return True
        if not actor.is_authenticated:
            # strawberry builds the error from these two attributes after this call
            self.message = "Bạn cần đăng nhập để thực hiện thao tác này."
            self.error_extensions = {"code": "UNAUTHENTICATED"}
        else:
            self.message = type(self).message
            self.error_extensions = type(self).error_extensions
        return False


class IsAuthenticatedPerson(_Rule):
    """A signed-in citizen, organisation or staff member (not an app)."""

    def allows(self, actor: Actor) -> bool:
        return actor.is_person and actor.id is not None


class IsSystemAdmin(_Rule):
    message = "Chỉ quản trị hệ thống được thực hiện thao tác này."

    def allows(self, actor: Actor) -> bool:
        return actor.is_system_admin


class IsCatalogAdmin(_Rule):
    message = "Bạn không có quyền quản trị danh mục thủ tục hành chính."

    def allows(self, actor: Actor) -> bool:
        return actor.can_manage_catalog


class IsAccountAdmin(_Rule):
    """A system admin, or an agency admin (within their agencies, enforced by the queries)."""

    message = "Bạn không có quyền quản trị tài khoản."

    def allows(self, actor: Actor) -> bool:
        return actor.is_system_admin or bool(actor.agencies_with(StaffRole.AGENCY_ADMIN))


class IsUnitCalendarAdmin(_Rule):
    """A system admin, or an agency admin (of the unit itself, enforced by services.holidays)."""

    message = "Chỉ quản trị hệ thống hoặc quản trị của đơn vị được sửa lịch làm việc của đơn vị."

    def allows(self, actor: Actor) -> bool:
        return actor.is_system_admin or bool(actor.agencies_with(StaffRole.AGENCY_ADMIN))


class AppScope(_Rule):
    """Anyone but an app; an app only when its token carries `scope` (a token that does not grant
    it is refused, even where an anonymous caller is let through)."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope
        self.message = f"Ứng dụng chưa được cấp phạm vi {scope}."

    def allows(self, actor: Actor) -> bool:
        return actor.kind is not ActorKind.APP or actor.has_scope(self.scope)

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return self.allows(info.context.actor)  # an app is authenticated: always FORBIDDEN


DOSSIER_STATUS_SCOPE = "dossier-status:read"

# Field extensions: only a signed-in citizen, organisation or officer (not an app).
PERSON: list[FieldExtension] = [PermissionExtension(permissions=[IsAuthenticatedPerson()])]
# Public dossier status (lookups, live status): an app needs the `dossier-status:read` scope.
DOSSIER_STATUS: list[FieldExtension] = [PermissionExtension(permissions=[AppScope(DOSSIER_STATUS_SCOPE)])]
# Catalog administration (danh mục thủ tục).
CATALOG_ADMIN: list[FieldExtension] = [PermissionExtension(permissions=[IsCatalogAdmin()])]
# Account administration: system admins, and agency admins within their agencies.
ACCOUNT_ADMIN: list[FieldExtension] = [PermissionExtension(permissions=[IsAccountAdmin()])]
# A receiving unit's own office hours: system admins, and agency admins of that unit.
UNIT_CALENDAR_ADMIN: list[FieldExtension] = [PermissionExtension(permissions=[IsUnitCalendarAdmin()])]
# The whole system: calendar, event consumers, third-party apps, false accounts.
SYSTEM_ADMIN: list[FieldExtension] = [PermissionExtension(permissions=[IsSystemAdmin()])]
