"""Dossier queries, one mutation per act of the life cycle, and live subscriptions.

Every act takes the dossier `id`, the `expectedVersion` the caller saw (optimistic concurrency:
a stale one answers `Conflict`) and an optional `idempotencyKey` (a retry with the same key is
applied once and answers the first result).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from models.dossiers import Channel, DossierStatus
from models.dossiers import Dossier as DossierRow
from resolvers.common import parse_id, run_command
from resolvers.context import Context
from resolvers.loaders import Loaders
from resolvers.lookup_limits import check_lookup_rate
from schema.errors import ClientError, Conflict, InvalidTransition, NotFound, Refused, ValidationFailed
from schema.permissions import DOSSIER_STATUS, PERSON
from schema.types.catalog import PageInfo
from schema.types.dossiers import Dossier, DossierLookup, DossierPublicStatus
from services import idempotency
from services.dossiers import (
    acts,
    apology,
    completion,
    processing,
    queries,
    ratings,
    reception,
    results,
    submission,
    withdrawal,
)
from services.dossiers.acts import ComponentFiles
from services.dossiers.submission import Applicant, DraftData
from services.dossiers.transition import ActContext
from services.dossiers.workflow import STATUS_LABELS
from services.errors import NotFound as DomainNotFound
from services.errors import ValidationFailed as DomainValidationFailed


@strawberry.input(description="Tệp của một thành phần hồ sơ.")
class ComponentFilesInput:
    component_id: strawberry.ID = strawberry.field(description="Mã thành phần hồ sơ của thủ tục.")
    file_ids: list[strawberry.ID] = strawberry.field(
        description="Các tệp đã tải lên (hoặc lấy từ kho dữ liệu)."
    )


@strawberry.input(description="Hồ sơ nháp.")
class DossierDraftInput:
    procedure_code: str = strawberry.field(description="Mã thủ tục.")
    receiving_agency_code: str = strawberry.field(description="Bộ phận Một cửa nộp vào.")
    form_data: JSON = strawberry.field(description="Tờ khai điện tử (theo formSchema của thủ tục).")
    components: list[ComponentFilesInput] = strawberry.field(
        default_factory=list, description="Thành phần hồ sơ."
    )
    delivery_method: str | None = strawberry.field(default=None, description="Hình thức nhận kết quả.")


@strawberry.input(description="Người nộp (hồ sơ nộp trực tiếp hoặc qua bưu chính).")
class ApplicantInput:
    name: str = strawberry.field(description="Họ tên / tên tổ chức.")
    id_number: str | None = strawberry.field(default=None, description="Số định danh / mã số thuế.")
    phone: str | None = strawberry.field(default=None, description="Điện thoại.")
    email: str | None = strawberry.field(default=None, description="Thư điện tử.")
    address: str | None = strawberry.field(default=None, description="Địa chỉ.")


@strawberry.input(description="Bộ lọc tìm kiếm hồ sơ.")
class DossierFilterInput:
    code: str | None = strawberry.field(default=None, description="Mã hồ sơ (hoặc phần đầu).")
    applicant: str | None = strawberry.field(default=None, description="Tên hoặc số định danh người nộp.")
    procedure_code: str | None = strawberry.field(default=None, description="Mã thủ tục.")
    status: DossierStatus | None = strawberry.field(default=None, description="Trạng thái.")
    overdue: bool | None = strawberry.field(
        default=None, description="Chỉ hồ sơ quá hạn (true) / chưa quá hạn."
    )
    near_deadline: bool | None = strawberry.field(
        default=None, description="Chỉ hồ sơ sắp đến hạn (trong 1 ngày)."
    )
    received_from: datetime | None = strawberry.field(default=None, description="Tiếp nhận từ.")
    received_to: datetime | None = strawberry.field(default=None, description="Tiếp nhận đến (không gồm).")


@strawberry.type(description="Một mục trong danh sách hồ sơ.")
class DossierEdge:
    cursor: str = strawberry.field(description="Con trỏ.")
    node: Dossier = strawberry.field(description="Hồ sơ.")


@strawberry.type(description="Danh sách hồ sơ có phân trang (Relay).")
class DossierConnection:
    edges: list[DossierEdge] = strawberry.field(description="Các mục.")
    page_info: PageInfo = strawberry.field(description="Phân trang.")


@strawberry.type(description="Hồ sơ sau thao tác.")
class DossierChanged:
    dossier: Dossier = strawberry.field(description="Hồ sơ.")
    replayed: bool = strawberry.field(
        description="Yêu cầu lặp lại với cùng khoá: không làm lại, trả kết quả cũ."
    )


DossierActResult = Annotated[
    DossierChanged | ValidationFailed | InvalidTransition | Conflict | NotFound,
    strawberry.union("DossierActResult", description="Kết quả một thao tác trên hồ sơ."),
]


def _components(items: list[ComponentFilesInput]) -> tuple[ComponentFiles, ...]:
    return tuple(
        ComponentFiles(
            parse_id(c.component_id, "componentId"), tuple(parse_id(f, "fileIds") for f in c.file_ids)
        )
        for c in items
    )


def _page(page: Any) -> DossierConnection:
    edges = [DossierEdge(cursor=c, node=Dossier(row=d)) for d, c in page.items]
    return DossierConnection(edges=edges, page_info=PageInfo.of(page, edges))


Command = Callable[[AsyncSession, uuid.UUID, ActContext], Awaitable[DossierRow]]


async def _dossier_act(
    info: Info[Context, None],
    operation: str,
    dossier_id: strawberry.ID,
    expected_version: int | None,
    idempotency_key: str | None,
    command: Command,
    request: dict[str, Any] | None = None,
    *,
    comment: str | None = None,
) -> DossierActResult:
    """Run one act of the life cycle as a mutation. `request`: the act's arguments as the client
    sent them, for the idempotency digest (keys already stored keep matching their retries)."""
    ctx = info.context

    async def run(session: AsyncSession) -> DossierChanged:
        ident = parse_id(dossier_id, "id")
        # Row access first: a dossier the caller may not read does not exist for them.
        held = await queries.dossier_for(session, ctx.actor, ident)
        if held is None:
            raise DomainNotFound("hồ sơ", str(dossier_id))
        act = ActContext(
            actor=ctx.actor,
            now=ctx.now,
            calendar=ctx.calendar,
            expected_version=expected_version,
            comment=comment,
        )

        async def replay(_: dict[str, Any]) -> DossierRow:
            return held  # the dossier the first request changed, already read above

        retry = idempotency.Retry.of(
            idempotency_key,
            actor=ctx.actor.label,
            operation=operation,
            arguments={"id": str(ident), **(request or {})},
        )
        row, replayed = await idempotency.once(
            session,
            retry,
            lambda: command(session, ident, act),
            answer=lambda _: {"dossierId": str(ident)},
            replay=replay,
            now=ctx.now,
        )
        return DossierChanged(dossier=Dossier(row=row), replayed=replayed)

    return await run_command(info, run)  # type: ignore[return-value]


# --- queries ----------------------------------------------------------------------------------------


@strawberry.type
class DossierQuery:
    @strawberry.field(description="Một hồ sơ (của mình, hoặc cơ quan mình xử lý).", extensions=PERSON)
    async def dossier(self, info: Info[Context, None], id: strawberry.ID) -> Dossier | None:
        try:
            ident = uuid.UUID(str(id))
        except ValueError:
            return None
        async with info.context.db.session() as session:
            row = await queries.dossier_for(session, info.context.actor, ident)
        return Dossier(row=row) if row else None

    @strawberry.field(
        description="Tìm hồ sơ: của mình (công dân) hoặc của cơ quan (cán bộ); mới nhất trước.",
        extensions=PERSON,
    )
    async def dossiers(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        filter: DossierFilterInput | None = None,
    ) -> DossierConnection:
        f = filter or DossierFilterInput()
        flt = queries.DossierFilter(
            code=f.code,
            applicant=f.applicant,
            procedure_code=f.procedure_code,
            status=f.status,
            overdue=f.overdue,
            near_deadline=f.near_deadline,
            received_from=f.received_from,
            received_to=f.received_to,
        )
        ctx = info.context
        try:
            async with ctx.db.session() as session:
                page = await queries.search(session, ctx.actor, flt, now=ctx.now, first=first, after=after)
        except DomainValidationFailed as error:
            raise ClientError.of(error) from error
        return _page(page)

    @strawberry.field(
        description="Hộp việc: hồ sơ người gọi xử lý được lúc này, hạn gần nhất trước.", extensions=PERSON
    )
    async def inbox(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> DossierConnection:
        ctx = info.context
        try:
            async with ctx.db.session() as session:
                page = await queries.inbox(session, ctx.actor, first=first, after=after)
        except DomainValidationFailed as error:
            raise ClientError.of(error) from error
        return _page(page)

    @strawberry.field(
        description="Tra cứu công khai theo mã hồ sơ: trạng thái không có thông tin cá nhân; kèm số định "
        "danh của người nộp hoặc mã bí mật trên QR thì trả cả hồ sơ. Ứng dụng cần phạm vi "
        "dossier-status:read.",
        extensions=DOSSIER_STATUS,
    )
    async def dossier_status(
        self, info: Info[Context, None], code: str, id_number: str | None = None, secret: str | None = None
    ) -> DossierLookup | None:
        ctx = info.context
        await check_lookup_rate(ctx)
        async with ctx.db.autocommit() as connection:
            found = await queries.public_status(connection, code, id_number=id_number, secret=secret)
        if found is None:
            return None
        full = None
        if found.full:  # the applicant's view (the second factor matched): the whole row
            async with ctx.db.session() as session:
                full = await session.get(DossierRow, found.dossier_id)
        public = DossierPublicStatus(
            code=found.code,
            procedure_name=found.procedure_name,
            agency_name=found.agency_name,
            status=found.status,
            status_label=STATUS_LABELS[found.status],
            received_at=found.received_at,
            appointment_at=found.appointment_at,
            finished_at=found.finished_at,
        )
        return DossierLookup(public=public, dossier=Dossier(row=full) if full is not None else None)


# --- mutations ----------------------------------------------------------------------------------------


DraftResult = Annotated[
    DossierChanged | ValidationFailed | NotFound,
    strawberry.union("DossierDraftResult", description="Kết quả lưu hồ sơ nháp."),
]


@strawberry.type
class DossierMutation:
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
                components=_components(input.components),
                delivery_method=input.delivery_method,
            )
            dossier = await submission.save_draft(
                session, ctx.actor, data, now=ctx.now, dossier_id=parse_id(id, "id") if id else None
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
        return await _dossier_act(info, "submit", id, expected_version, idempotency_key, submission.submit)

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
                components=_components(components),
                channel=Channel.POST if by_post else Channel.COUNTER,
                now=ctx.now,
                calendar=ctx.calendar,
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
        return await _dossier_act(info, "receive", id, expected_version, idempotency_key, reception.receive)

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

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await completion.request_completion(session, ident, ctx, act)

        return await _dossier_act(
            info, "request_completion", id, expected_version, idempotency_key, command, {"items": items}
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

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await reception.refuse_receipt(session, ident, ctx, act)

        return await _dossier_act(
            info, "refuse_receipt", id, expected_version, idempotency_key, command, {"reasons": reasons}
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
        parts = _components(components)
        data = form_data if isinstance(form_data, dict) else None

        act = acts.Resubmit(parts, data)

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await completion.resubmit(session, ident, ctx, act)

        return await _dossier_act(
            info,
            "resubmit",
            id,
            expected_version,
            idempotency_key,
            command,
            {"components": [str(c) for c in parts], "formData": data},
        )

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

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await processing.assign(session, ident, ctx, act)

        return await _dossier_act(
            info, "assign", id, expected_version, idempotency_key, command, {"assignee": str(who)}
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

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await processing.forward(session, ident, ctx, act)

        return await _dossier_act(
            info,
            "forward",
            id,
            expected_version,
            idempotency_key,
            command,
            {"assignee": str(who), "comment": comment},
            comment=comment,
        )

    @strawberry.mutation(description="Trả hồ sơ về bước trước.", extensions=PERSON)
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

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await processing.send_back(session, ident, ctx, act)

        return await _dossier_act(
            info,
            "send_back",
            id,
            expected_version,
            idempotency_key,
            command,
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
    ) -> DossierActResult:
        act = acts.RequestSupplement(tuple(items))

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await completion.request_supplement(session, ident, ctx, act)

        return await _dossier_act(
            info, "request_supplement", id, expected_version, idempotency_key, command, {"items": items}
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
        parts = _components(components)

        act = acts.Supplement(parts)

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await completion.supplement(session, ident, ctx, act)

        return await _dossier_act(
            info,
            "supplement",
            id,
            expected_version,
            idempotency_key,
            command,
            {"components": [str(c) for c in parts]},
        )

    @strawberry.mutation(
        description="Xin lỗi và hẹn lại ngày trả kết quả (hồ sơ vẫn tính là quá hạn).", extensions=PERSON
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

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await apology.apologize(session, ident, ctx, act)

        return await _dossier_act(
            info,
            "apologize",
            id,
            expected_version,
            idempotency_key,
            command,
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

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await results.approve(session, ident, ctx, act)

        return await _dossier_act(
            info,
            "approve",
            id,
            expected_version,
            idempotency_key,
            command,
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

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await results.refuse(session, ident, ctx, act)

        return await _dossier_act(
            info, "refuse", id, expected_version, idempotency_key, command, {"reasons": reasons}
        )

    @strawberry.mutation(
        description="Trả kết quả (ONLINE, POST hoặc COUNTER theo thủ tục) và kết thúc hồ sơ.",
        extensions=PERSON,
    )
    async def dossier_return(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        method: str,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> DossierActResult:
        act = acts.ReturnResult(method)

        async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
            return await results.return_result(session, ident, ctx, act)

        return await _dossier_act(
            info, "return", id, expected_version, idempotency_key, command, {"method": method}
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
        return await _dossier_act(
            info,
            "withdraw",
            id,
            expected_version,
            idempotency_key,
            withdrawal.withdraw,
            {"reason": reason},
            comment=reason,
        )


# --- subscriptions ------------------------------------------------------------------------------------


async def dossier_changes(
    info: Info[Context, None],
    id: strawberry.ID | None,
    code: str | None,
    id_number: str | None,
    secret: str | None,
) -> AsyncGenerator[Dossier, None]:
    ctx = info.context
    if ctx.broker is None:
        raise ClientError("Máy chủ không hỗ trợ nhận thay đổi trực tiếp.", "UNAVAILABLE")

    async def current() -> Dossier | None:
        await ctx.db.finish(commit=False)
        ctx.loaders = Loaders(ctx.db)
        # One statement: no snapshot to share, so a connection in autocommit spares the BEGIN and
        # ROLLBACK round trips, once per subscriber per change (the row has no lazy attributes).
        async with ctx.db.autocommit() as connection:
            session = AsyncSession(bind=connection, expire_on_commit=False)
            try:
                if id is not None:
                    try:
                        row = await queries.dossier_for(session, ctx.actor, uuid.UUID(str(id)))
                    except ValueError:
                        row = None
                elif code is not None:
                    found = await queries.lookup(session, code, id_number=id_number, secret=secret)
                    row = found.dossier if found and found.full else None
                else:
                    row = None
            finally:
                await session.close()
        return Dossier(row=row) if row else None

    first = await current()
    if first is None:
        raise ClientError("Không tìm thấy hồ sơ.", "NOT_FOUND")
    key = str(first.row.id)
    async with ctx.broker.subscribe("dossier", key) as queue:
        latest = await current()  # re-read after subscribing: nothing committed in between is lost
        yield latest or first
        try:
            while True:
                # Resumed once the state sent is resolved: give its connection back to the pool
                # before waiting (an idle subscriber must not hold one, there are many).
                await ctx.db.finish(commit=False)
                await queue.get()
                while not queue.empty():
                    queue.get_nowait()
                changed = await current()
                if changed is not None:
                    yield changed
        finally:
            await ctx.db.finish(commit=False)


@strawberry.type
class DossierSubscription:
    @strawberry.subscription(
        description="Trạng thái hồ sơ trực tiếp: trạng thái hiện tại, rồi mỗi thay đổi đã ghi. Theo `id` "
        "(người nộp, cán bộ có thẩm quyền) hoặc theo `code` kèm số định danh người nộp hoặc mã trên QR. "
        "Ứng dụng cần phạm vi dossier-status:read.",
        extensions=DOSSIER_STATUS,
    )
    async def dossier_status_changed(
        self,
        info: Info[Context, None],
        id: strawberry.ID | None = None,
        code: str | None = None,
        id_number: str | None = None,
        secret: str | None = None,
    ) -> AsyncGenerator[Dossier, None]:
        async for item in dossier_changes(info, id, code, id_number, secret):
            yield item

    @strawberry.subscription(
        description="Hộp việc của một cơ quan: mỗi hồ sơ của cơ quan vừa thay đổi (cán bộ của cơ quan đó)."
    )
    async def inbox_changed(
        self, info: Info[Context, None], agency_code: str
    ) -> AsyncGenerator[Dossier, None]:
        ctx = info.context
        if ctx.broker is None:
            raise ClientError("Máy chủ không hỗ trợ nhận thay đổi trực tiếp.", "UNAVAILABLE")
        agency = await ctx.loaders.agency_by_code.load(agency_code)
        if agency is None or (
            not any(ctx.actor.has_role(role, agency.id) for role in queries.STAFF_ROLES)
            and not ctx.actor.is_system_admin
        ):
            raise ClientError("Bạn không thuộc cơ quan này.", "FORBIDDEN")
        async with ctx.broker.subscribe("inbox", str(agency.id)) as queue:
            try:
                while True:
                    await ctx.db.finish(commit=False)  # no connection held while waiting
                    event = await queue.get()
                    await ctx.db.finish(commit=False)
                    ctx.loaders = Loaders(ctx.db)
                    try:
                        changed = uuid.UUID(str(event.get("ref")))
                    except ValueError:
                        continue
                    async with ctx.db.session() as session:
                        row = await queries.dossier_for(session, ctx.actor, changed)
                    if row is not None:
                        yield Dossier(row=row)
            finally:
                await ctx.db.finish(commit=False)


@strawberry.input(description="Điểm của một tiêu chí (1 rất không hài lòng … 5 rất hài lòng).")
class ScoreInput:
    criterion: str = strawberry.field(description="RECEPTION, GUIDANCE, TIMELINESS, RESULT hoặc ATTITUDE.")
    score: int = strawberry.field(description="Điểm 1–5.")


@strawberry.type(description="Đánh giá đã ghi nhận.")
class DossierRated:
    overall: float = strawberry.field(description="Điểm trung bình.")
    at: datetime = strawberry.field(description="Thời điểm đánh giá.")


@strawberry.type(description="Mức độ hài lòng tổng hợp.")
class SatisfactionSummary:
    ratings: int = strawberry.field(description="Số lượt đánh giá.")
    overall: float | None = strawberry.field(description="Điểm trung bình (1–5).")
    by_criterion: JSON = strawberry.field(description="Điểm trung bình theo tiêu chí.")


RateResult = Annotated[
    DossierRated | ValidationFailed | NotFound | Refused,
    strawberry.union("DossierRateResult", description="Kết quả đánh giá."),
]


@strawberry.type
class RatingMutation:
    @strawberry.mutation(
        description="Người nộp đánh giá mức độ hài lòng sau khi nhận kết quả (một lần).", extensions=PERSON
    )
    async def dossier_rate(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        scores: list[ScoreInput],
        comment: str | None = None,
    ) -> RateResult:
        ctx = info.context

        async def command(session: AsyncSession) -> DossierRated:
            row = await ratings.rate(
                session,
                ctx.actor,
                parse_id(id, "id"),
                {s.criterion: s.score for s in scores},
                comment,
                now=ctx.now,
            )
            return DossierRated(overall=row.overall, at=row.at)

        return await run_command(info, command)  # type: ignore[return-value]


@strawberry.type
class RatingQuery:
    @strawberry.field(
        description="Mức độ hài lòng tổng hợp (công khai): theo cơ quan, thủ tục, cán bộ xử lý, kỳ."
    )
    async def satisfaction(
        self,
        info: Info[Context, None],
        agency_code: str | None = None,
        procedure_code: str | None = None,
        officer_id: strawberry.ID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> SatisfactionSummary:
        officer = None
        if officer_id is not None:
            try:
                officer = uuid.UUID(str(officer_id))
            except ValueError:
                raise ClientError("Mã cán bộ không hợp lệ.", "BAD_ID") from None
        async with info.context.db.session() as session:
            found = await ratings.satisfaction(
                session,
                agency_code=agency_code,
                procedure_code=procedure_code,
                officer_id=officer,
                since=since,
                until=until,
            )
        return SatisfactionSummary(
            ratings=found.ratings, overall=found.overall, by_criterion=JSON(found.by_criterion)
        )
