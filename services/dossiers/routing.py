"""Reception anywhere in the province (Decree 118/2025): which one-stop unit receives a dossier and
which agency settles it.

Under the policy (RECEPTION_ANYWHERE_IN_PROVINCE, on by default) any one-stop unit of the province
receives a dossier of any procedure of the province, whatever the administrative boundary, and
routes it to the competent agency. The dossier's code and appointment follow the receiving unit
(its electronic id, its calendar); the workflow's COMPETENT steps go to the competent agency. With
the policy off, only the units a procedure lists — or, none listed, the one-stop units at its
levels — receive it, as before 1 July 2025.

The competent agency of a dossier is the one the procedure names; a procedure that names none
(handled at each commune, or at both levels) is settled by the agency the dossier is routed to:
the receiving unit when it serves the procedure itself, else the one chosen at submission among
those that serve it (its listed receiving units, or the one-stop units at its levels).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Agency, ProcedureReceivingAgency, ProcedureVersion
from models.dossiers import Dossier
from services.errors import FieldIssue, ValidationFailed


@dataclass(frozen=True)
class Route:
    receiving: Agency  # the one-stop unit: the dossier's code, appointment and counter
    competent_id: uuid.UUID  # where the COMPETENT steps go


def competent_agency_id(dossier: Dossier, version: ProcedureVersion) -> uuid.UUID:
    """The agency that settles a dossier (what D's figures and the workflow read): the one routed
    at submission; for dossiers from before routing, the procedure's, else the receiving unit."""
    return dossier.competent_agency_id or version.competent_agency_id or dossier.receiving_agency_id


async def _serving(session: AsyncSession, version: ProcedureVersion) -> tuple[bool, set[uuid.UUID]]:
    """(listed, ids): the units a procedure lists, or — none listed — the one-stop units at its
    levels."""
    listed = set(
        await session.scalars(
            select(ProcedureReceivingAgency.agency_id).where(
                ProcedureReceivingAgency.version_id == version.id
            )
        )
    )
    if listed:
        return True, listed
    at_levels = await session.scalars(
        select(Agency.id).where(Agency.is_one_stop_unit, Agency.level_code.in_(version.levels))
    )
    return False, set(at_levels)


async def route(
    session: AsyncSession,
    version: ProcedureVersion,
    receiving_code: str,
    competent_code: str | None = None,
    *,
    anywhere: bool = True,
) -> Route:
    """The receiving unit and the competent agency of a new dossier (field errors otherwise)."""
    agency = await session.scalar(select(Agency).where(Agency.code == receiving_code))
    if agency is None or not agency.is_one_stop_unit:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("receivingAgencyCode",), "NOT_RECEIVING", "Cơ quan này không tiếp nhận thủ tục đã chọn."
                )
            ]
        )
    _, serving = await _serving(session, version)
    serves = agency.id in serving
    if not serves and not anywhere:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("receivingAgencyCode",), "NOT_RECEIVING", "Cơ quan này không tiếp nhận thủ tục đã chọn."
                )
            ]
        )
    chosen = None
    if competent_code:
        chosen = await session.scalar(select(Agency.id).where(Agency.code == competent_code))
    if version.competent_agency_id is not None:
        if competent_code and chosen != version.competent_agency_id:
            raise _not_competent()
        return Route(agency, version.competent_agency_id)
    if competent_code:
        if chosen is None or chosen not in serving:
            raise _not_competent()
        return Route(agency, chosen)
    if serves:
        return Route(agency, agency.id)
    raise ValidationFailed(
        [
            FieldIssue(
                ("competentAgencyCode",),
                "REQUIRED",
                "Thủ tục do cơ quan khác giải quyết: chọn cơ quan có thẩm quyền giải quyết để chuyển hồ sơ.",
            )
        ]
    )


def _not_competent() -> ValidationFailed:
    return ValidationFailed(
        [
            FieldIssue(
                ("competentAgencyCode",),
                "NOT_COMPETENT",
                "Cơ quan này không có thẩm quyền giải quyết thủ tục đã chọn.",
            )
        ]
    )
