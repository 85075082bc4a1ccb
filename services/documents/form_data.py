"""What the official forms print about a dossier, read from the database: the head of every slip
(`slip_dossier`) and the rows of the tracking book (`book_rows`).

Where a form asks for something the dossier does not hold as such, it is derived here:

- form 01's **statutory processing time** ("thời gian giải quyết hồ sơ theo quy định") is the
  processing time of the procedure version the dossier was received under — the reduced online
  time for a dossier submitted online (own portal or the national one) where the catalog sets one;
- **where the result will be collected** ("đăng ký nhận kết quả tại") follows the dossier's chosen
  delivery method: online (the applicant's account and data vault), by post to the applicant's
  address, or at the receiving unit (its address);
- the **tracking-book volume and number** ("vào Sổ theo dõi hồ sơ, quyển số…, số thứ tự…"): one
  volume per receiving unit and calendar year (the volume is the year), the number the dossier's
  rank among that unit's receptions of the year — derived, so it needs no counter and never skips;
- the **lead agency** (cơ quan chủ trì) is the agency of the dossier's last work step (the one that
  settles it); the **partner agencies** (cơ quan phối hợp) are the other agencies of its steps;
- the **contact phone** of form 02 is the receiving unit's published support number.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Agency, Procedure, ProcedureVersion
from models.dossiers import Channel, Dossier, DossierEvent, DossierStep
from services.documents import slips

ONLINE_CHANNELS = (Channel.ONLINE, Channel.NATIONAL_PORTAL)


def processing_time_text(version: ProcedureVersion, channel: Channel) -> str:
    """'05 ngày làm việc', '2,5 ngày làm việc' — the reduced online time for an online dossier."""
    days = version.processing_days
    if channel in ONLINE_CHANNELS and version.online_processing_days is not None:
        days = version.online_processing_days
    value = Decimal(days)
    if value == value.to_integral_value():
        number = f"{int(value):02d}"
    else:
        number = f"{value.normalize():f}".replace(".", ",")
    return f"{number} ngày làm việc"


def result_place(dossier: Dossier, agency: Agency) -> str | None:
    """Where the applicant registered to collect the result (form 01, item 6)."""
    match dossier.delivery_method:
        case "ONLINE":
            return "Trực tuyến, trên tài khoản Cổng Dịch vụ công và kho dữ liệu của Ông/Bà"
        case "POST":
            address = dossier.applicant_address or "địa chỉ đã đăng ký"
            return f"Qua dịch vụ bưu chính công ích, đến {address}"
        case "COUNTER":
            return f"{agency.name}" + (f", {agency.address}" if agency.address else "")
        case _:
            return None


async def book_position(session: AsyncSession, dossier: Dossier, zone: ZoneInfo) -> tuple[str, str] | None:
    """The tracking book's (volume, number) of a received dossier: the year, and its rank among
    the receiving unit's receptions of that year."""
    if dossier.received_at is None:
        return None
    year = dossier.received_at.astimezone(zone).year
    start = datetime(year, 1, 1, tzinfo=zone)
    rank = await session.scalar(
        select(func.count())
        .select_from(Dossier)
        .where(
            Dossier.receiving_agency_id == dossier.receiving_agency_id,
            Dossier.received_at >= start,
            (Dossier.received_at < dossier.received_at)
            | and_(Dossier.received_at == dossier.received_at, Dossier.id <= dossier.id),
        )
    )
    return str(year), f"{rank or 1:04d}"


async def step_agencies(session: AsyncSession, dossier_id: uuid.UUID) -> list[str]:
    """The names of the agencies of the dossier's steps, in step order, each once."""
    found = await session.execute(
        select(Agency.name)
        .join(DossierStep, DossierStep.agency_id == Agency.id)
        .where(DossierStep.dossier_id == dossier_id)
        .order_by(DossierStep.position)
    )
    return list(dict.fromkeys(found.scalars()))


async def slip_dossier(
    session: AsyncSession, dossier: Dossier, base_url: str, zone: ZoneInfo
) -> slips.SlipDossier:
    """What every slip prints about the dossier; a dossier without a code yet gets a stand-in."""
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    procedure = await session.get_one(Procedure, dossier.procedure_id)
    agency = await session.get_one(Agency, dossier.receiving_agency_id)
    code = dossier.code or f"(chưa cấp mã) {str(dossier.id)[:8]}"
    book = await book_position(session, dossier, zone)
    agencies = await step_agencies(session, dossier.id)
    lead = agencies[-1] if agencies else None
    return slips.SlipDossier(
        code=code,
        procedure_code=procedure.code,
        procedure_name=version.name,
        applicant_name=dossier.applicant_name,
        applicant_id=dossier.applicant_id_number,
        applicant_address=dossier.applicant_address,
        applicant_phone=dossier.applicant_phone,
        agency_name=agency.name,
        received_at=dossier.received_at,
        appointment_at=dossier.appointment_at,
        lookup_url=slips.lookup_url(
            base_url,
            code,
            secret=dossier.lookup_secret,
            procedure_code=procedure.code,
            applicant_id=dossier.applicant_id_number,
        ),
        applicant_email=dossier.applicant_email,
        processing_time=processing_time_text(version, dossier.channel),
        result_place=result_place(dossier, agency),
        book_volume=book[0] if book else None,
        book_number=book[1] if book else None,
        contact_phone=agency.support_phone,
        lead_agency=lead,
        partner_agencies=tuple(a for a in agencies if a not in (lead, agency.name)),
    )


async def book_rows(
    session: AsyncSession, found: Sequence[tuple[Dossier, str]], agency: Agency
) -> list[slips.BookRow]:
    """The tracking book's rows: with each dossier's lead agency, its hand-overs to other agencies
    (the forwards that moved it to a step of another agency) and who the result was returned to."""
    ids = [d.id for d, _ in found]
    steps: dict[uuid.UUID, dict[int, str]] = {i: {} for i in ids}
    for dossier_id, position, name in await session.execute(
        select(DossierStep.dossier_id, DossierStep.position, Agency.name)
        .join(Agency, Agency.id == DossierStep.agency_id)
        .where(DossierStep.dossier_id.in_(ids))
    ):
        steps[dossier_id][position] = name
    moves: dict[uuid.UUID, list[tuple[datetime, str]]] = {i: [] for i in ids}
    returned: dict[uuid.UUID, datetime] = {}
    for event in await session.scalars(
        select(DossierEvent)
        .where(DossierEvent.dossier_id.in_(ids), DossierEvent.action.in_(("FORWARD", "SEND_BACK", "RETURN")))
        .order_by(DossierEvent.dossier_id, DossierEvent.at)
    ):
        named = steps[event.dossier_id]
        if event.action == "RETURN":
            returned[event.dossier_id] = event.at
            continue
        before, after = named.get(event.from_step or 0), named.get(event.to_step or 0)
        if after is not None and after != before:
            moves[event.dossier_id].append((event.at, after))
    rows = []
    for dossier, procedure_name in found:
        named = steps[dossier.id]
        rows.append(
            slips.BookRow(
                code=dossier.code or "",
                applicant_name=dossier.applicant_name,
                procedure_name=procedure_name,
                received_at=dossier.received_at,
                appointment_at=dossier.appointment_at,
                finished_at=returned.get(dossier.id),
                status=dossier.status.value,
                punctuality=dossier.punctuality.value if dossier.punctuality else None,
                applicant_address=dossier.applicant_address,
                applicant_phone=dossier.applicant_phone,
                lead_agency=named[max(named)] if named else agency.name,
                handovers=tuple(moves[dossier.id]),
                result_at=dossier.result_at,
                returned_to=dossier.applicant_name if dossier.id in returned else None,
            )
        )
    return rows
