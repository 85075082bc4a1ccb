"""Declarative permissions for fields and mutations (strawberry `PermissionExtension`).

A refused caller gets a top-level GraphQL error with a stable `code` extension; rows the caller
may not see are filtered by the queries themselves and come back as "not found".
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from resolvers.context import Context


class IsCatalogAdmin(BasePermission):
    message = "Bạn không có quyền quản trị danh mục thủ tục hành chính."
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 — strawberry reads it per class

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return info.context.actor.can_manage_catalog
