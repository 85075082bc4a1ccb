"""Dossier commands: draft, submit, receive, ask for completion, refuse receipt, process through
the workflow steps, stop the clock for supplements, apologise, approve or refuse, return, withdraw.

Every act begins with `_transition`: lock the dossier row, check the version the caller saw
(optimistic concurrency), ask the workflow guard and move the status; then it applies what it
carries (a typed value of `services.dossiers.acts`), appends a hash-chained trail event (also the
outbox row) and announces the change (delivered by PostgreSQL only after commit).
Commands flush, never commit.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from core.observability import request_id as current_request_id
from models.accounts import Account, AccountStatus, CitizenProfile, OrganisationProfile, StaffAssignment
from models.catalog import (
    Agency,
    OnlineMode,
    PaymentTiming,
    Procedure,
    ProcedureComponent,
    ProcedureFee,
    ProcedureReceivingAgency,
    ProcedureStatus,
    ProcedureVersion,
    StepAgencyRef,
    WorkflowStep,
)
from models.dossiers import (
    AttachmentKind,
    Channel,
    DeliveryStatus,
    Dossier,
    DossierAttachment,
    DossierCodeCounter,
    DossierEvent,
    DossierStatus,
    DossierStep,
    FileStatus,
    PaymentStatus,
    Punctuality,
    StoredFile,
    SyncStatus,
)
from services.calendar import WorkingCalendar
from services.dossiers import acts, fees, trail
from services.dossiers.acts import (
    Act,
    Apologize,
    Approve,
    Assign,
    ComponentFiles,
    Forward,
    Refuse,
    RefuseReceipt,
    RequestCompletion,
    RequestSupplement,
    Resubmit,
    ReturnResult,
    SendBack,
    Supplement,
)
from services.dossiers.fees import ONLINE_CHANNELS
from services.dossiers.notices import tell_applicant
from services.dossiers.workflow import Action, Situation, check
from services.errors import Conflict, FieldIssue, InvalidTransition, Issues, NotFound, ValidationFailed
from services.events import announce
from services.vault import copy_results, vault_file_ids

# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftData:
    procedure_code: str
    receiving_agency_code: str
    form_data: dict[str, Any]
    components: tuple[ComponentFiles, ...] = ()
    delivery_method: str | None = None


@dataclass(frozen=True)
class Applicant:
    """Who a counter or postal submission is for (an account is linked when one exists)."""

    name: str
    id_number: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class ActContext:
    actor: Actor
    now: datetime
    calendar: WorkingCalendar
    expected_version: int | None = None
    comment: str | None = None


# --- reading with the guard's view ----------------------------------------------------------------


async def _locked(session: AsyncSession, dossier_id: uuid.UUID) -> Dossier:
    # FOR NO KEY UPDATE: acts stay serialised, but rows merely referencing the dossier (outbox
    # deliveries) can still be inserted meanwhile. populate_existing: the row may already be in the
    # session (the access check read it before the lock was ours); what another act committed while
    # we waited for the lock must overwrite it, or the version check would compare a stale value.
    dossier = await session.scalar(
        select(Dossier)
        .where(Dossier.id == dossier_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if dossier is None:
        raise NotFound("hồ sơ", str(dossier_id))
    return dossier


async def steps_of(session: AsyncSession, dossier_id: uuid.UUID) -> list[DossierStep]:
    return list(
        await session.scalars(
            select(DossierStep).where(DossierStep.dossier_id == dossier_id).order_by(DossierStep.position)
        )
    )


async def situation(
    session: AsyncSession, dossier: Dossier, steps: Sequence[DossierStep] | None = None
) -> Situation:
    steps = list(steps) if steps is not None else await steps_of(session, dossier.id)
    current = next((s for s in steps if s.position == dossier.current_step), None)
    work = [s.position for s in steps if not _is_reception_step(s, dossier)]
    position = dossier.current_step
    return Situation(
        status=dossier.status,
        applicant_id=dossier.applicant_account_id,
        receiving_agency_id=dossier.receiving_agency_id,
        step_agency_id=current.agency_id if current else None,
        step_role=StaffRole(current.role) if current else None,
        step_assignee_id=current.assignee_id if current else None,
        completion_requested=dossier.completion_requested,
        can_forward=position is not None and any(p > position for p in work),
        can_send_back=position is not None and any(p < position for p in work),
        at_last_step=position is not None and bool(work) and position == max(work),
    )


def _is_reception_step(step: DossierStep, dossier: Dossier) -> bool:
    return step.role == StaffRole.RECEPTION_OFFICER.value and step.agency_id == dossier.receiving_agency_id


# --- the trail ----------------------------------------------------------------------------------


def _record(
    session: AsyncSession,
    dossier: Dossier,
    action: Action | str,
    ctx: ActContext,
    *,
    from_status: DossierStatus | None,
    from_step: int | None = None,
    punctuality: Punctuality | None = None,
    role: str | None = None,
    agency_id: uuid.UUID | None = None,
    act: Act | None = None,
    facts: dict[str, Any] | None = None,
) -> DossierEvent:
    """The act's trail line: what it carried (`acts.payload`) and what the command decided
    (`facts`)."""
    event = DossierEvent(
        dossier_id=dossier.id,
        at=ctx.now,
        action=action.value if isinstance(action, Action) else action,
        actor_id=ctx.actor.id,
        actor_label=ctx.actor.label,
        actor_role=role,
        agency_id=agency_id,
        from_status=from_status.value if from_status else None,
        to_status=dossier.status.value,
        from_step=from_step,
        to_step=dossier.current_step,
        comment=acts.comment(act, ctx.comment),
        punctuality=punctuality.value if punctuality else None,
        data={**acts.payload(act), **(facts or {})},
        prev_hash=dossier.trail_head or trail.GENESIS,
        request_id=current_request_id.get(),
    )
    event.hash = trail.event_hash(event)
    dossier.trail_head = event.hash
    dossier.sync_status = SyncStatus.PENDING
    session.add(event)
    return event


async def _settle(
    session: AsyncSession,
    dossier: Dossier,
    action: Action | str,
    ctx: ActContext,
    *,
    act: Act | None = None,
    steps: Sequence[DossierStep] | None = None,
    **kwargs: Any,
) -> None:
    """The end of every act: its trail line, the applicant told, the announcement (sent only if
    the transaction commits), and a flush so constraint violations surface inside the command.
    `steps`: the dossier's steps when the command holds them (else they are read)."""
    _record(session, dossier, action, ctx, act=act, **kwargs)
    if isinstance(action, Action):
        await tell_applicant(session, dossier, action, act, now=ctx.now, zone=ctx.calendar.zone)
    await _announce(session, dossier, steps)
    await session.flush()


async def _announce(session: AsyncSession, dossier: Dossier, steps: Sequence[DossierStep] | None) -> None:
    await announce(session, "dossier", str(dossier.id))
    await announce(session, "inbox", str(dossier.receiving_agency_id), ref=str(dossier.id))
    if steps is None:
        step = await session.scalar(
            select(DossierStep.agency_id).where(
                DossierStep.dossier_id == dossier.id, DossierStep.position == dossier.current_step
            )
        )
    else:
        step = next((s.agency_id for s in steps if s.position == dossier.current_step), None)
    if step is not None and step != dossier.receiving_agency_id:
        await announce(session, "inbox", str(step), ref=str(dossier.id))


async def record_payment(
    session: AsyncSession, dossier: Dossier, ctx: ActContext, data: dict[str, Any]
) -> None:
    """A confirmed online payment on the dossier's trail (the dossier is locked by the caller)."""
    dossier.payment_status = PaymentStatus.PAID
    dossier.version += 1
    await _settle(session, dossier, "PAY", ctx, from_status=dossier.status, facts=data)


async def record_refund(
    session: AsyncSession, dossier: Dossier, ctx: ActContext, data: dict[str, Any], *, of_the_fees: bool
) -> None:
    """A refund done by the gateway on the dossier's trail (the dossier is locked by the caller);
    `of_the_fees`: the payment that paid the dossier (not a duplicate) is the one given back."""
    if of_the_fees:
        dossier.payment_status = PaymentStatus.REFUNDED
    dossier.version += 1
    await _settle(session, dossier, "REFUND", ctx, from_status=dossier.status, facts=data)


async def lock(session: AsyncSession, dossier_id: uuid.UUID) -> Dossier:
    """The dossier, locked for an act that is not one of the workflow's."""
    return await _locked(session, dossier_id)


# --- drafts and submission ------------------------------------------------------------------------


async def _published(session: AsyncSession, code: str) -> tuple[Procedure, ProcedureVersion]:
    procedure = await session.scalar(select(Procedure).where(Procedure.code == code))
    if procedure is None or procedure.published_version_id is None:
        raise ValidationFailed([FieldIssue(("procedureCode",), "UNKNOWN", "Thủ tục không tồn tại.")])
    if procedure.status is not ProcedureStatus.PUBLISHED:
        raise ValidationFailed(
            [FieldIssue(("procedureCode",), "NOT_AVAILABLE", "Thủ tục đang tạm ngừng hoặc đã bãi bỏ.")]
        )
    return procedure, await session.get_one(ProcedureVersion, procedure.published_version_id)


async def _receiving_agency(session: AsyncSession, version: ProcedureVersion, code: str) -> Agency:
    """A one-stop unit listed for the procedure, or — when none is listed — any one-stop unit at
    one of the procedure's levels."""
    agency = await session.scalar(select(Agency).where(Agency.code == code))
    problem = FieldIssue(
        ("receivingAgencyCode",), "NOT_RECEIVING", "Cơ quan này không tiếp nhận thủ tục đã chọn."
    )
    if agency is None or not agency.is_one_stop_unit:
        raise ValidationFailed([problem])
    listed = list(
        await session.scalars(
            select(ProcedureReceivingAgency.agency_id).where(
                ProcedureReceivingAgency.version_id == version.id
            )
        )
    )
    if listed and agency.id not in listed:
        raise ValidationFailed([problem])
    if not listed and agency.level_code not in version.levels:
        raise ValidationFailed([problem])
    return agency


async def _attach(
    session: AsyncSession,
    dossier: Dossier,
    version: ProcedureVersion,
    components: Sequence[ComponentFiles],
    *,
    actor: Actor,
    owner_id: uuid.UUID | None,
    now: datetime,
    kind: AttachmentKind = AttachmentKind.COMPONENT,
) -> None:
    """Attach stored files to components; files must be ready and the caller's own (staff may
    attach files they uploaded at the counter)."""
    known = {
        c.id: c
        for c in await session.scalars(
            select(ProcedureComponent).where(ProcedureComponent.version_id == version.id)
        )
    }
    issues = Issues()
    wanted = [f for c in components for f in c.file_ids]
    files = {f.id: f for f in await session.scalars(select(StoredFile).where(StoredFile.id.in_(wanted)))}
    # Documents of the applicant's vault are reused as they are, without uploading again.
    from_vault = await vault_file_ids(session, owner_id, wanted)
    for i, comp in enumerate(components):
        definition = known.get(comp.component_id)
        if definition is None:
            issues.add(
                ("components", i, "componentId"), "UNKNOWN", "Thành phần hồ sơ không thuộc thủ tục này."
            )
            continue
        for j, file_id in enumerate(comp.file_ids):
            stored = files.get(file_id)
            path = ("components", i, "fileIds", j)
            mine = stored is not None and (
                stored.owner_account_id in (owner_id, actor.id) or stored.id in from_vault
            )
            if stored is None or not mine:
                issues.add(path, "UNKNOWN", "Không tìm thấy tệp.")
            elif stored.status is not FileStatus.READY:
                issues.add(path, "NOT_READY", "Tệp chưa được kiểm tra xong hoặc đã bị từ chối.")
            elif stored.content_type not in definition.accepted_formats:
                issues.add(
                    path,
                    "FORMAT",
                    f"Định dạng {stored.content_type} không được chấp nhận cho thành phần này.",
                )
            elif stored.size > definition.max_size_bytes:
                issues.add(path, "TOO_LARGE", "Tệp vượt dung lượng cho phép.")
    issues.raise_if_any()
    for comp in components:
        for file_id in comp.file_ids:
            session.add(
                DossierAttachment(
                    dossier_id=dossier.id,
                    component_id=comp.component_id,
                    kind=kind,
                    file_id=file_id,
                    added_at=now,
                    added_by=actor.label,
                )
            )


async def save_draft(
    session: AsyncSession,
    actor: Actor,
    data: DraftData,
    *,
    now: datetime,
    dossier_id: uuid.UUID | None = None,
) -> Dossier:
    """Create or rework a draft. Nothing is checked for completeness yet: that is submission."""
    if actor.kind not in (ActorKind.CITIZEN, ActorKind.ORGANISATION) or actor.id is None:
        raise ValidationFailed(
            [FieldIssue((), "NOT_APPLICANT", "Chỉ công dân, tổ chức được nộp hồ sơ trực tuyến.")]
        )
    procedure, version = await _published(session, data.procedure_code)
    if version.online_mode is OnlineMode.NONE:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("procedureCode",), "NOT_ONLINE", "Thủ tục này chưa cung cấp dịch vụ công trực tuyến."
                )
            ]
        )
    agency = await _receiving_agency(session, version, data.receiving_agency_code)
    _check_delivery(version, data.delivery_method)
    payment_status = await _payment_status(session, version, Channel.ONLINE)
    if dossier_id is None:
        dossier = Dossier(
            id=uuid.uuid4(),
            status=DossierStatus.DRAFT,
            channel=Channel.ONLINE,
            applicant_account_id=actor.id,
            payment_status=payment_status,
            delivery_status=DeliveryStatus.NOT_READY,
            sync_status=SyncStatus.SYNCED,
            lookup_secret=secrets.token_urlsafe(24),
            version=1,
            **await _applicant_snapshot(session, actor.id),
        )
        session.add(dossier)
    else:
        dossier = await _locked(session, dossier_id)
        if dossier.applicant_account_id != actor.id:
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
    dossier.procedure_id = procedure.id
    dossier.procedure_version_id = version.id
    dossier.payment_status = payment_status  # the procedure may have changed with the rework
    dossier.receiving_agency_id = agency.id
    dossier.form_data = data.form_data
    dossier.delivery_method = data.delivery_method
    await session.flush()
    await _attach(session, dossier, version, data.components, actor=actor, owner_id=actor.id, now=now)
    await session.flush()
    return dossier


def _check_delivery(version: ProcedureVersion, method: str | None) -> None:
    if method is not None and method not in version.delivery_methods:
        raise ValidationFailed(
            [FieldIssue(("deliveryMethod",), "NOT_ALLOWED", "Thủ tục không trả kết quả theo hình thức này.")]
        )


async def _payment_status(
    session: AsyncSession, version: ProcedureVersion, channel: Channel
) -> PaymentStatus:
    """Unpaid when something is owed by this channel (a fee waived online owes nothing online)."""
    fee_rows = await session.scalars(select(ProcedureFee).where(ProcedureFee.version_id == version.id))
    return PaymentStatus.UNPAID if fees.fees_due(fee_rows, channel).total > 0 else PaymentStatus.NOT_REQUIRED


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


async def _completeness(session: AsyncSession, dossier: Dossier, version: ProcedureVersion) -> None:
    """The automatic check at submission (Decree 45/2020 art. 11): the e-form is valid and every
    required component has a file."""
    issues = Issues()
    validator = Draft202012Validator(version.form_schema, format_checker=FormatChecker())
    for error in sorted(validator.iter_errors(dossier.form_data), key=lambda e: list(e.absolute_path)):
        path = ("formData", *[str(p) for p in error.absolute_path])
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = next((r for r in error.validator_value if r not in error.instance), None)
            if missing is not None:
                path = (*path, str(missing))
            issues.add(path, "REQUIRED", "Trường bắt buộc của tờ khai chưa được điền.")
        else:
            issues.add(path, f"FORM_{str(error.validator).upper()}", f"Tờ khai chưa hợp lệ: {error.message}")
    required = list(
        await session.scalars(
            select(ProcedureComponent)
            .where(ProcedureComponent.version_id == version.id, ProcedureComponent.required.is_(True))
            .order_by(ProcedureComponent.position)
        )
    )
    attached = set(
        await session.scalars(
            select(DossierAttachment.component_id).where(
                DossierAttachment.dossier_id == dossier.id, DossierAttachment.removed_at.is_(None)
            )
        )
    )
    for component in required:
        if component.id not in attached:
            issues.add(
                ("components", str(component.id)),
                "MISSING_COMPONENT",
                f"Thiếu thành phần hồ sơ: {component.name}.",
            )
    issues.raise_if_any()


async def _transition(
    session: AsyncSession, dossier_id: uuid.UUID, action: Action, ctx: ActContext
) -> tuple[Dossier, list[DossierStep], DossierStatus]:
    """Lock, check the caller's version, ask the guard, move the status. Returns the dossier,
    its steps and the status it had."""
    dossier = await _locked(session, dossier_id)
    steps = await steps_of(session, dossier.id)
    if ctx.expected_version is not None and ctx.expected_version != dossier.version:
        raise Conflict("Hồ sơ vừa được người khác xử lý; vui lòng tải lại rồi thao tác.")
    target = check(ctx.actor, action, await situation(session, dossier, steps))
    previous = dossier.status
    dossier.status = target
    dossier.version += 1
    return dossier, steps, previous


async def submit(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext) -> Dossier:
    dossier, steps, previous = await _transition(session, dossier_id, Action.SUBMIT, ctx)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    await _completeness(session, dossier, version)
    dossier.submitted_at = ctx.now
    dossier.counts_from = ctx.calendar.counts_from(ctx.now)
    await _settle(
        session,
        dossier,
        Action.SUBMIT,
        ctx,
        from_status=previous,
        facts={"countsFrom": dossier.counts_from.isoformat()},
        steps=steps,
    )
    return dossier


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
) -> Dossier:
    """A dossier handed in on paper at the counter, or arriving by post, entered by a one-stop
    officer on the applicant's behalf (the scans are the officer's uploads)."""
    procedure, version = await _published(session, procedure_code)
    agency = await _receiving_agency(session, version, agency_code)
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
    account_id = None
    if applicant.id_number:
        account_id = await session.scalar(
            select(CitizenProfile.account_id)
            .join(Account, Account.id == CitizenProfile.account_id)
            .where(CitizenProfile.citizen_id == applicant.id_number, Account.status == AccountStatus.ACTIVE)
        )
    dossier = await _new_submitted(
        session,
        actor,
        channel=channel,
        account_id=account_id,
        owner_id=actor.id,
        applicant=applicant,
        procedure=procedure,
        version=version,
        agency=agency,
        form_data=form_data,
        delivery_method=None,
        components=components,
        now=now,
        calendar=calendar,
    )
    ctx = ActContext(actor=actor, now=now, calendar=calendar)
    await _settle(
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
    agency: Agency,
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
        receiving_agency_id=agency.id,
        form_data=form_data,
        delivery_method=delivery_method,
        payment_status=await _payment_status(session, version, channel),
        delivery_status=DeliveryStatus.NOT_READY,
        sync_status=SyncStatus.PENDING,
        lookup_secret=secrets.token_urlsafe(24),
        submitted_at=now,
        counts_from=calendar.counts_from(now),
        version=1,
    )
    session.add(dossier)
    await session.flush()
    await _attach(session, dossier, version, components, actor=actor, owner_id=owner_id, now=now)
    await session.flush()
    await _completeness(session, dossier, version)
    return dossier


async def published(session: AsyncSession, code: str) -> tuple[Procedure, ProcedureVersion]:
    """The published version of a procedure by its national code (field errors otherwise)."""
    return await _published(session, code)


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
) -> Dossier:
    """A dossier submitted on the national public service portal (Cổng Dịch vụ công quốc gia):
    the same checks as an online submission — a published procedure offered online, a receiving
    unit of it, a delivery method it allows, a valid e-form, every required component with an
    accepted, checked file — then SUBMITTED on the NATIONAL_PORTAL channel, with its SUBMIT event
    and the applicant's acknowledgement. The applicant's account is linked when one exists; else
    the dossier itself holds the applicant (as for counter submissions), and they follow it on the
    portal or by its code."""
    procedure, version = await _published(session, procedure_code)
    if version.online_mode is OnlineMode.NONE:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("procedureCode",), "NOT_ONLINE", "Thủ tục này chưa cung cấp dịch vụ công trực tuyến."
                )
            ]
        )
    agency = await _receiving_agency(session, version, agency_code)
    _check_delivery(version, delivery_method)
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
        agency=agency,
        form_data=form_data,
        delivery_method=delivery_method,
        components=components,
        now=now,
        calendar=calendar,
    )
    ctx = ActContext(actor=actor, now=now, calendar=calendar)
    assert dossier.counts_from is not None
    await _settle(
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


# --- reception ------------------------------------------------------------------------------------


async def next_code(session: AsyncSession, agency: Agency, local_day: datetime) -> str:
    """`<electronic id>-YYMMDD-XXXX` (Circular 01/2018 art. 19): a per-agency daily sequence
    taken with an atomic upsert, so concurrent receptions never share a number."""
    day = local_day.date()
    stmt = (
        insert(DossierCodeCounter)
        .values(agency_id=agency.id, day=day, last=1)
        .on_conflict_do_update(
            index_elements=[DossierCodeCounter.agency_id, DossierCodeCounter.day],
            set_={"last": DossierCodeCounter.last + 1},
        )
        .returning(DossierCodeCounter.last)
    )
    number = int((await session.execute(stmt)).scalar_one())
    prefix = agency.electronic_id or agency.code
    return f"{prefix}-{day:%y%m%d}-{number:04d}"


async def _resolve_agency(step: WorkflowStep, version: ProcedureVersion, dossier: Dossier) -> uuid.UUID:
    if step.agency_ref is StepAgencyRef.RECEIVING:
        return dossier.receiving_agency_id
    if step.agency_ref is StepAgencyRef.COMPETENT:
        # Level-wide procedures (no competent agency named) are handled where they were received.
        return version.competent_agency_id or dossier.receiving_agency_id
    assert step.agency_id is not None
    return step.agency_id


async def auto_assignee(session: AsyncSession, agency_id: uuid.UUID, role: str) -> uuid.UUID | None:
    """The active staff member with that role at that agency who holds the fewest open steps."""
    load = (
        select(DossierStep.assignee_id, func.count().label("open"))
        .where(DossierStep.finished_at.is_(None), DossierStep.started_at.is_not(None))
        .group_by(DossierStep.assignee_id)
        .subquery()
    )
    row = await session.execute(
        select(StaffAssignment.account_id)
        .join(Account, Account.id == StaffAssignment.account_id)
        .outerjoin(load, load.c.assignee_id == StaffAssignment.account_id)
        .where(
            StaffAssignment.agency_id == agency_id,
            StaffAssignment.role == role,
            StaffAssignment.ended_at.is_(None),
            Account.status == AccountStatus.ACTIVE,
        )
        .order_by(func.coalesce(load.c.open, 0), StaffAssignment.created_at)
        .limit(1)
    )
    found = row.scalar_one_or_none()
    return found


def _step_days(dossier: Dossier, version: ProcedureVersion, step: WorkflowStep) -> Decimal:
    """A step's share; online submissions with a reduced time shrink every step alike."""
    if (
        dossier.channel is Channel.ONLINE
        and version.online_processing_days is not None
        and version.processing_days
    ):
        scaled = step.days * version.online_processing_days / version.processing_days
        return (scaled * 2).to_integral_value() / 2
    return step.days


async def receive(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext) -> Dossier:
    """Tiếp nhận: the code, the appointment (receipt form 01), the steps with their deadlines."""
    dossier, _, previous = await _transition(session, dossier_id, Action.RECEIVE, ctx)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    agency = await session.get_one(Agency, dossier.receiving_agency_id)
    start = dossier.counts_from or ctx.calendar.counts_from(ctx.now)
    days = version.processing_days
    if dossier.channel is Channel.ONLINE and version.online_processing_days is not None:
        days = version.online_processing_days
    dossier.code = await next_code(session, agency, ctx.now.astimezone(ctx.calendar.zone))
    dossier.received_at = ctx.now
    dossier.received_by = ctx.actor.id
    dossier.appointment_at = dossier.due_at = ctx.calendar.add_working_days(start, days)
    workflow = list(
        await session.scalars(
            select(WorkflowStep).where(WorkflowStep.version_id == version.id).order_by(WorkflowStep.position)
        )
    )
    elapsed = Decimal(0)
    created: list[DossierStep] = []
    for position, wf in enumerate(workflow, start=1):
        share = _step_days(dossier, version, wf)
        elapsed += share
        created.append(
            DossierStep(
                dossier_id=dossier.id,
                position=position,
                name=wf.name,
                agency_id=await _resolve_agency(wf, version, dossier),
                role=wf.role,
                days=str(share),
                due_at=ctx.calendar.add_working_days(start, min(elapsed, days)),
            )
        )
    session.add_all(created)
    # The reception step(s) at the head of the workflow are done by this very act.
    first_work = next((s for s in created if not _is_reception_step(s, dossier)), None)
    for step in created:
        if first_work is not None and step.position >= first_work.position:
            break
        step.assignee_id, step.started_at, step.finished_at = ctx.actor.id, ctx.now, ctx.now
        step.punctuality = Punctuality.ON_TIME
    if first_work is not None:
        await _start_step(session, first_work, ctx.now)
        dossier.current_step = first_work.position
    await session.flush()
    await _settle(
        session,
        dossier,
        Action.RECEIVE,
        ctx,
        from_status=previous,
        role=StaffRole.RECEPTION_OFFICER.value,
        agency_id=agency.id,
        facts={"code": dossier.code, "appointment": dossier.appointment_at.isoformat()},
        steps=created,
    )
    return dossier


async def _start_step(
    session: AsyncSession, step: DossierStep, now: datetime, assignee: uuid.UUID | None = None
) -> None:
    step.started_at = now
    step.finished_at = None
    step.punctuality = None
    step.assignee_id = assignee or await auto_assignee(session, step.agency_id, step.role)


def _listed(values: Sequence[str], field_name: str, message: str) -> None:
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise ValidationFailed([FieldIssue((field_name,), "REQUIRED", message)])


async def request_completion(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: RequestCompletion
) -> Dossier:
    """Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (form 02): once, with complete instructions."""
    _listed(act.items, "items", "Liệt kê đầy đủ từng nội dung cần bổ sung, hoàn thiện.")
    dossier, steps, previous = await _transition(session, dossier_id, Action.REQUEST_COMPLETION, ctx)
    dossier.completion_requested = True
    await _settle(
        session,
        dossier,
        Action.REQUEST_COMPLETION,
        ctx,
        from_status=previous,
        role=StaffRole.RECEPTION_OFFICER.value,
        agency_id=dossier.receiving_agency_id,
        act=act,
        steps=steps,
    )
    return dossier


async def refuse_receipt(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: RefuseReceipt
) -> Dossier:
    """Phiếu từ chối tiếp nhận (form 03), with reasons."""
    _listed(act.reasons, "reasons", "Nêu rõ lý do từ chối tiếp nhận.")
    dossier, steps, previous = await _transition(session, dossier_id, Action.REFUSE_RECEIPT, ctx)
    dossier.finished_at = ctx.now
    await _settle(
        session,
        dossier,
        Action.REFUSE_RECEIPT,
        ctx,
        from_status=previous,
        role=StaffRole.RECEPTION_OFFICER.value,
        agency_id=dossier.receiving_agency_id,
        act=act,
        steps=steps,
    )
    return dossier


async def resubmit(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Resubmit) -> Dossier:
    """The applicant completes the dossier as asked; it counts from the new submission."""
    dossier, steps, previous = await _transition(session, dossier_id, Action.RESUBMIT, ctx)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    if act.form_data is not None:
        dossier.form_data = act.form_data
    await _attach(
        session,
        dossier,
        version,
        act.components,
        actor=ctx.actor,
        owner_id=dossier.applicant_account_id,
        now=ctx.now,
    )
    await session.flush()
    await _completeness(session, dossier, version)
    dossier.submitted_at = ctx.now
    dossier.counts_from = ctx.calendar.counts_from(ctx.now)
    await _settle(session, dossier, Action.RESUBMIT, ctx, from_status=previous, act=act, steps=steps)
    return dossier


# --- processing -----------------------------------------------------------------------------------


def _current(steps: Sequence[DossierStep], dossier: Dossier) -> DossierStep:
    step = next((s for s in steps if s.position == dossier.current_step), None)
    assert step is not None, "an in-progress dossier has a current step"
    return step


def _finish(step: DossierStep, ctx: ActContext) -> Punctuality:
    step.finished_at = ctx.now
    due = step.due_at or ctx.now
    step.punctuality = Punctuality(ctx.calendar.punctuality(ctx.now, due).value)
    return step.punctuality


async def assign(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Assign) -> Dossier:
    dossier, steps, previous = await _transition(session, dossier_id, Action.ASSIGN, ctx)
    step = _current(steps, dossier)
    assignee_id = act.assignee_id
    holder = await session.scalar(
        select(StaffAssignment.account_id)
        .join(Account, Account.id == StaffAssignment.account_id)
        .where(
            StaffAssignment.account_id == assignee_id,
            StaffAssignment.agency_id == step.agency_id,
            StaffAssignment.role == step.role,
            StaffAssignment.ended_at.is_(None),
            Account.status == AccountStatus.ACTIVE,
        )
    )
    if holder is None:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("assigneeId",), "NOT_ELIGIBLE", "Người được phân công không giữ vai trò của bước này."
                )
            ]
        )
    step.assignee_id = assignee_id
    await _settle(
        session,
        dossier,
        Action.ASSIGN,
        ctx,
        from_status=previous,
        from_step=step.position,
        role=step.role,
        agency_id=step.agency_id,
        act=act,
        steps=steps,
    )
    return dossier


async def forward(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Forward) -> Dossier:
    dossier, steps, previous = await _transition(session, dossier_id, Action.FORWARD, ctx)
    step = _current(steps, dossier)
    punctuality = _finish(step, ctx)
    following = next(s for s in steps if s.position > step.position and not _is_reception_step(s, dossier))
    await _start_step(session, following, ctx.now, act.assignee_id)
    dossier.current_step = following.position
    await _settle(
        session,
        dossier,
        Action.FORWARD,
        ctx,
        from_status=previous,
        from_step=step.position,
        punctuality=punctuality,
        role=step.role,
        agency_id=step.agency_id,
        act=act,
        steps=steps,
    )
    return dossier


async def send_back(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: SendBack) -> Dossier:
    dossier, steps, previous = await _transition(session, dossier_id, Action.SEND_BACK, ctx)
    step = _current(steps, dossier)
    to_position = act.to_position
    earlier = [s for s in steps if s.position < step.position and not _is_reception_step(s, dossier)]
    target = next((s for s in earlier if s.position == to_position), None) if to_position else earlier[-1]
    if target is None:
        raise ValidationFailed([FieldIssue(("toStep",), "UNKNOWN", "Bước trả về không hợp lệ.")])
    punctuality = _finish(step, ctx)
    await _start_step(session, target, ctx.now, target.assignee_id)
    dossier.current_step = target.position
    await _settle(
        session,
        dossier,
        Action.SEND_BACK,
        ctx,
        from_status=previous,
        from_step=step.position,
        punctuality=punctuality,
        role=step.role,
        agency_id=step.agency_id,
        act=act,
        steps=steps,
    )
    return dossier


async def request_supplement(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: RequestSupplement
) -> Dossier:
    """The competent agency asks for more documents; the clock stops until they arrive."""
    _listed(act.items, "items", "Liệt kê đầy đủ tài liệu cần bổ sung.")
    dossier, steps, previous = await _transition(session, dossier_id, Action.REQUEST_SUPPLEMENT, ctx)
    step = _current(steps, dossier)
    dossier.paused_at = ctx.now
    await _settle(
        session,
        dossier,
        Action.REQUEST_SUPPLEMENT,
        ctx,
        from_status=previous,
        from_step=step.position,
        role=step.role,
        agency_id=step.agency_id,
        act=act,
        steps=steps,
    )
    return dossier


async def supplement(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Supplement
) -> Dossier:
    """Documents arrive: the clock resumes, every open deadline moves by the working time paused."""
    if not act.components:
        raise ValidationFailed([FieldIssue(("components",), "REQUIRED", "Đính kèm tài liệu bổ sung.")])
    dossier, steps, previous = await _transition(session, dossier_id, Action.SUPPLEMENT, ctx)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    await _attach(
        session,
        dossier,
        version,
        act.components,
        actor=ctx.actor,
        owner_id=dossier.applicant_account_id,
        now=ctx.now,
        kind=AttachmentKind.SUPPLEMENT,
    )
    # Documents arriving after hours count from the next session, like any submission.
    resumed = ctx.calendar.counts_from(ctx.now)
    paused = ctx.calendar.working_minutes_between(dossier.paused_at or resumed, resumed)
    if dossier.due_at is not None:
        dossier.due_at = ctx.calendar.add_working_minutes(dossier.due_at, paused)
    for step in steps:
        if step.finished_at is None and step.due_at is not None:
            step.due_at = ctx.calendar.add_working_minutes(step.due_at, paused)
    dossier.paused_at = None
    await _settle(
        session,
        dossier,
        Action.SUPPLEMENT,
        ctx,
        from_status=previous,
        act=act,
        facts={"pausedWorkingMinutes": paused},
        steps=steps,
    )
    return dossier


async def apologize(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Apologize) -> Dossier:
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả (form 04): a later date; the dossier still counts
    as late against the appointment on the receipt."""
    if not act.reason.strip():
        raise ValidationFailed([FieldIssue(("reason",), "REQUIRED", "Nêu lý do chậm trễ.")])
    new_appointment = act.new_appointment
    dossier, steps, previous = await _transition(session, dossier_id, Action.APOLOGIZE, ctx)
    if dossier.due_at is not None and new_appointment <= dossier.due_at:
        raise ValidationFailed(
            [FieldIssue(("newAppointment",), "NOT_LATER", "Ngày hẹn mới phải sau ngày hẹn hiện tại.")]
        )
    dossier.due_at = new_appointment
    dossier.apologised = True
    step = _current(steps, dossier)
    await _settle(
        session,
        dossier,
        Action.APOLOGIZE,
        ctx,
        from_status=previous,
        from_step=step.position,
        role=step.role,
        agency_id=step.agency_id,
        act=act,
        steps=steps,
    )
    return dossier


async def _conclude(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, action: Action, act: Approve | Refuse
) -> Dossier:
    result_files = act.result_files if isinstance(act, Approve) else ()
    dossier, steps, previous = await _transition(session, dossier_id, action, ctx)
    step = _current(steps, dossier)
    punctuality = _finish(step, ctx)
    files = list(await session.scalars(select(StoredFile).where(StoredFile.id.in_(result_files))))
    if action is Action.APPROVE and (len(files) != len(set(result_files)) or not files):
        raise ValidationFailed(
            [FieldIssue(("resultFileIds",), "REQUIRED", "Đính kèm kết quả giải quyết (bản điện tử).")]
        )
    for f in files:
        if f.status is not FileStatus.READY:
            raise ValidationFailed(
                [FieldIssue(("resultFileIds",), "NOT_READY", "Tệp kết quả chưa sẵn sàng.")]
            )
        session.add(
            DossierAttachment(
                dossier_id=dossier.id,
                component_id=None,
                kind=AttachmentKind.RESULT,
                file_id=f.id,
                added_at=ctx.now,
                added_by=ctx.actor.label,
            )
        )
    dossier.result_at = ctx.now
    dossier.outcome_note = ctx.comment
    returning = next(
        (s for s in steps if s.position > step.position and _is_reception_step(s, dossier)), None
    )
    if returning is not None:
        await _start_step(session, returning, ctx.now)
        dossier.current_step = returning.position
    dossier.delivery_status = DeliveryStatus.AWAITING_PICKUP
    await _settle(
        session,
        dossier,
        action,
        ctx,
        from_status=previous,
        from_step=step.position,
        punctuality=punctuality,
        role=step.role,
        agency_id=step.agency_id,
        act=act,
        facts={"resultFiles": [str(f.id) for f in files]},
        steps=steps,
    )
    return dossier


async def approve(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Approve) -> Dossier:
    return await _conclude(session, dossier_id, ctx, Action.APPROVE, act)


async def refuse(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Refuse) -> Dossier:
    _listed(act.reasons, "reasons", "Nêu rõ lý do từ chối giải quyết.")
    return await _conclude(session, dossier_id, ctx, Action.REFUSE, act)


async def return_result(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: ReturnResult
) -> Dossier:
    """Trả kết quả and close. Punctuality is judged when the result was ready, against the
    appointment on the receipt; an apology never turns late into on time."""
    dossier, steps, previous = await _transition(session, dossier_id, Action.RETURN, ctx)
    method = act.method
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    _check_delivery(version, method)
    if (
        version.payment_timing is PaymentTiming.BEFORE_RESULT
        and dossier.channel in ONLINE_CHANNELS
        and dossier.payment_status is PaymentStatus.UNPAID
    ):
        raise InvalidTransition(
            previous.value,
            Action.RETURN.value,
            "Thủ tục này phải nộp phí, lệ phí trước khi nhận kết quả; người nộp chưa thanh toán trực tuyến.",
        )
    step = next((s for s in steps if s.position == dossier.current_step), None)
    if step is not None and step.finished_at is None:
        _finish(step, ctx)
    dossier.delivery_method = method
    dossier.delivery_status = DeliveryStatus.DELIVERED
    dossier.finished_at = ctx.now
    ready = dossier.result_at or ctx.now
    judged = ctx.calendar.punctuality(ready, dossier.appointment_at or ready)
    dossier.punctuality = Punctuality.LATE if dossier.apologised else Punctuality(judged.value)
    dossier.current_step = None
    await copy_results(session, dossier, result_name=version.result_name, now=ctx.now)
    await _settle(
        session,
        dossier,
        Action.RETURN,
        ctx,
        from_status=previous,
        role=StaffRole.RECEPTION_OFFICER.value,
        agency_id=dossier.receiving_agency_id,
        punctuality=dossier.punctuality,
        act=act,
        steps=steps,
    )
    return dossier


async def withdraw(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext) -> Dossier:
    dossier, steps, previous = await _transition(session, dossier_id, Action.WITHDRAW, ctx)
    for step in steps:
        if step.started_at is not None and step.finished_at is None:
            step.finished_at = ctx.now
    dossier.finished_at = ctx.now
    dossier.current_step = None
    await _settle(session, dossier, Action.WITHDRAW, ctx, from_status=previous, steps=steps)
    return dossier
