"""Satisfaction ratings (đánh giá mức độ hài lòng): the applicant rates once; the summary is public."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.common import parse_id, run_command
from schema.context import Context
from schema.errors import ClientError
from schema.inputs.dossiers import ScoreInput
from schema.payloads.dossiers import DossierRated, RateResult
from schema.permissions import PERSON
from schema.types.dossiers import SatisfactionSummary
from services.dossiers import ratings


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
