"""Relay pagination: the one `PageInfo` every connection carries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry


@strawberry.type(description="Thông tin phân trang Relay.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Còn trang sau.")
    has_previous_page: bool = strawberry.field(description="Có trang trước.")
    start_cursor: str | None = strawberry.field(description="Con trỏ của mục đầu.")
    end_cursor: str | None = strawberry.field(description="Con trỏ của mục cuối.")

    @classmethod
    def of(cls, page: Any, edges: Sequence[Any]) -> PageInfo:
        """From a service `Page` and the edges made of it (each with its `cursor`)."""
        return cls(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
