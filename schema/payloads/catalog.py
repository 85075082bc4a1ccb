"""What the catalog mutations answer: the saved procedure, agency or field, or a typed error."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from schema.types.catalog import AdministrativeLevel, Agency, Field, Procedure


@strawberry.type(description="Thủ tục đã được lưu (phiên bản dự thảo).")
class ProcedureSaved:
    procedure: Procedure = strawberry.field(description="Thủ tục, ở phiên bản vừa lưu.")


@strawberry.type(description="Thủ tục đã được công bố.")
class ProcedurePublished:
    procedure: Procedure = strawberry.field(description="Thủ tục, ở phiên bản vừa công bố.")


@strawberry.type(description="Trạng thái thủ tục đã thay đổi.")
class ProcedureStatusChanged:
    procedure: Procedure = strawberry.field(description="Thủ tục sau khi thay đổi.")


@strawberry.type(description="Cơ quan đã được lưu.")
class AgencySaved:
    agency: Agency = strawberry.field(description="Cơ quan.")


@strawberry.type(description="Các cơ quan đã được sáp nhập.")
class AgenciesMerged:
    successor: Agency = strawberry.field(description="Cơ quan kế thừa.")


@strawberry.type(description="Cấp hành chính đã được lưu (thêm mới hoặc bãi bỏ).")
class AdministrativeLevelSaved:
    level: AdministrativeLevel = strawberry.field(description="Cấp hành chính.")


@strawberry.type(description="Lĩnh vực đã được lưu.")
class FieldSaved:
    field: Field = strawberry.field(description="Lĩnh vực.")


ProcedureCreateResult = Annotated[
    ProcedureSaved | ValidationFailed,
    strawberry.union("ProcedureCreateResult", description="Kết quả tạo thủ tục."),
]
ProcedureAmendResult = Annotated[
    ProcedureSaved | ValidationFailed | NotFound | InvalidTransition | Conflict,
    strawberry.union("ProcedureAmendResult", description="Kết quả sửa đổi thủ tục."),
]
ProcedurePublishResult = Annotated[
    ProcedurePublished | ValidationFailed | NotFound | InvalidTransition | Conflict,
    strawberry.union("ProcedurePublishResult", description="Kết quả công bố thủ tục."),
]
ProcedureStatusResult = Annotated[
    ProcedureStatusChanged | ValidationFailed | NotFound | InvalidTransition | Conflict,
    strawberry.union("ProcedureStatusResult", description="Kết quả thay đổi trạng thái thủ tục."),
]
AgencySaveResult = Annotated[
    AgencySaved | ValidationFailed | NotFound,
    strawberry.union("AgencySaveResult", description="Kết quả lưu cơ quan."),
]
AgencyMergeResult = Annotated[
    AgenciesMerged | ValidationFailed,
    strawberry.union("AgencyMergeResult", description="Kết quả sáp nhập cơ quan."),
]
FieldSaveResult = Annotated[
    FieldSaved | ValidationFailed | NotFound,
    strawberry.union("FieldSaveResult", description="Kết quả lưu lĩnh vực."),
]
AdministrativeLevelResult = Annotated[
    AdministrativeLevelSaved | ValidationFailed | NotFound,
    strawberry.union("AdministrativeLevelResult", description="Kết quả thêm hoặc bãi bỏ cấp hành chính."),
]
