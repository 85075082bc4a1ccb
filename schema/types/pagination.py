"""Relay pagination: one `PageInfo`, one generic `Edge[T]` and `Connection[T]` for every list.

Strawberry names a specialised generic after its argument: `Connection[Dossier]` is
`DossierConnection` in the schema, `Edge[Dossier]` is `DossierEdge`. A list that also counts
every match (the catalog, the 766 drill-down) is a `CountedConnection[T]`
(`ProcedureCountedConnection`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from services.pagination import Page

T = TypeVar("T")


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


@strawberry.type(description="Một mục của danh sách có phân trang: con trỏ và mục.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Con trỏ của mục (truyền vào `after` để lấy trang sau).")
    node: T = strawberry.field(description="Mục.")


@strawberry.type(description="Danh sách có phân trang (Relay).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="Các mục của trang.")
    page_info: PageInfo = strawberry.field(description="Thông tin phân trang.")

    @classmethod
    def of(cls, page: Page[Any], node: Callable[[Any], T]) -> Connection[T]:
        """A page of service rows, each made into its GraphQL `node`."""
        edges = [Edge(cursor=cursor, node=node(item)) for item, cursor in page.items]
        return cls(edges=edges, page_info=PageInfo.of(page, edges))


@strawberry.type(description="Danh sách có phân trang (Relay) kèm tổng số mục khớp bộ lọc.")
class CountedConnection(Connection[T]):
    total_count: int = strawberry.field(description="Tổng số mục khớp bộ lọc (mọi trang).")

    @classmethod
    def of(cls, page: Page[Any], node: Callable[[Any], T]) -> CountedConnection[T]:
        edges = [Edge(cursor=cursor, node=node(item)) for item, cursor in page.items]
        return cls(edges=edges, page_info=PageInfo.of(page, edges), total_count=page.total)
