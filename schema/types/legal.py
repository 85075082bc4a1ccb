"""The legal texts the system applies (services/legal): one place for every citation."""

from __future__ import annotations

from datetime import date

import strawberry

from services import legal

_EXAMPLE = legal.text("decree-118-2025")


@strawberry.type(description="Văn bản pháp luật hệ thống áp dụng, với ngày hiệu lực.")
class LegalText:
    key: str = strawberry.field(description="Mã văn bản trong hệ thống (ví dụ decree-118-2025).")
    kind: str = strawberry.field(description="Loại văn bản: Nghị định, Thông tư, Quyết định.")
    number: str = strawberry.field(description=f"Số, ký hiệu (ví dụ {_EXAMPLE.number}).")
    citation: str = strawberry.field(description=f"Cách trích dẫn (ví dụ «{_EXAMPLE.citation}»).")
    title: str = strawberry.field(description="Trích yếu.")
    effective_from: date | None = strawberry.field(description="Ngày có hiệu lực (không có: chưa xác minh).")
    replaced_by: str | None = strawberry.field(description="Mã văn bản thay thế.")
    amends: str | None = strawberry.field(description="Mã văn bản được sửa đổi, bổ sung.")
    verified: bool = strawberry.field(description="Ngày hiệu lực đã đối chiếu với văn bản gốc.")
    in_force: bool = strawberry.field(description="Còn áp dụng vào ngày được hỏi.")

    @classmethod
    def of(cls, text: legal.LegalText, on: date) -> LegalText:
        return cls(
            key=text.key,
            kind=legal.KIND_NAMES[text.kind],
            number=text.number,
            citation=text.citation,
            title=text.title,
            effective_from=text.effective_from,
            replaced_by=text.replaced_by,
            amends=text.amends,
            verified=text.verified,
            in_force=legal.in_force(text.key, on),
        )
