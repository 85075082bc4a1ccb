"""Issue the official slips of a dossier.

Slips (Circular 01/2018 forms 01–05) are generated on demand from the dossier as it stands, and
stored with it. Paper conversions (Decree 45/2020 art. 18) live in `services.documents.paper`.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from auth.roles import StaffRole
from models.catalog import Agency, Procedure, ProcedureComponent, ProcedureVersion
from models.dossiers import (
    AttachmentKind,
    Dossier,
    DossierAttachment,
    DossierEvent,
    DossierStep,
    StoredFile,
)
from services.documents import slips
from services.dossiers import acts
from services.dossiers.queries import dossier_for, trail_of
from services.errors import NotFound, Refused
from services.files import store_bytes
from storage.s3 import ObjectStore


class SlipForm(enum.Enum):
    RECEIPT = "RECEIPT"  # mẫu 01
    COMPLETION_REQUEST = "COMPLETION_REQUEST"  # mẫu 02
    REFUSAL_OF_RECEIPT = "REFUSAL_OF_RECEIPT"  # mẫu 03
    APOLOGY = "APOLOGY"  # mẫu 04
    CONTROL_SLIP = "CONTROL_SLIP"  # mẫu 05


_REPORTED_ACTION = {
    SlipForm.RECEIPT: "RECEIVE",
    SlipForm.COMPLETION_REQUEST: "REQUEST_COMPLETION",
    SlipForm.REFUSAL_OF_RECEIPT: "REFUSE_RECEIPT",
    SlipForm.APOLOGY: "APOLOGIZE",
}


async def issue_slip(
    session: AsyncSession,
    store: ObjectStore,
    actor: Actor,
    dossier_id: uuid.UUID,
    form: SlipForm,
    *,
    now: datetime,
    zone: ZoneInfo,
    base_url: str,
) -> StoredFile:
    """Render one slip of a dossier the caller may see, as it stands, and attach it to the dossier."""
    dossier = await dossier_for(session, actor, dossier_id)
    if dossier is None:
        raise NotFound("hồ sơ", str(dossier_id))
    events = await trail_of(session, dossier.id)
    event = _event_for(form, events)
    if dossier.code is None and form not in (SlipForm.REFUSAL_OF_RECEIPT, SlipForm.COMPLETION_REQUEST):
        raise Refused("NOT_RECEIVED", "Hồ sơ chưa được tiếp nhận.")
    slip = _Slip(
        form=form,
        dossier=dossier,
        head=await _slip_dossier(session, dossier, base_url),
        events=events,
        event=event,
        officer=event.actor_label if event else actor.label,
    )
    pdf = await _render(session, slip, zone=zone)
    return await _attach(session, store, actor, slip, pdf, now=now)


@dataclass(frozen=True)
class _Slip:
    """What one slip is made from."""

    form: SlipForm
    dossier: Dossier
    head: slips.SlipDossier
    events: Sequence[DossierEvent]
    event: DossierEvent | None  # the act the slip reports (forms 01–04)
    officer: str  # who took that act, or who asks for the slip


def _event_for(form: SlipForm, events: Sequence[DossierEvent]) -> DossierEvent | None:
    """The latest act a slip reports (None for the control slip, which reports them all)."""
    needed = _REPORTED_ACTION.get(form)
    if needed is None:
        return None
    event = next((e for e in reversed(events) if e.action == needed), None)
    if event is None:
        raise Refused("NOT_APPLICABLE", "Hồ sơ chưa có thao tác tương ứng với phiếu này.")
    return event


async def _slip_dossier(session: AsyncSession, dossier: Dossier, base_url: str) -> slips.SlipDossier:
    """What every slip prints about the dossier; a dossier without a code yet gets a stand-in."""
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    procedure = await session.get_one(Procedure, dossier.procedure_id)
    agency = await session.get_one(Agency, dossier.receiving_agency_id)
    code = dossier.code or f"(chưa cấp mã) {str(dossier.id)[:8]}"
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
    )


async def _render(session: AsyncSession, slip: _Slip, *, zone: ZoneInfo) -> bytes:
    """The slip's PDF."""
    head, event, officer = slip.head, slip.event, slip.officer
    if slip.form is SlipForm.RECEIPT:
        components = await _received_components(session, slip.dossier)
        return slips.receipt(head, components, officer=officer, zone=zone)
    if slip.form is SlipForm.CONTROL_SLIP:
        return slips.control_slip(head, await _control_rows(session, slip.dossier, slip.events), zone=zone)
    assert event is not None
    if slip.form is SlipForm.COMPLETION_REQUEST:
        completion = acts.completion_items(event.data)
        return slips.completion_request(head, completion.items, officer=officer, at=event.at, zone=zone)
    if slip.form is SlipForm.REFUSAL_OF_RECEIPT:
        refusal = acts.refusal_reasons(event.data)
        return slips.refusal_of_receipt(head, refusal.reasons, officer=officer, at=event.at, zone=zone)
    apology = acts.apology(event.data, event.comment)
    return slips.apology(
        head, apology.reason, apology.new_appointment, signer=officer, at=event.at, zone=zone
    )


async def _received_components(session: AsyncSession, dossier: Dossier) -> list[slips.SlipComponent]:
    """The components the dossier holds papers for (form 01's table), in the procedure's order."""
    return [
        slips.SlipComponent(c.name, c.copy_type.value, c.count)
        for c in await session.scalars(
            select(ProcedureComponent)
            .join(DossierAttachment, DossierAttachment.component_id == ProcedureComponent.id)
            .where(DossierAttachment.dossier_id == dossier.id, DossierAttachment.removed_at.is_(None))
            .distinct()
            .order_by(ProcedureComponent.position)
        )
    ]


async def _control_rows(
    session: AsyncSession, dossier: Dossier, events: Sequence[DossierEvent]
) -> list[slips.TrailRow]:
    """One row per act of the trail (form 05), with the steps named."""
    steps = {
        s.position: s.name
        for s in await session.scalars(select(DossierStep).where(DossierStep.dossier_id == dossier.id))
    }
    return [
        slips.TrailRow(
            at=e.at,
            action=e.action,
            from_party=e.actor_label,
            to_party=steps.get(e.to_step or 0, e.to_status),
            step=steps.get(e.from_step or 0),
            punctuality=e.punctuality,
            comment=e.comment,
        )
        for e in events
    ]


async def _attach(
    session: AsyncSession, store: ObjectStore, actor: Actor, slip: _Slip, pdf: bytes, *, now: datetime
) -> StoredFile:
    """Store the slip and attach it to the dossier."""
    file = await store_bytes(
        session,
        store,
        owner_id=None,
        filename=f"{slip.form.value.lower()}-{slip.head.code}.pdf",
        content_type="application/pdf",
        data=pdf,
        now=now,
    )
    session.add(
        DossierAttachment(
            dossier_id=slip.dossier.id,
            component_id=None,
            kind=AttachmentKind.SLIP,
            file_id=file.id,
            added_at=now,
            added_by=actor.label,
        )
    )
    await session.flush()
    return file


async def tracking_book(
    session: AsyncSession,
    store: ObjectStore,
    actor: Actor,
    *,
    agency_code: str,
    start: datetime,
    end: datetime,
    now: datetime,
    zone: ZoneInfo,
) -> StoredFile:
    """Sổ theo dõi hồ sơ (form 06): the dossiers an agency received in a period, for its staff."""
    agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
    allowed = agency is not None and (
        actor.is_system_admin
        or any(
            actor.has_role(r, agency.id)
            for r in (StaffRole.RECEPTION_OFFICER, StaffRole.LEADER, StaffRole.STATISTICS_VIEWER)
        )
    )
    if agency is None or not allowed:
        raise NotFound("cơ quan", agency_code)
    if end <= start:
        raise Refused("BAD_PERIOD", "Kỳ theo dõi không hợp lệ.")
    rows = []
    found = await session.execute(
        select(Dossier, ProcedureVersion.name)
        .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
        .where(
            Dossier.receiving_agency_id == agency.id, Dossier.received_at >= start, Dossier.received_at < end
        )
        .order_by(Dossier.received_at)
    )
    for dossier, procedure_name in found.all():
        rows.append(
            slips.BookRow(
                code=dossier.code or "",
                applicant_name=dossier.applicant_name,
                procedure_name=procedure_name,
                received_at=dossier.received_at,
                appointment_at=dossier.appointment_at,
                finished_at=dossier.finished_at,
                status=dossier.status.value,
                punctuality=dossier.punctuality.value if dossier.punctuality else None,
            )
        )
    period = f"từ {start.astimezone(zone):%d/%m/%Y} đến {end.astimezone(zone):%d/%m/%Y}"
    pdf = slips.tracking_book(agency.name, period, rows, zone=zone)
    return await store_bytes(
        session,
        store,
        owner_id=actor.id,
        filename=f"so-theo-doi-{agency.code}.pdf",
        content_type="application/pdf",
        data=pdf,
        now=now,
    )
