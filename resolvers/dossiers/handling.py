"""Dossier mutations while it is handled (giải quyết): assignment, forwarding and sending back,
supplements, apology and new appointment, approval or refusal, return of the result, withdrawal.

Every act takes the dossier `id`, the `expectedVersion` the caller saw and an optional
`idempotencyKey` (see `resolvers.dossiers.act_runner`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from models.catalog import DeliveryMethod
from models.dossiers import Dossier
from resolvers.common import parse_id
from resolvers.dossiers.act_runner import applying, component_files, run_act
from schema.context import Context
from schema.inputs.dossiers import ComponentFilesInput
from schema.payloads.dossiers import DossierActResult
from schema.permissions import PERSON
from services import legal
from services.dossiers import acts, apology, completion, processing, results, withdrawal
from services.dossiers.transition import ActContext


@strawberry.type
class DossierHandlingMutation:
    @strawberry.mutation(description="Phân công người xử lý bước hiện tại.", extensions=PERSON)
    async def dossier_assign(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        assignee_id: strawberry.ID,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        who = parse_id(assignee_id, "assigneeId")

        act = acts.Assign(who)

        return await run_act(
            info,
            "assign",
            id,
            expected_version,
            idempotency_key,
            applying(processing.assign, act),
            {"assignee": str(who)},
        )

    @strawberry.mutation(description="Chuyển bước tiếp theo (có thể chọn người nhận).", extensions=PERSON)
    async def dossier_forward(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        comment: str | None = None,
        assignee_id: strawberry.ID | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        who = parse_id(assignee_id, "assigneeId") if assignee_id else None

        act = acts.Forward(who)

        return await run_act(
            info,
            "forward",
            id,
            expected_version,
            idempotency_key,
            applying(processing.forward, act),
            {"assignee": str(who), "comment": comment},
            comment=comment,
        )

    @strawberry.mutation(
        description="Trả hồ sơ về bước trước (`toStep`: `DossierStep.position` của bước nhận lại, đếm từ 1; "
        "không có: bước liền trước).",
        extensions=PERSON,
    )
    async def dossier_send_back(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        comment: str,
        to_step: int | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        act = acts.SendBack(to_step)

        return await run_act(
            info,
            "send_back",
            id,
            expected_version,
            idempotency_key,
            applying(processing.send_back, act),
            {"toStep": to_step, "comment": comment},
            comment=comment,
        )

    @strawberry.mutation(
        description="Yêu cầu người nộp bổ sung tài liệu; dừng tính thời gian đến khi bổ sung.",
        extensions=PERSON,
    )
    async def dossier_request_supplement(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        items: list[str],
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        confirm_late: Annotated[
            bool,
            strawberry.argument(
                description="Xác nhận gửi yêu cầu bổ sung lần thứ hai dù hồ sơ sẽ bị tính là trễ hạn "
                "(Quyết định 766/QĐ-TTg); thiếu xác nhận, yêu cầu lần thứ hai bị từ chối với mã "
                "SECOND_SUPPLEMENT_LATE."
            ),
        ] = False,
    ) -> DossierActResult:
        act = acts.RequestSupplement(tuple(items), confirm_late=confirm_late)

        return await run_act(
            info,
            "request_supplement",
            id,
            expected_version,
            idempotency_key,
            applying(completion.request_supplement, act),
            {"items": items, **({"confirmLate": True} if confirm_late else {})},
        )

    @strawberry.mutation(description="Bổ sung tài liệu; thời hạn được tính tiếp.", extensions=PERSON)
    async def dossier_supplement(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        components: list[ComponentFilesInput],
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        parts = component_files(components)

        act = acts.Supplement(parts)

        return await run_act(
            info,
            "supplement",
            id,
            expected_version,
            idempotency_key,
            applying(completion.supplement, act),
            {"components": [str(c) for c in parts]},
        )

    @strawberry.mutation(
        description="Xin lỗi và hẹn lại ngày trả kết quả "
        f"({legal.text('circular-03-2025').short}: đề nghị gia hạn): chậm nhất 01 ngày "
        "làm việc trước hạn (APOLOGY_TOO_LATE), không quá một lần (APPOINTMENT_ALREADY_MOVED); hồ sơ vẫn "
        "tính là quá hạn.",
        extensions=PERSON,
    )
    async def dossier_apologize(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        new_appointment: datetime,
        reason: str,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        act = acts.Apologize(new_appointment, reason)
        policy = apology.policy_from(info.context.settings)

        async def apologize(
            session: AsyncSession, ident: uuid.UUID, ctx: ActContext, act: acts.Act
        ) -> Dossier:
            assert isinstance(act, acts.Apologize)
            return await apology.apologize(session, ident, ctx, act, policy)

        return await run_act(
            info,
            "apologize",
            id,
            expected_version,
            idempotency_key,
            applying(apologize, act),
            {"newAppointment": new_appointment.isoformat(), "reason": reason},
        )

    @strawberry.mutation(description="Phê duyệt và đính kèm kết quả (bản điện tử).", extensions=PERSON)
    async def dossier_approve(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        result_file_ids: list[strawberry.ID],
        comment: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        files = [parse_id(f, "resultFileIds") for f in result_file_ids]

        act = acts.Approve(tuple(files))

        return await run_act(
            info,
            "approve",
            id,
            expected_version,
            idempotency_key,
            applying(results.approve, act),
            {"files": [str(f) for f in files], "comment": comment},
            comment=comment,
        )

    @strawberry.mutation(description="Từ chối giải quyết, nêu rõ lý do.", extensions=PERSON)
    async def dossier_refuse(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        reasons: list[str],
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        act = acts.Refuse(tuple(reasons))

        return await run_act(
            info,
            "refuse",
            id,
            expected_version,
            idempotency_key,
            applying(results.refuse, act),
            {"reasons": reasons},
        )

    @strawberry.mutation(
        description="Trả kết quả (ONLINE, POST hoặc COUNTER theo thủ tục) và kết thúc hồ sơ.",
        extensions=PERSON,
    )
    async def dossier_return(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        method: DeliveryMethod,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        act = acts.ReturnResult(method.value)

        return await run_act(
            info,
            "return",
            id,
            expected_version,
            idempotency_key,
            applying(results.return_result, act),
            {"method": method.value},
        )

    @strawberry.mutation(description="Người nộp rút hồ sơ (trước khi có kết quả).", extensions=PERSON)
    async def dossier_withdraw(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        reason: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        return await run_act(
            info,
            "withdraw",
            id,
            expected_version,
            idempotency_key,
            withdrawal.withdraw,
            {"reason": reason},
            comment=reason,
        )
