"""Nộp hồ sơ: an applicant's online draft and its submission; a dossier handed in whole on paper at
the counter or by post (entered by a one-stop officer), or submitted on the national public
service portal.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.accounts import Account, AccountStatus, CitizenProfile, OrganisationProfile
from models.catalog import Procedure, ProcedureVersion
from models.dossiers import (
    Channel,
    DeliveryStatus,
    Dossier,
    DossierAttachment,
    DossierStatus,
    PaymentStatus,
    SyncStatus,
)
from services.calendar import WorkingCalendar
from services.dossiers.acts import ComponentFiles
from services.dossiers.components import attach, check_complete
from services.dossiers.eligibility import (
    check_delivery,
    payment_status,
    published,
    require_online,
)
from services.dossiers.recording import settle
from services.dossiers.routing import Route, route
from services.dossiers.transition import ActContext, lock, transition
from services.dossiers.workflow import Action
from services.errors import FieldIssue, NotFound, ValidationFailed
from services.holidays import calendar_of_unit


@dataclass(frozen=True)
class DraftData:
    procedure_code: str
    receiving_agency_code: str
    form_data: dict[str, Any]
    components: tuple[ComponentFiles, ...] = ()
    delivery_method: str | None = None
    competent_agency_code: str | None = None  # a procedure settled elsewhere in the province


@dataclass(frozen=True)
class Applicant:
    """Who a counter or postal submission is for (an account is linked when one exists)."""

    name: str
    id_number: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None


# --- online: the draft and its submission ---------------------------------------------------------


async def save_draft(
    session: AsyncSession,
    actor: Actor,
    data: DraftData,
    *,
    now: datetime,
    dossier_id: uuid.UUID | None = None,
    anywhere: bool = True,
) -> Dossier:
    """Create or rework a draft. Nothing is checked for completeness yet: that is submission."""
    if actor.kind not in (ActorKind.CITIZEN, ActorKind.ORGANISATION) or actor.id is None:
        raise ValidationFailed(
            [FieldIssue((), "NOT_APPLICANT", "Chỉ công dân, tổ chức được nộp hồ sơ trực tuyến.")]
        )
    procedure, version = await published(session, data.procedure_code)
    require_online(version)
    routed = await route(
        session, version, data.receiving_agency_code, data.competent_agency_code, anywhere=anywhere
    )
    check_delivery(version, data.delivery_method)
    owed = await payment_status(session, version, Channel.ONLINE)
    if dossier_id is None:
        dossier = await _new_draft(session, actor.id, owed)
    else:
        dossier = await _draft_to_rework(session, actor.id, dossier_id, now)
    dossier.procedure_id = procedure.id
    dossier.procedure_version_id = version.id
    dossier.payment_status = owed  # the procedure may have changed with the rework
    dossier.receiving_agency_id = routed.receiving.id
    dossier.competent_agency_id = routed.competent_id
    dossier.form_data = data.form_data
    dossier.delivery_method = data.delivery_method
    await session.flush()
    await attach(session, dossier, version, data.components, actor=actor, owner_id=actor.id, now=now)
    await session.flush()
    return dossier


async def _new_draft(session: AsyncSession, account_id: uuid.UUID, owed: PaymentStatus) -> Dossier:
    dossier = Dossier(
        id=uuid.uuid4(),
        status=DossierStatus.DRAFT,
        channel=Channel.ONLINE,
        applicant_account_id=account_id,
        payment_status=owed,
        delivery_status=DeliveryStatus.NOT_READY,
        sync_status=SyncStatus.SYNCED,
        lookup_secret=secrets.token_urlsafe(24),
        version=1,
        **await _applicant_snapshot(session, account_id),
    )
    session.add(dossier)
    return dossier


async def _draft_to_rework(
    session: AsyncSession, account_id: uuid.UUID, dossier_id: uuid.UUID, now: datetime
) -> Dossier:
    """The applicant's own draft, locked, its attachments removed (the rework brings them again)."""
    dossier = await lock(session, dossier_id)
    if dossier.applicant_account_id != account_id:
        raise NotFound("hồ sơ", str(dossier_id))
    if dossier.status is not DossierStatus.DRAFT:
        raise ValidationFailed([FieldIssue((), "NOT_DRAFT", "Hồ sơ đã nộp không sửa như bản nháp được.")])
    dossier.version += 1
    for old in await session.scalars(
        select(DossierAttachment).where(
            DossierAttachment.dossier_id == dossier.id, DossierAttachment.removed_at.is_(None)
        )
    ):
        old.removed_at = now
    return dossier


async def _applicant_snapshot(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    """The applicant as they were when they applied (the dossier keeps it as it was)."""
    account = await session.get_one(Account, account_id)
    citizen = await session.get(CitizenProfile, account_id)
    organisation = await session.get(OrganisationProfile, account_id)
    return {
        "applicant_name": account.display_name,
        "applicant_id_number": citizen.citizen_id
        if citizen
        else organisation.tax_code
        if organisation
        else None,
        "applicant_phone": account.phone,
        "applicant_email": account.email,
        "applicant_address": citizen.address if citizen else organisation.address if organisation else None,
    }


async def submit(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext) -> Dossier:
    dossier, steps, previous = await transition(session, dossier_id, Action.SUBMIT, ctx)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    await check_complete(session, dossier, version)
    dossier.submitted_at = ctx.now
    dossier.counts_from = ctx.calendar.counts_from(ctx.now)
    await settle(
        session,
        dossier,
        Action.SUBMIT,
        ctx,
        from_status=previous,
        facts={"countsFrom": dossier.counts_from.isoformat()},
        steps=steps,
    )
    return dossier


# --- handed in whole: at the counter, by post, from the national portal --------------------------


async def register_at_counter(
    session: AsyncSession,
    actor: Actor,
    *,
    procedure_code: str,
    agency_code: str,
    applicant: Applicant,
    form_data: dict[str, Any],
    components: Sequence[ComponentFiles],
    channel: Channel,
    now: datetime,
    calendar: WorkingCalendar,
    unit_calendar: Callable[[uuid.UUID], Awaitable[WorkingCalendar]] | None = None,
    competent_agency_code: str | None = None,
    anywhere: bool = True,
) -> Dossier:
    """A dossier handed in on paper at the counter, or arriving by post, entered by a one-stop
    officer on the applicant's behalf (the scans are the officer's uploads). The deadlines follow
    the receiving unit's calendar: `unit_calendar` gives it (cached), else its hours are read over
    the province's `calendar`."""
    procedure, version = await published(session, procedure_code)
    routed = await route(session, version, agency_code, competent_agency_code, anywhere=anywhere)
    agency = routed.receiving
    calendar = await (unit_calendar or _unit_reader(session, calendar))(agency.id)
    if not actor.has_role(StaffRole.RECEPTION_OFFICER, agency.id):
        raise ValidationFailed(
            [
                FieldIssue(
                    ("receivingAgencyCode",),
                    "NOT_YOUR_UNIT",
                    "Bạn không phải cán bộ một cửa của cơ quan này.",
                )
            ]
        )
    if not applicant.name.strip():
        raise ValidationFailed([FieldIssue(("applicant", "name"), "REQUIRED", "Nhập họ tên người nộp.")])
    account_id = await applicant_account(session, applicant.id_number, organisation=False)
    dossier = await _new_submitted(
        session,
        actor,
        channel=channel,
        account_id=account_id,
        owner_id=actor.id,
        applicant=applicant,
        procedure=procedure,
        version=version,
        routed=routed,
        form_data=form_data,
        delivery_method=None,
        components=components,
        now=now,
        calendar=calendar,
    )
    ctx = ActContext(actor=actor, now=now, calendar=calendar)
    await settle(
        session,
        dossier,
        "REGISTER",
        ctx,
        from_status=None,
        role=StaffRole.RECEPTION_OFFICER.value,
        agency_id=agency.id,
        facts={"channel": channel.value},
        steps=(),  # a new dossier has no steps yet
    )
    return dossier


async def _new_submitted(
    session: AsyncSession,
    actor: Actor,
    *,
    channel: Channel,
    account_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    applicant: Applicant,
    procedure: Procedure,
    version: ProcedureVersion,
    routed: Route,
    form_data: dict[str, Any],
    delivery_method: str | None,
    components: Sequence[ComponentFiles],
    now: datetime,
    calendar: WorkingCalendar,
) -> Dossier:
    """A dossier handed in whole (at the counter, by post, through the national portal):
    SUBMITTED, its components attached (files owned by `owner_id`) and checked complete. The
    caller writes the act that brought it."""
    dossier = Dossier(
        id=uuid.uuid4(),
        status=DossierStatus.SUBMITTED,
        channel=channel,
        applicant_account_id=account_id,
        applicant_name=applicant.name.strip(),
        applicant_id_number=applicant.id_number,
        applicant_phone=applicant.phone,
        applicant_email=applicant.email,
        applicant_address=applicant.address,
        procedure_id=procedure.id,
        procedure_version_id=version.id,
        receiving_agency_id=routed.receiving.id,
        competent_agency_id=routed.competent_id,
        form_data=form_data,
        delivery_method=delivery_method,
        payment_status=await payment_status(session, version, channel),
        delivery_status=DeliveryStatus.NOT_READY,
        sync_status=SyncStatus.PENDING,
        lookup_secret=secrets.token_urlsafe(24),
        submitted_at=now,
        counts_from=calendar.counts_from(now),
        version=1,
    )
    session.add(dossier)
    await session.flush()
    await attach(session, dossier, version, components, actor=actor, owner_id=owner_id, now=now)
    await session.flush()
    await check_complete(session, dossier, version)
    return dossier


def _unit_reader(
    session: AsyncSession, province: WorkingCalendar
) -> Callable[[uuid.UUID], Awaitable[WorkingCalendar]]:
    async def read(agency_id: uuid.UUID) -> WorkingCalendar:
        return await calendar_of_unit(session, province, agency_id)

    return read


async def applicant_account(
    session: AsyncSession, id_number: str | None, *, organisation: bool
) -> uuid.UUID | None:
    """The active account of a citizen (by citizen ID) or an organisation (by tax code), if any."""
    if not id_number:
        return None
    if organisation:
        stmt = (
            select(OrganisationProfile.account_id)
            .join(Account, Account.id == OrganisationProfile.account_id)
            .where(OrganisationProfile.tax_code == id_number, Account.status == AccountStatus.ACTIVE)
        )
    else:
        stmt = (
            select(CitizenProfile.account_id)
            .join(Account, Account.id == CitizenProfile.account_id)
            .where(CitizenProfile.citizen_id == id_number, Account.status == AccountStatus.ACTIVE)
        )
    return await session.scalar(stmt)


async def submit_from_portal(
    session: AsyncSession,
    actor: Actor,
    *,
    procedure_code: str,
    agency_code: str,
    applicant: Applicant,
    account_id: uuid.UUID | None,
    form_data: dict[str, Any],
    components: Sequence[ComponentFiles],
    delivery_method: str | None,
    portal_dossier_id: str,
    now: datetime,
    calendar: WorkingCalendar,
    anywhere: bool = True,
) -> Dossier:
    """A dossier submitted on the national public service portal (Cổng Dịch vụ công quốc gia):
    the same checks as an online submission — a published procedure offered online, a receiving
    unit of it, a delivery method it allows, a valid e-form, every required component with an
    accepted, checked file — then SUBMITTED on the NATIONAL_PORTAL channel, with its SUBMIT event
    and the applicant's acknowledgement. The applicant's account is linked when one exists; else
    the dossier itself holds the applicant (as for counter submissions), and they follow it on the
    portal or by its code."""
    procedure, version = await published(session, procedure_code)
    require_online(version)
    routed = await route(session, version, agency_code, anywhere=anywhere)
    calendar = await calendar_of_unit(session, calendar, routed.receiving.id)  # the receiving unit's hours
    check_delivery(version, delivery_method)
    if not applicant.name.strip():
        raise ValidationFailed([FieldIssue(("applicant", "name"), "REQUIRED", "Thiếu họ tên người nộp.")])
    dossier = await _new_submitted(
        session,
        actor,
        channel=Channel.NATIONAL_PORTAL,
        account_id=account_id,
        owner_id=account_id,
        applicant=applicant,
        procedure=procedure,
        version=version,
        routed=routed,
        form_data=form_data,
        delivery_method=delivery_method,
        components=components,
        now=now,
        calendar=calendar,
    )
    ctx = ActContext(actor=actor, now=now, calendar=calendar)
    assert dossier.counts_from is not None
    await settle(
        session,
        dossier,
        Action.SUBMIT,
        ctx,
        from_status=None,
        facts={
            "channel": Channel.NATIONAL_PORTAL.value,
            "portalDossierId": portal_dossier_id,
            "countsFrom": dossier.counts_from.isoformat(),
        },
        steps=(),  # a new dossier has no steps yet
    )
    return dossier
