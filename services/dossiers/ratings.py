"""Satisfaction with a dossier's handling (Kon Tum art. 22.8; Trà Vinh art. 4.5), feeding the
satisfaction group of the Decision 766 index: rated once, by the applicant, after the result is
returned; aggregated per agency, procedure and officer."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, any_, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.catalog import Agency, Procedure
from models.dossiers import Dossier, DossierEvent, DossierRating, DossierStatus, DossierStep
from services.errors import Issues, NotFound, Refused

# Criteria (tiêu chí): reception, guidance, processing time, result, staff attitude.
CRITERIA = ("RECEPTION", "GUIDANCE", "TIMELINESS", "RESULT", "ATTITUDE")


async def rate(
    session: AsyncSession,
    actor: Actor,
    dossier_id: uuid.UUID,
    scores: Mapping[str, int],
    comment: str | None,
    *,
    now: datetime,
) -> DossierRating:
    dossier = await session.scalar(select(Dossier).where(Dossier.id == dossier_id).with_for_update())
    if dossier is None or actor.id is None or dossier.applicant_account_id != actor.id:
        raise NotFound("hồ sơ", str(dossier_id))
    returned = await session.scalar(
        select(DossierEvent.seq)
        .where(DossierEvent.dossier_id == dossier.id, DossierEvent.action == "RETURN")
        .limit(1)
    )
    if dossier.status is not DossierStatus.CLOSED or returned is None:
        raise Refused("NOT_RETURNED", "Chỉ đánh giá được sau khi nhận kết quả.")
    if await session.scalar(select(DossierRating.id).where(DossierRating.dossier_id == dossier.id)):
        raise Refused("ALREADY_RATED", "Hồ sơ này đã được đánh giá.")
    issues = Issues()
    if set(scores) != set(CRITERIA):
        issues.add(("scores",), "CRITERIA", "Đánh giá đủ các tiêu chí: " + ", ".join(CRITERIA) + ".")
    for criterion, score in scores.items():
        if not 1 <= score <= 5:
            issues.add(
                ("scores", criterion), "OUT_OF_RANGE", "Điểm từ 1 (rất không hài lòng) đến 5 (rất hài lòng)."
            )
    if comment is not None and len(comment) > 2000:
        issues.add(("comment",), "TOO_LONG", "Ý kiến tối đa 2000 ký tự.")
    issues.raise_if_any()
    officers = list(
        await session.scalars(
            select(DossierStep.assignee_id)
            .where(DossierStep.dossier_id == dossier.id, DossierStep.assignee_id.is_not(None))
            .distinct()
        )
    )
    row = DossierRating(
        dossier_id=dossier.id,
        account_id=actor.id,
        agency_id=dossier.receiving_agency_id,
        procedure_id=dossier.procedure_id,
        officer_ids=[o for o in officers if o is not None],
        scores=dict(scores),
        overall=sum(scores.values()) / len(scores),
        comment=(comment or "").strip() or None,
        at=now,
    )
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True)
class Satisfaction:
    ratings: int
    overall: float | None
    by_criterion: dict[str, float]


async def satisfaction(
    session: AsyncSession,
    *,
    agency_code: str | None,
    procedure_code: str | None,
    officer_id: uuid.UUID | None,
    since: datetime | None,
    until: datetime | None,
) -> Satisfaction:
    stmt = select(DossierRating)
    if agency_code:
        stmt = stmt.where(
            DossierRating.agency_id == select(Agency.id).where(Agency.code == agency_code).scalar_subquery()
        )
    if procedure_code:
        stmt = stmt.where(
            DossierRating.procedure_id
            == select(Procedure.id).where(Procedure.code == procedure_code).scalar_subquery()
        )
    if officer_id:
        stmt = stmt.where(literal(officer_id) == any_(DossierRating.officer_ids))
    if since:
        stmt = stmt.where(DossierRating.at >= since)
    if until:
        stmt = stmt.where(DossierRating.at < until)
    rated = stmt.subquery()
    columns = [func.count(), func.avg(rated.c.overall)] + [
        func.avg(cast(rated.c.scores[c].astext, Float)) for c in CRITERIA
    ]
    row = (await session.execute(select(*columns).select_from(rated))).one()
    count, overall, *per = row
    return Satisfaction(
        ratings=int(count),
        overall=round(float(overall), 3) if overall is not None else None,
        by_criterion={c: round(float(v), 3) for c, v in zip(CRITERIA, per, strict=True) if v is not None},
    )
