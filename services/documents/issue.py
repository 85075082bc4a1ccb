"""Issue the official slips of a dossier.

Slips are generated on demand from the dossier as it stands, in the form set it was received
under (`services.documents.forms`: Circular 01/2018 before 15 September 2025, Circular 03/2025
from then; a dossier not yet received takes the set of its submission), and stored with it.
Paper conversions (Decree 45/2020 art. 18) live in `services.documents.paper`.
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
from models.catalog import Agency, ProcedureComponent, ProcedureVersion
from models.dossiers import (
    AttachmentKind,
    Dossier,
    DossierAttachment,
    DossierEvent,
    DossierStep,
    StoredFile,
)
from services.documents import form_data, forms, registers, slips
from services.documents.forms import FormKind
from services.dossiers import acts
from services.dossiers.queries import dossier_for, trail_of
from services.errors import NotFound, Refused
from services.files import store_bytes
from storage.s3 import ObjectStore


class SlipForm(enum.Enum):
    RECEIPT = "RECEIPT"  # mẫu 01
    COMPLETION_REQUEST = "COMPLETION_REQUEST"  # mẫu 02
    REFUSAL_OF_RECEIPT = "REFUSAL_OF_RECEIPT"  # mẫu 03 (03/2025: refusal to receive or to settle)
    APOLOGY = "APOLOGY"  # mẫu 04
    STOP_NOTICE = "STOP_NOTICE"  # mẫu 05 of Circular 03/2025 (withdrawn or stopped)
    CONTROL_SLIP = "CONTROL_SLIP"  # mẫu 05 (01/2018), 06 (03/2025)


_KIND = {
    SlipForm.RECEIPT: FormKind.RECEIPT,
    SlipForm.COMPLETION_REQUEST: FormKind.COMPLETION_REQUEST,
    SlipForm.REFUSAL_OF_RECEIPT: FormKind.REFUSAL,
    SlipForm.APOLOGY: FormKind.APOLOGY,
    SlipForm.STOP_NOTICE: FormKind.STOP_NOTICE,
    SlipForm.CONTROL_SLIP: FormKind.CONTROL_SLIP,
}

_REPORTED_ACTIONS = {
    SlipForm.RECEIPT: ("RECEIVE",),
    SlipForm.COMPLETION_REQUEST: ("REQUEST_COMPLETION",),
    SlipForm.REFUSAL_OF_RECEIPT: ("REFUSE_RECEIPT", "REFUSE"),
    SlipForm.APOLOGY: ("APOLOGIZE",),
    SlipForm.STOP_NOTICE: ("WITHDRAW",),
}


def form_set_of(dossier: Dossier, zone: ZoneInfo) -> forms.FormSet:
    """The form set a dossier's slips are printed in: the one in force on its reception day (not
    yet received: its submission day, else its creation day)."""
    moment = dossier.received_at or dossier.submitted_at or dossier.created_at
    return forms.set_on(moment.astimezone(zone).date())


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
    form_set = form_set_of(dossier, zone)
    template = form_set.form(_KIND[form])
    if template is None:
        raise Refused("NOT_IN_FORM_SET", f"Bộ biểu mẫu theo {form_set.circular} không có mẫu này.")
    events = await trail_of(session, dossier.id)
    event = _event_for(form, events)
    if dossier.code is None and form not in (
        SlipForm.REFUSAL_OF_RECEIPT,
        SlipForm.COMPLETION_REQUEST,
        SlipForm.STOP_NOTICE,
    ):
        raise Refused("NOT_RECEIVED", "Hồ sơ chưa được tiếp nhận.")
    slip = _Slip(
        form=form,
        template=template,
        dossier=dossier,
        head=await form_data.slip_dossier(session, dossier, base_url, zone),
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
    template: forms.FormTemplate
    dossier: Dossier
    head: slips.SlipDossier
    events: Sequence[DossierEvent]
    event: DossierEvent | None  # the act the slip reports (forms 01–04)
    officer: str  # who took that act, or who asks for the slip


def _event_for(form: SlipForm, events: Sequence[DossierEvent]) -> DossierEvent | None:
    """The latest act a slip reports (None for the control slip, which reports them all)."""
    needed = _REPORTED_ACTIONS.get(form)
    if needed is None:
        return None
    event = next((e for e in reversed(events) if e.action in needed), None)
    if event is None:
        raise Refused("NOT_APPLICABLE", "Hồ sơ chưa có thao tác tương ứng với phiếu này.")
    return event


async def _render(session: AsyncSession, slip: _Slip, *, zone: ZoneInfo) -> bytes:
    """The slip's PDF, in its form set's template."""
    head, event, officer, form = slip.head, slip.event, slip.officer, slip.template
    if slip.form is SlipForm.RECEIPT:
        components = await _received_components(session, slip.dossier)
        return slips.receipt(head, components, officer=officer, zone=zone, form=form)
    if slip.form is SlipForm.CONTROL_SLIP:
        rows = await _control_rows(session, slip.dossier, slip.events)
        return registers.control_slip(head, rows, zone=zone, form=form)
    assert event is not None
    if slip.form is SlipForm.COMPLETION_REQUEST:
        completion = acts.completion_items(event.data)
        return slips.completion_request(
            head, completion.items, officer=officer, at=event.at, zone=zone, form=form
        )
    if slip.form is SlipForm.REFUSAL_OF_RECEIPT:
        refusal = acts.refusal_reasons(event.data)
        return slips.refusal_of_receipt(
            head, refusal.reasons, officer=officer, at=event.at, zone=zone, form=form
        )
    if slip.form is SlipForm.STOP_NOTICE:
        reason = "Theo đề nghị rút hồ sơ của Ông/Bà" + (f": {event.comment}" if event.comment else ".")
        signer = slips.Signer(agency=head.agency_name)
        return slips.stop_notice(head, reason, event.at, signer=signer, zone=zone, form=form)
    apology = acts.apology(event.data, event.comment)
    return slips.apology(
        head,
        apology.reason,
        apology.new_appointment,
        signer=_apology_signer(event, head),
        at=event.at,
        zone=zone,
        form=form,
    )


def _apology_signer(event: DossierEvent, head: slips.SlipDossier) -> slips.Signer:
    """The signer the apology recorded (`services.dossiers.apology`); an apology recorded before
    the signer was kept is signed by the officer who recorded it, for the receiving unit."""
    kept = event.data.get("signer")
    if not isinstance(kept, dict):
        return slips.Signer(agency=head.agency_name, name=event.actor_label)
    return slips.Signer(agency=kept["agency"], title=kept["title"], name=kept.get("name"))


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
    """Sổ theo dõi hồ sơ (form 06 of Circular 01/2018, 07 of 03/2025 — the set in force at the
    period's end): the dossiers an agency received in a period, for its staff."""
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
    found = await session.execute(
        select(Dossier, ProcedureVersion.name)
        .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
        .where(
            Dossier.receiving_agency_id == agency.id, Dossier.received_at >= start, Dossier.received_at < end
        )
        .order_by(Dossier.received_at)
    )
    rows = await form_data.book_rows(session, [(d, n) for d, n in found.all()], agency)
    period = f"từ {start.astimezone(zone):%d/%m/%Y} đến {end.astimezone(zone):%d/%m/%Y}"
    template = forms.set_on(end.astimezone(zone).date()).form(forms.FormKind.TRACKING_BOOK)
    pdf = registers.tracking_book(agency.name, period, rows, zone=zone, form=template)
    return await store_bytes(
        session,
        store,
        owner_id=actor.id,
        filename=f"so-theo-doi-{agency.code}.pdf",
        content_type="application/pdf",
        data=pdf,
        now=now,
    )
