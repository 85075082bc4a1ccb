"""Feedback and questions: submit, route, answer, publish; follow; read published answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import strawberry
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from auth.actor import Actor, ActorKind
from models.feedback import Inquiry as InquiryRow
from models.feedback import InquiryKind, InquiryStatus
from resolvers.common import parse_id, run_command
from resolvers.lookup_limits import check_lookup_rate
from schema.context import Context
from schema.errors import ClientError
from schema.inputs.feedback import InquiryInput, InquiryRecordInput
from schema.payloads.feedback import InquiryChanged, InquiryResult
from schema.permissions import PERSON
from schema.sql import SQL, Expr, Fallback, Rows, uuid_or_none
from schema.types.feedback import (
    Inquiry,
    InquiryTracking,
    PublishedAnswer,
)
from schema.types.pagination import Connection
from services import idempotency
from services.errors import ValidationFailed as DomainValidationFailed
from services.feedback import access, answers, classification, lifecycle, queries, submission
from services.feedback.classification import Deadlines
from services.feedback.queries import InboxFilter, PublishedFilter
from services.feedback.submission import Submission
from services.pagination import Page, check_first


@contextmanager
def _query_errors() -> Iterator[None]:
    """A bad page size or cursor in a query: a clear client error, not a masked one."""
    try:
        yield
    except DomainValidationFailed as error:
        raise ClientError.of(error) from error


def _deadlines(ctx: Context) -> Deadlines:
    return Deadlines(
        answer_days=ctx.settings.feedback_answer_days, focal_agency_code=ctx.settings.feedback_focal_agency
    )


async def _create(
    info: Info[Context, None],
    operation: str,
    sub: Submission,
    idempotency_key: str | None,
    entry_agency_code: str | None = None,
) -> InquiryResult:
    ctx = info.context

    async def command(session: AsyncSession) -> InquiryChanged:
        async def submit() -> InquiryRow:
            return await submission.submit(
                session,
                ctx.actor,
                sub,
                entry_agency_code=entry_agency_code,
                now=ctx.now,
                calendar=ctx.calendar,
                rules=_deadlines(ctx),
            )

        async def replay(earlier: dict[str, Any]) -> InquiryRow:
            row = await access.inquiry_for(session, ctx.actor, parse_id(str(earlier["inquiryId"]), "id"))
            assert row is not None
            return row

        retry = idempotency.Retry.of(
            idempotency_key,
            actor=ctx.actor.label,
            operation=operation,
            arguments={"sub": repr(sub), "at": entry_agency_code},
        )
        row, replayed = await idempotency.once(
            session, retry, submit, answer=lambda r: {"inquiryId": str(r.id)}, replay=replay, now=ctx.now
        )
        return InquiryChanged(inquiry=Inquiry(row=row), replayed=replayed)

    return await run_command(info, command)  # type: ignore[return-value]


async def _inquiry_act(
    info: Info[Context, None], act: Callable[[AsyncSession], Awaitable[InquiryRow]]
) -> InquiryResult:
    """Run one act on an inquiry (forward, decline, answer, review) as a mutation."""

    async def command(session: AsyncSession) -> InquiryChanged:
        return InquiryChanged(inquiry=Inquiry(row=await act(session)), replayed=False)

    return await run_command(info, command)  # type: ignore[return-value]


@strawberry.type
class FeedbackMutation:
    @strawberry.mutation(
        description="Công dân, tổ chức gửi phản ánh, kiến nghị hoặc câu hỏi; idempotencyKey chống gửi trùng.",
        extensions=PERSON,
    )
    async def inquiry_submit(
        self, info: Info[Context, None], input: InquiryInput, idempotency_key: str | None = None
    ) -> InquiryResult:
        async def sub() -> Submission:
            return Submission(
                kind=input.kind,
                title=input.title,
                content=input.content,
                procedure_code=input.procedure_code,
                agency_code=input.agency_code,
                dossier_id=parse_id(input.dossier_id, "dossierId") if input.dossier_id else None,
                latitude=input.latitude,
                longitude=input.longitude,
                location=input.location_address,
            )

        return await _guarded(info, sub, lambda s: _create(info, "inquirySubmit", s, idempotency_key))

    @strawberry.mutation(
        description="Cán bộ đầu mối, một cửa nhập phản ánh, câu hỏi nhận qua thư, điện thoại, thư điện tử.",
        extensions=PERSON,
    )
    async def inquiry_record(
        self, info: Info[Context, None], input: InquiryRecordInput, idempotency_key: str | None = None
    ) -> InquiryResult:
        async def sub() -> Submission:
            return Submission(
                kind=input.kind,
                channel=input.channel,
                title=input.title,
                content=input.content,
                name=input.name,
                email=input.email,
                phone=input.phone,
                address=input.address,
                procedure_code=input.procedure_code,
                agency_code=input.agency_code,
                dossier_id=parse_id(input.dossier_id, "dossierId") if input.dossier_id else None,
            )

        return await _guarded(
            info,
            sub,
            lambda s: _create(info, "inquiryRecord", s, idempotency_key, input.receiving_agency_code),
        )

    @strawberry.mutation(
        description="Đầu mối phân loại và chuyển cơ quan có thẩm quyền (trong 03 ngày làm việc).",
        extensions=PERSON,
    )
    async def inquiry_forward(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        competent_agency_code: str,
        field_code: str | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> InquiryResult:
        ctx = info.context
        return await _inquiry_act(
            info,
            lambda s: classification.forward(
                s,
                ctx.actor,
                parse_id(id, "id"),
                competent_agency_code=competent_agency_code,
                field_code=field_code,
                note=note,
                version=expected_version,
                now=ctx.now,
                calendar=ctx.calendar,
                rules=_deadlines(ctx),
            ),
        )

    @strawberry.mutation(
        description="Đầu mối không xử lý (không thuộc phạm vi: khiếu nại, tố cáo, trùng lặp…), nêu lý do.",
        extensions=PERSON,
    )
    async def inquiry_decline(
        self, info: Info[Context, None], id: strawberry.ID, reason: str, expected_version: int | None = None
    ) -> InquiryResult:
        ctx = info.context
        return await _inquiry_act(
            info,
            lambda s: classification.decline(
                s, ctx.actor, parse_id(id, "id"), reason=reason, version=expected_version, now=ctx.now
            ),
        )

    @strawberry.mutation(description="Cơ quan có thẩm quyền trả lời.", extensions=PERSON)
    async def inquiry_answer(
        self, info: Info[Context, None], id: strawberry.ID, text: str, expected_version: int | None = None
    ) -> InquiryResult:
        ctx = info.context
        return await _inquiry_act(
            info,
            lambda s: answers.answer(
                s, ctx.actor, parse_id(id, "id"), text=text, version=expected_version, now=ctx.now
            ),
        )

    @strawberry.mutation(
        description="Đầu mối duyệt: công khai trả lời (tự ẩn thông tin cá nhân, có thể biên tập) hoặc "
        "trả lại cơ quan vì trả lời chưa phù hợp.",
        extensions=PERSON,
    )
    async def inquiry_review(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        publish: bool,
        reason: str | None = None,
        public_title: str | None = None,
        public_question: str | None = None,
        public_answer: str | None = None,
        expected_version: int | None = None,
    ) -> InquiryResult:
        ctx = info.context
        return await _inquiry_act(
            info,
            lambda s: answers.review(
                s,
                ctx.actor,
                parse_id(id, "id"),
                publish=publish,
                reason=reason,
                public_title=public_title,
                public_question=public_question,
                public_answer=public_answer,
                version=expected_version,
                now=ctx.now,
            ),
        )


async def _guarded(
    info: Info[Context, None],
    build: Callable[[], Awaitable[Submission]],
    then: Callable[[Submission], Awaitable[InquiryResult]],
) -> InquiryResult:
    """Input conversion errors (a malformed ID) become the typed result too."""

    async def command(_: AsyncSession) -> Submission:
        return await build()

    sub = await run_command(info, command)
    if not isinstance(sub, Submission):
        return sub  # type: ignore[return-value]
    return await then(sub)


def _inquiries(page: Page[Any]) -> Connection[Inquiry]:
    return Connection.of(page, lambda row: Inquiry(row=row))


# --- the root fields in SQL (schema.sql.Rows: the compiled read path) ------------------------------

# The key `services.feedback.queries` puts in an inquiry's cursor: `received_at.isoformat()` of
# the row as the driver gives it (UTC; no fraction when there is none), `|`, the id.
RECEIVED_KEY = Expr(
    """to_char({row}.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')"""
    " || CASE WHEN to_char({row}.received_at, 'US') = '000000' THEN ''"
    " ELSE to_char({row}.received_at, '.US') END || '+00:00|' || {row}.id::text",
    nullable=False,
)


def _keyset(arguments: Mapping[str, Any]) -> dict[str, Any]:
    first = check_first(arguments["first"])
    after = arguments["after"]
    at, ident = queries.after_key(after) or (None, None)
    return {
        "first": first,
        "limit": first + 1,
        "after_at": at,
        "after_id": ident,
        "has_previous": after is not None,
    }


_PAGE = ("first", "limit", "after_at", "after_id", "has_previous")


def _received_page(actor: Actor, stmt: Select[InquiryRow], p: Mapping[str, Any]) -> Any:
    ordered = queries.ordered(
        stmt, "received_at", after_at=p["after_at"], after_id=p["after_id"], limit=p["limit"]
    )
    return ordered.with_only_columns(InquiryRow.id.label("row"))


def _mine(actor: Actor, arguments: Mapping[str, Any]) -> dict[str, Any]:
    if not queries.reads_own(actor):
        raise Fallback("myInquiries: not a citizen's or organisation's account")  # an empty page
    return {"me": actor.id, **_keyset(arguments)}


MY_INQUIRIES = Rows(
    prepare=_mine,
    select=lambda actor, p: _received_page(actor, queries.mine_rows(actor, p["me"]), p),
    parameters=("me", *_PAGE),
    shape="connection",
    sources={"row": InquiryRow},
    cursor=RECEIVED_KEY,
)


def _staff_inbox(actor: Actor, arguments: Mapping[str, Any]) -> dict[str, Any]:
    if actor.kind is not ActorKind.STAFF:
        raise Fallback("inquiryInbox: not staff")  # an empty page
    status, kind = arguments.get("status"), arguments.get("kind")
    return {
        "me": actor.id,
        "status": None if status is None else InquiryStatus(status),
        "kind": None if kind is None else InquiryKind(kind),
        "overdue": arguments.get("overdue"),
        **_keyset(arguments),
    }


INQUIRY_INBOX = Rows(
    prepare=_staff_inbox,
    select=lambda actor, p: _received_page(
        actor,
        queries.inbox_rows(
            actor, me=p["me"], status=p["status"], kind=p["kind"], overdue=p["overdue"], now=p["now"]
        ),
        p,
    ),
    parameters=("me", "status", "kind", "overdue", *_PAGE),
    shape="connection",
    sources={"row": InquiryRow},
    cursor=RECEIVED_KEY,
)

ONE_INQUIRY = Rows(
    prepare=lambda actor, arguments: {"id": uuid_or_none(arguments["id"]), "me": actor.id},
    select=lambda actor, p: access.inquiry_rows(actor, p["id"], p["me"]).with_only_columns(
        InquiryRow.id.label("row")
    ),
    parameters=("id", "me"),
    sources={"row": InquiryRow},
)


@strawberry.type
class FeedbackQuery:
    @strawberry.field(
        description="Một phản ánh, câu hỏi (của mình, hoặc cơ quan mình xử lý).",
        extensions=PERSON,
        metadata={SQL: ONE_INQUIRY},
    )
    async def inquiry(self, info: Info[Context, None], id: strawberry.ID) -> Inquiry | None:
        try:
            ident = parse_id(id, "id")
        except DomainValidationFailed:  # a malformed ID finds nothing
            return None
        async with info.context.db.session() as session:
            row = await access.inquiry_for(session, info.context.actor, ident)
        return Inquiry(row=row) if row else None

    @strawberry.field(
        description="Phản ánh, câu hỏi mình đã gửi; mới nhất trước.",
        extensions=PERSON,
        metadata={SQL: MY_INQUIRIES},
    )
    async def my_inquiries(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[Inquiry]:
        with _query_errors():
            async with info.context.db.session() as session:
                page = await queries.mine(session, info.context.actor, first=first, after=after)
        return _inquiries(page)

    @strawberry.field(
        description="Cán bộ: phản ánh, câu hỏi chờ phân loại, duyệt (đầu mối) hoặc trả lời "
        "(cơ quan có thẩm quyền).",
        extensions=PERSON,
        metadata={SQL: INQUIRY_INBOX},
    )
    async def inquiry_inbox(
        self,
        info: Info[Context, None],
        status: InquiryStatus | None = None,
        kind: InquiryKind | None = None,
        overdue: bool | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Inquiry]:
        ctx = info.context
        with _query_errors():
            async with ctx.db.session() as session:
                page = await queries.inbox(
                    session,
                    ctx.actor,
                    InboxFilter(status=status, kind=kind, overdue=overdue),
                    now=ctx.now,
                    first=first,
                    after=after,
                )
        return _inquiries(page)

    @strawberry.field(description="Tra cứu tình trạng phản ánh, câu hỏi theo mã theo dõi (công khai).")
    async def inquiry_tracking(self, info: Info[Context, None], code: str) -> InquiryTracking | None:
        await check_lookup_rate(info.context)
        async with info.context.db.read_session() as session:
            row = await queries.by_code(session, code)
        if row is None:
            return None
        return InquiryTracking(
            code=row.code,
            kind=row.kind,
            status=row.status,
            status_label=lifecycle.STATUS_LABELS[row.status],
            received_at=row.received_at,
            classify_due_at=row.classify_due_at,
            forwarded_at=row.forwarded_at,
            answer_due_at=row.answer_due_at,
            published_at=row.published_at,
        )

    @strawberry.field(
        description="Câu trả lời phản ánh, câu hỏi đã công khai (công khai): tìm không dấu, lọc theo loại, "
        "cơ quan, thủ tục, lĩnh vực."
    )
    async def published_answers(
        self,
        info: Info[Context, None],
        search: str | None = None,
        kind: InquiryKind | None = None,
        agency_code: str | None = None,
        procedure_code: str | None = None,
        field_code: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[PublishedAnswer]:
        flt = PublishedFilter(
            search=search,
            kind=kind,
            agency_code=agency_code,
            procedure_code=procedure_code,
            field_code=field_code,
        )
        with _query_errors():
            async with info.context.db.read_session() as session:
                page = await queries.published(session, flt, first=first, after=after)
        return Connection.of(page, lambda row: PublishedAnswer(row=row))
