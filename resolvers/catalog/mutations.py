"""Catalog administration mutations: one per state transition, each with a typed result union.

Noun first (`procedureCreate`, `procedurePublish`…). Only catalog admins may call them; the
life-cycle table in `services.catalog.lifecycle` decides what is allowed in which status.
"""

from __future__ import annotations

from datetime import date

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.common import parse_id, run_command
from schema.context import Context
from schema.inputs.catalog import (
    AdministrativeLevelInput,
    AgencyInput,
    DecisionInput,
    FieldInput,
    ProcedureInput,
)
from schema.payloads.catalog import (
    AdministrativeLevelResult,
    AdministrativeLevelSaved,
    AgenciesMerged,
    AgencyMergeResult,
    AgencySaved,
    AgencySaveResult,
    FieldSaved,
    FieldSaveResult,
    ProcedureAmendResult,
    ProcedureCreateResult,
    ProcedurePublished,
    ProcedurePublishResult,
    ProcedureSaved,
    ProcedureStatusChanged,
    ProcedureStatusResult,
)
from schema.permissions import CATALOG_ADMIN
from schema.types.catalog import AdministrativeLevel, Agency, Field, Procedure
from services.catalog import commands, levels
from services.catalog.lifecycle import CatalogAction
from services.catalog.queries import procedure_by_code


async def _change_status(
    info: Info[Context, None],
    code: str,
    action: CatalogAction,
    *,
    reason: str | None = None,
    decision: DecisionInput | None = None,
    expected_revision: int | None = None,
) -> ProcedureStatusResult:
    ctx = info.context

    async def command(session: AsyncSession) -> ProcedureStatusChanged:
        await commands.change_status(
            session,
            code,
            action,
            actor=ctx.actor.label,
            now=ctx.now,
            today=ctx.today,
            reason=reason,
            decision=decision.to_data() if decision else None,
            expected_revision=expected_revision,
        )
        row = await procedure_by_code(session, code, version_no=None, may_see_drafts=True)
        assert row is not None
        return ProcedureStatusChanged(procedure=Procedure(procedure=row[0], row=row[1]))

    return await run_command(info, command)  # type: ignore[return-value]


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Tạo thủ tục mới ở trạng thái dự thảo.", extensions=CATALOG_ADMIN)
    async def procedure_create(
        self, info: Info[Context, None], input: ProcedureInput
    ) -> ProcedureCreateResult:
        ctx = info.context

        async def command(session: AsyncSession) -> ProcedureSaved:
            p, v = await commands.create_procedure(
                session, input.to_data(), actor=ctx.actor.label, now=ctx.now
            )
            return ProcedureSaved(procedure=Procedure(procedure=p, row=v))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Sửa đổi thủ tục: tạo (hoặc soạn lại) phiên bản dự thảo; phiên bản đã công bố "
        "không bao giờ bị sửa.",
        extensions=CATALOG_ADMIN,
    )
    async def procedure_amend(
        self,
        info: Info[Context, None],
        code: str,
        input: ProcedureInput,
        expected_revision: int | None = None,
    ) -> ProcedureAmendResult:
        ctx = info.context

        async def command(session: AsyncSession) -> ProcedureSaved:
            p, v = await commands.amend_procedure(
                session,
                code,
                input.to_data(),
                actor=ctx.actor.label,
                now=ctx.now,
                expected_revision=expected_revision,
            )
            return ProcedureSaved(procedure=Procedure(procedure=p, row=v))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Công bố phiên bản dự thảo theo quyết định của Chủ tịch UBND tỉnh.",
        extensions=CATALOG_ADMIN,
    )
    async def procedure_publish(
        self,
        info: Info[Context, None],
        code: str,
        decision: DecisionInput,
        expected_revision: int | None = None,
    ) -> ProcedurePublishResult:
        ctx = info.context

        async def command(session: AsyncSession) -> ProcedurePublished:
            p, v = await commands.publish_procedure(
                session,
                code,
                decision.to_data(),
                actor=ctx.actor.label,
                now=ctx.now,
                today=ctx.today,
                expected_revision=expected_revision,
            )
            return ProcedurePublished(procedure=Procedure(procedure=p, row=v))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Tạm ngừng thủ tục (nêu lý do).", extensions=CATALOG_ADMIN)
    async def procedure_suspend(
        self, info: Info[Context, None], code: str, reason: str, expected_revision: int | None = None
    ) -> ProcedureStatusResult:
        return await _change_status(
            info, code, CatalogAction.SUSPEND, reason=reason, expected_revision=expected_revision
        )

    @strawberry.mutation(description="Cho thủ tục đang tạm ngừng tiếp tục áp dụng.", extensions=CATALOG_ADMIN)
    async def procedure_resume(
        self, info: Info[Context, None], code: str, expected_revision: int | None = None
    ) -> ProcedureStatusResult:
        return await _change_status(info, code, CatalogAction.RESUME, expected_revision=expected_revision)

    @strawberry.mutation(description="Bãi bỏ thủ tục theo quyết định.", extensions=CATALOG_ADMIN)
    async def procedure_abolish(
        self,
        info: Info[Context, None],
        code: str,
        decision: DecisionInput,
        expected_revision: int | None = None,
    ) -> ProcedureStatusResult:
        return await _change_status(
            info, code, CatalogAction.ABOLISH, decision=decision, expected_revision=expected_revision
        )

    @strawberry.mutation(description="Thêm cơ quan vào cây tổ chức.", extensions=CATALOG_ADMIN)
    async def agency_create(self, info: Info[Context, None], input: AgencyInput) -> AgencySaveResult:
        async def command(session: AsyncSession) -> AgencySaved:
            pattern = info.context.settings.agency_electronic_id_pattern
            row = await commands.create_agency(session, input.to_data(), electronic_id=pattern)
            return AgencySaved(agency=Agency(row=row))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Sửa thông tin cơ quan (đổi tên, đổi cấp trên…).", extensions=CATALOG_ADMIN
    )
    async def agency_update(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        input: AgencyInput,
    ) -> AgencySaveResult:
        async def command(session: AsyncSession) -> AgencySaved:
            pattern = info.context.settings.agency_electronic_id_pattern
            row = await commands.update_agency(
                session, parse_id(id, "id"), input.to_data(), electronic_id=pattern
            )
            return AgencySaved(agency=Agency(row=row))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Sáp nhập cơ quan: các cơ quan nguồn thôi hoạt động từ ngày hiệu lực và chuyển "
        "sang cơ quan kế thừa; hồ sơ cũ vẫn giữ cơ quan đã tiếp nhận.",
        extensions=CATALOG_ADMIN,
    )
    async def agency_merge(
        self, info: Info[Context, None], source_codes: list[str], target_code: str, effective_date: date
    ) -> AgencyMergeResult:
        async def command(session: AsyncSession) -> AgenciesMerged:
            row = await commands.merge_agencies(session, source_codes, target_code, effective_date)
            return AgenciesMerged(successor=Agency(row=row))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Thêm cấp hành chính.", extensions=CATALOG_ADMIN)
    async def administrative_level_create(
        self, info: Info[Context, None], input: AdministrativeLevelInput
    ) -> AdministrativeLevelResult:
        async def command(session: AsyncSession) -> AdministrativeLevelSaved:
            row = await levels.create_level(session, input.to_data())
            return AdministrativeLevelSaved(level=AdministrativeLevel.from_row(row))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Bãi bỏ cấp hành chính từ một ngày (như cấp huyện từ 01/7/2025): các cơ quan, hồ sơ "
        "trước đó vẫn giữ nguyên; không cơ quan mới nào được thuộc cấp này.",
        extensions=CATALOG_ADMIN,
    )
    async def administrative_level_retire(
        self, info: Info[Context, None], code: str, retired_on: date
    ) -> AdministrativeLevelResult:
        async def command(session: AsyncSession) -> AdministrativeLevelSaved:
            row = await levels.retire_level(session, code, retired_on)
            return AdministrativeLevelSaved(level=AdministrativeLevel.from_row(row))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Thêm lĩnh vực.", extensions=CATALOG_ADMIN)
    async def field_create(self, info: Info[Context, None], input: FieldInput) -> FieldSaveResult:
        async def command(session: AsyncSession) -> FieldSaved:
            return FieldSaved(field=Field.from_row(await commands.create_field(session, input.to_data())))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Sửa lĩnh vực.", extensions=CATALOG_ADMIN)
    async def field_update(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        input: FieldInput,
    ) -> FieldSaveResult:
        async def command(session: AsyncSession) -> FieldSaved:
            row = await commands.update_field(session, parse_id(id, "id"), input.to_data())
            return FieldSaved(field=Field.from_row(row))

        return await run_command(info, command)  # type: ignore[return-value]
