"""Dossier mutations up to and around reception (tiếp nhận): the draft, submission, registration at
the counter, receipt, completion requests, refusal of receipt and resubmission.

Every act takes the dossier `id`, the `expectedVersion` the caller saw (optimistic concurrency:
a stale one answers `Conflict`) and an optional `idempotencyKey` (a retry with the same key is
applied once and answers the first result).
"""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from models.dossiers import Channel
from resolvers.common import parse_id, run_command
from resolvers.dossiers.act_runner import applying, component_files, run_act
from schema.context import Context
from schema.inputs.dossiers import ApplicantInput, ComponentFilesInput, DossierDraftInput
from schema.payloads.dossiers import DossierActResult, DossierChanged, DraftResult
from schema.permissions import PERSON
from schema.types.dossiers import Dossier
from services.dossiers import acts, completion, reception, submission
from services.dossiers.submission import Applicant, DraftData


@strawberry.type
class DossierReceptionMutation:
    @strawberry.mutation(description="Lưu hồ sơ nháp (tạo mới khi không có id).", extensions=PERSON)
    async def dossier_save_draft(
        self, info: Info[Context, None], input: DossierDraftInput, id: strawberry.ID | None = None
    ) -> DraftResult:
        ctx = info.context

        async def run(session: AsyncSession) -> DossierChanged:
            data = DraftData(
                procedure_code=input.procedure_code,
                receiving_agency_code=input.receiving_agency_code,
                form_data=input.form_data if isinstance(input.form_data, dict) else {},
                components=component_files(input.components),
                delivery_method=input.delivery_method.value if input.delivery_method else None,
                competent_agency_code=input.competent_agency_code,
            )
            dossier = await submission.save_draft(
                session,
                ctx.actor,
                data,
                now=ctx.now,
                dossier_id=parse_id(id, "id") if id else None,
                anywhere=ctx.settings.reception_anywhere_in_province,
            )
            return DossierChanged(dossier=Dossier(row=dossier), replayed=False)

        return await run_command(info, run)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Nộp hồ sơ: kiểm tra tự động (tờ khai, thành phần bắt buộc) và xác nhận ngay thời điểm "
        "bắt đầu tính thời hạn.",
        extensions=PERSON,
    )
    async def dossier_submit(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        return await run_act(info, "submit", id, expected_version, idempotency_key, submission.submit)

    @strawberry.mutation(
        description="Cán bộ một cửa nhập hồ sơ nộp trực tiếp hoặc qua bưu chính thay người nộp.",
        extensions=PERSON,
    )
    async def dossier_register_at_counter(
        self,
        info: Info[Context, None],
        procedure_code: str,
        receiving_agency_code: str,
        applicant: ApplicantInput,
        form_data: JSON,
        components: list[ComponentFilesInput],
        by_post: bool = False,
        competent_agency_code: str | None = None,
    ) -> DraftResult:
        ctx = info.context

        async def run(session: AsyncSession) -> DossierChanged:
            dossier = await submission.register_at_counter(
                session,
                ctx.actor,
                procedure_code=procedure_code,
                agency_code=receiving_agency_code,
                applicant=Applicant(
                    applicant.name, applicant.id_number, applicant.phone, applicant.email, applicant.address
                ),
                form_data=form_data if isinstance(form_data, dict) else {},
                components=component_files(components),
                channel=Channel.POST if by_post else Channel.COUNTER,
                now=ctx.now,
                calendar=ctx.calendar,
                unit_calendar=lambda agency_id: ctx.calendar_of(session, agency_id),
                competent_agency_code=competent_agency_code,
                anywhere=ctx.settings.reception_anywhere_in_province,
            )
            return DossierChanged(dossier=Dossier(row=dossier), replayed=False)

        return await run_command(info, run)  # type: ignore[return-value]

    @strawberry.mutation(description="Tiếp nhận: cấp mã hồ sơ và ngày hẹn trả kết quả.", extensions=PERSON)
    async def dossier_receive(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        return await run_act(info, "receive", id, expected_version, idempotency_key, reception.receive)

    @strawberry.mutation(
        description="Yêu cầu bổ sung, hoàn thiện hồ sơ (một lần, hướng dẫn đầy đủ từng nội dung).",
        extensions=PERSON,
    )
    async def dossier_request_completion(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        items: list[str],
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        act = acts.RequestCompletion(tuple(items))

        return await run_act(
            info,
            "request_completion",
            id,
            expected_version,
            idempotency_key,
            applying(completion.request_completion, act),
            {"items": items},
        )

    @strawberry.mutation(description="Từ chối tiếp nhận, nêu rõ lý do.", extensions=PERSON)
    async def dossier_refuse_receipt(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        reasons: list[str],
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        act = acts.RefuseReceipt(tuple(reasons))

        return await run_act(
            info,
            "refuse_receipt",
            id,
            expected_version,
            idempotency_key,
            applying(reception.refuse_receipt, act),
            {"reasons": reasons},
        )

    @strawberry.mutation(description="Nộp lại hồ sơ đã bổ sung, hoàn thiện.", extensions=PERSON)
    async def dossier_resubmit(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        components: list[ComponentFilesInput],
        form_data: JSON | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        parts = component_files(components)
        data = form_data if isinstance(form_data, dict) else None

        act = acts.Resubmit(parts, data)

        return await run_act(
            info,
            "resubmit",
            id,
            expected_version,
            idempotency_key,
            applying(completion.resubmit, act),
            {"components": [str(c) for c in parts], "formData": data},
        )
