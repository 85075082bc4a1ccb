"""Catalog commands: create, amend, publish, suspend, resume, abolish; agencies and fields.

Commands flush but never commit; the request boundary commits. A unique-key race (two admins
creating the same code) is caught in a savepoint and reported like any other duplicate.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import (
    AdministrativeLevel,
    Agency,
    Field,
    Procedure,
    ProcedureComponent,
    ProcedureEvent,
    ProcedureFee,
    ProcedureReceivingAgency,
    ProcedureStatus,
    ProcedureVersion,
    StepAgencyRef,
    VersionState,
    WorkflowStep,
)
from services.catalog import rules
from services.catalog.data import AgencyData, DecisionData, FieldData, ProcedureData
from services.catalog.lifecycle import CatalogAction, next_status
from services.errors import (
    Conflict,
    FieldIssue,
    InvalidTransition,
    Issues,
    NotFound,
    ValidationFailed,
)
from services.events import announce
from services.text import fold

MB = 1024 * 1024


@dataclass(frozen=True)
class Reference:
    """What validation needs to know about the rest of the catalog."""

    fields: dict[str, uuid.UUID]
    levels: frozenset[str]  # those in use: not retired
    agencies: dict[str, tuple[uuid.UUID, bool]]
    retired_levels: frozenset[str] = frozenset()

    @property
    def agency_flags(self) -> dict[str, bool]:
        return {code: one_stop for code, (_, one_stop) in self.agencies.items()}


async def load_reference(session: AsyncSession) -> Reference:
    fields = dict((await session.execute(select(Field.code, Field.id))).all())
    level_rows = (
        await session.execute(select(AdministrativeLevel.code, AdministrativeLevel.retired_on))
    ).all()
    levels = frozenset(code for code, retired in level_rows if retired is None)
    retired_levels = frozenset(code for code, retired in level_rows if retired is not None)
    agencies = {
        code: (agency_id, one_stop)
        for code, agency_id, one_stop in (
            await session.execute(select(Agency.code, Agency.id, Agency.is_one_stop_unit))
        )
    }
    return Reference(fields, levels, agencies, retired_levels)


def _duplicate(path: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldIssue((path,), "DUPLICATE", message)])


async def _flush_unique(session: AsyncSession, path: str, message: str) -> None:
    """Flush inside a savepoint; a unique violation becomes a field error, not a 500."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise _duplicate(path, message) from exc


# --- fields -----------------------------------------------------------------------------


async def create_field(session: AsyncSession, data: FieldData) -> Field:
    rules.check_field(data).raise_if_any()
    if await session.scalar(select(Field.id).where(Field.code == data.code)):
        raise _duplicate("code", f"Mã lĩnh vực “{data.code}” đã tồn tại.")
    field = Field(code=data.code, name=data.name.strip())
    session.add(field)
    await _flush_unique(session, "code", f"Mã lĩnh vực “{data.code}” đã tồn tại.")
    return field


async def update_field(session: AsyncSession, field_id: uuid.UUID, data: FieldData) -> Field:
    field = await session.get(Field, field_id, with_for_update=True)
    if field is None:
        raise NotFound("lĩnh vực", str(field_id))
    rules.check_field(data).raise_if_any()
    field.code, field.name = data.code, data.name.strip()
    await _flush_unique(session, "code", f"Mã lĩnh vực “{data.code}” đã tồn tại.")
    return field


# --- agencies ---------------------------------------------------------------------------


def _apply_agency(agency: Agency, data: AgencyData, parent_id: uuid.UUID | None) -> None:
    agency.code = data.code
    agency.electronic_id = data.electronic_id
    agency.name = data.name.strip()
    agency.search_text = fold(f"{data.name} {data.code}")
    agency.level_code = data.level_code
    agency.parent_id = parent_id
    agency.is_one_stop_unit = data.is_one_stop_unit
    account = data.fee_account
    agency.fee_account_number = account.number if account else None
    agency.fee_account_bank = account.bank if account else None
    agency.fee_account_holder = account.holder if account else None
    agency.support_phone = data.support_phone
    agency.address = data.address
    agency.email = data.email.strip().lower() if data.email else None
    agency.valid_from = data.valid_from


def _id_pattern(pattern: str | None) -> re.Pattern[str]:
    return re.compile(pattern) if pattern else rules.ELECTRONIC_ID


async def create_agency(
    session: AsyncSession, data: AgencyData, *, electronic_id: str | None = None
) -> Agency:
    """`electronic_id`: the pattern of electronic ids (AGENCY_ELECTRONIC_ID_PATTERN)."""
    ref = await load_reference(session)
    issues = rules.check_agency(
        data,
        levels=ref.levels,
        agencies=ref.agencies,
        retired_levels=ref.retired_levels,
        electronic_id=_id_pattern(electronic_id),
    )
    if data.code in ref.agencies:
        issues.add(("code",), "DUPLICATE", f"Mã cơ quan “{data.code}” đã tồn tại.")
    issues.raise_if_any()
    agency = Agency(id=uuid.uuid4())
    parent = ref.agencies[data.parent_code][0] if data.parent_code else None
    _apply_agency(agency, data, parent)
    session.add(agency)
    await _flush_unique(session, "code", "Mã cơ quan hoặc mã định danh điện tử đã tồn tại.")
    return agency


async def update_agency(
    session: AsyncSession, agency_id: uuid.UUID, data: AgencyData, *, electronic_id: str | None = None
) -> Agency:
    agency = await session.get(Agency, agency_id, with_for_update=True)
    if agency is None:
        raise NotFound("cơ quan", str(agency_id))
    ref = await load_reference(session)
    # An agency of a retired level stays on it (history); none moves to one.
    kept = {agency.level_code} & ref.retired_levels
    issues = rules.check_agency(
        data,
        levels=ref.levels | kept,
        agencies=ref.agencies,
        retired_levels=ref.retired_levels - kept,
        electronic_id=_id_pattern(electronic_id),
    )
    if data.code != agency.code and data.code in ref.agencies:
        issues.add(("code",), "DUPLICATE", f"Mã cơ quan “{data.code}” đã tồn tại.")
    parent = ref.agencies[data.parent_code][0] if data.parent_code in ref.agencies else None
    if parent is not None and await _is_descendant(session, parent, agency.id):
        issues.add(("parentCode",), "CYCLE", "Không thể đặt cơ quan cấp dưới làm cấp trên.")
    issues.raise_if_any()
    _apply_agency(agency, data, parent)
    await _flush_unique(session, "code", "Mã cơ quan hoặc mã định danh điện tử đã tồn tại.")
    return agency


async def _is_descendant(session: AsyncSession, candidate: uuid.UUID, root: uuid.UUID) -> bool:
    """True when `candidate` is `root` or below it in the tree (a recursive CTE, one query)."""
    tree = select(Agency.id).where(Agency.id == root).cte("tree", recursive=True)
    tree = tree.union_all(select(Agency.id).where(Agency.parent_id == tree.c.id))
    found = await session.scalar(select(tree.c.id).where(tree.c.id == candidate).limit(1))
    return found is not None


async def merge_agencies(
    session: AsyncSession, source_codes: list[str], target_code: str, effective: date
) -> Agency:
    """Sáp nhập: sources stop on `effective - 1 day` and name the target as successor.

    Nothing that referred to a source is rewritten: dossiers keep the agency they were
    received by; new work goes to the successor.
    """
    ref = await load_reference(session)
    issues = Issues()
    if target_code not in ref.agencies:
        issues.add(("targetCode",), "UNKNOWN", "Cơ quan tiếp nhận sáp nhập không tồn tại.")
    if not source_codes:
        issues.add(("sourceCodes",), "REQUIRED", "Chọn ít nhất một cơ quan bị sáp nhập.")
    for i, code in enumerate(source_codes):
        if code not in ref.agencies:
            issues.add(("sourceCodes", i), "UNKNOWN", f"Cơ quan “{code}” không tồn tại.")
        elif code == target_code:
            issues.add(("sourceCodes", i), "SAME_AS_TARGET", "Không thể sáp nhập cơ quan vào chính nó.")
    issues.raise_if_any()
    target = await session.get_one(Agency, ref.agencies[target_code][0])
    sources = (
        await session.scalars(select(Agency).where(Agency.code.in_(source_codes)).with_for_update())
    ).all()
    for source in sources:
        source.valid_until = date.fromordinal(effective.toordinal() - 1)
        source.successor_id = target.id
        source.is_one_stop_unit = False
    await session.flush()
    return target


# --- procedures -------------------------------------------------------------------------


async def _get_procedure(session: AsyncSession, code: str, *, lock: bool) -> Procedure:
    stmt = select(Procedure).where(Procedure.code == code)
    if lock:
        stmt = stmt.with_for_update()
    procedure = await session.scalar(stmt)
    if procedure is None:
        raise NotFound("thủ tục", code)
    return procedure


async def _draft(session: AsyncSession, procedure_id: uuid.UUID) -> ProcedureVersion | None:
    return await session.scalar(
        select(ProcedureVersion).where(
            ProcedureVersion.procedure_id == procedure_id,
            ProcedureVersion.state == VersionState.DRAFT,
        )
    )


def _record(
    session: AsyncSession,
    procedure: Procedure,
    version: ProcedureVersion | None,
    action: CatalogAction | str,
    previous: ProcedureStatus | None,
    *,
    actor: str,
    now: datetime,
    decision: str | None = None,
    note: str | None = None,
) -> None:
    session.add(
        ProcedureEvent(
            procedure_id=procedure.id,
            version_id=version.id if version else None,
            action=action.value if isinstance(action, CatalogAction) else action,
            from_status=previous.value if previous else None,
            to_status=procedure.status.value,
            actor=actor,
            decision_number=decision,
            note=note,
            at=now,
        )
    )


async def _write_content(
    session: AsyncSession, version: ProcedureVersion, data: ProcedureData, ref: Reference
) -> None:
    version.name = data.name.strip()
    version.search_text = fold(data.name)
    version.field_id = ref.fields[data.field_code]
    version.levels = list(data.levels)
    version.competent_agency_id = (
        ref.agencies[data.competent_agency_code][0] if data.competent_agency_code else None
    )
    version.legal_basis = data.legal_basis
    version.online_mode = data.online_mode
    version.processing_days = data.processing_days
    version.online_processing_days = data.online_processing_days
    version.time_limit_unit = data.time_limit_unit
    version.payment_timing = data.payment_timing
    version.result_name = data.result_name.strip()
    version.delivery_methods = list(data.delivery_methods)
    version.form_schema = data.form_schema
    version.change_note = data.change_note
    await session.flush()
    for table in (ProcedureComponent, ProcedureFee, WorkflowStep, ProcedureReceivingAgency):
        await session.execute(delete(table).where(table.version_id == version.id))
    session.add_all(
        ProcedureReceivingAgency(version_id=version.id, agency_id=ref.agencies[code][0], position=i)
        for i, code in enumerate(dict.fromkeys(data.receiving_agency_codes))
    )
    session.add_all(
        ProcedureComponent(
            version_id=version.id,
            position=i,
            name=c.name.strip(),
            required=c.required,
            copy_type=c.copy_type,
            count=c.count,
            template_url=c.template_url,
            accepted_formats=list(c.accepted_formats),
            max_size_bytes=int(c.max_size_mb * MB),
        )
        for i, c in enumerate(data.components)
    )
    session.add_all(
        ProcedureFee(
            version_id=version.id,
            position=i,
            kind=f.kind,
            name=f.name.strip(),
            amount=f.amount,
            online_amount=f.online_amount,
            note=f.note,
        )
        for i, f in enumerate(data.fees)
    )
    session.add_all(
        WorkflowStep(
            version_id=version.id,
            position=i,
            name=s.name.strip(),
            agency_ref=s.agency_ref,
            agency_id=ref.agencies[s.agency_code][0]
            if s.agency_ref is StepAgencyRef.AGENCY and s.agency_code
            else None,
            role=s.role,
            days=s.days,
        )
        for i, s in enumerate(data.steps)
    )
    await session.flush()


async def _checked(session: AsyncSession, data: ProcedureData) -> Reference:
    ref = await load_reference(session)
    rules.check_procedure(
        data, fields=ref.fields, levels=ref.levels, agencies=ref.agency_flags
    ).raise_if_any()
    return ref


async def create_procedure(
    session: AsyncSession, data: ProcedureData, *, actor: str, now: datetime
) -> tuple[Procedure, ProcedureVersion]:
    """Create a procedure in draft, with its first version to be published by decision."""
    ref = await _checked(session, data)
    if await session.scalar(select(Procedure.id).where(Procedure.code == data.code)):
        raise _duplicate("code", f"Mã thủ tục “{data.code}” đã tồn tại.")
    procedure = Procedure(id=uuid.uuid4(), code=data.code, status=ProcedureStatus.DRAFT)
    session.add(procedure)
    await _flush_unique(session, "code", f"Mã thủ tục “{data.code}” đã tồn tại.")
    version = ProcedureVersion(
        id=uuid.uuid4(), procedure_id=procedure.id, version_no=1, state=VersionState.DRAFT
    )
    session.add(version)
    await _write_content(session, version, data, ref)
    _record(session, procedure, version, "CREATE", None, actor=actor, now=now)
    await session.flush()
    return procedure, version


async def amend_procedure(
    session: AsyncSession,
    code: str,
    data: ProcedureData,
    *,
    actor: str,
    now: datetime,
    expected_revision: int | None = None,
) -> tuple[Procedure, ProcedureVersion]:
    """Prepare the next version (or rework the open draft); published versions never change."""
    procedure = await _get_procedure(session, code, lock=True)
    _check_revision(procedure, expected_revision)
    next_status(procedure.status, CatalogAction.AMEND)
    if data.code != code:
        raise ValidationFailed([FieldIssue(("code",), "IMMUTABLE", "Không thể đổi mã của thủ tục đã có.")])
    ref = await _checked(session, data)
    version = await _draft(session, procedure.id)
    if version is None:
        last = await session.scalar(
            select(ProcedureVersion.version_no)
            .where(ProcedureVersion.procedure_id == procedure.id)
            .order_by(ProcedureVersion.version_no.desc())
            .limit(1)
        )
        version = ProcedureVersion(
            id=uuid.uuid4(),
            procedure_id=procedure.id,
            version_no=(last or 0) + 1,
            state=VersionState.DRAFT,
        )
        session.add(version)
    await _write_content(session, version, data, ref)
    procedure.revision += 1
    _record(session, procedure, version, CatalogAction.AMEND, procedure.status, actor=actor, now=now)
    await session.flush()
    await announce(session, "procedure", procedure.code)
    return procedure, version


def _check_revision(procedure: Procedure, expected: int | None) -> None:
    if expected is not None and expected != procedure.revision:
        raise Conflict()


async def publish_procedure(
    session: AsyncSession,
    code: str,
    decision: DecisionData,
    *,
    actor: str,
    now: datetime,
    today: date,
    expected_revision: int | None = None,
) -> tuple[Procedure, ProcedureVersion]:
    """Công bố: the open draft comes into force; the previous version is superseded."""
    procedure = await _get_procedure(session, code, lock=True)
    _check_revision(procedure, expected_revision)
    previous = procedure.status
    status = next_status(previous, CatalogAction.PUBLISH)
    rules.check_decision(decision, today=today).raise_if_any()
    draft = await _draft(session, procedure.id)
    if draft is None:
        raise InvalidTransition(
            previous.value, CatalogAction.PUBLISH.value, "Không có phiên bản dự thảo để công bố."
        )
    if procedure.published_version_id is not None:
        old = await session.get_one(ProcedureVersion, procedure.published_version_id)
        old.state = VersionState.SUPERSEDED
        await session.flush()  # the one-published index must see the old one go first
    draft.state = VersionState.PUBLISHED
    draft.decision_number = decision.number.strip()
    draft.decision_date = decision.date
    draft.published_at = now
    procedure.published_version_id = draft.id
    procedure.status = status
    procedure.revision += 1
    _record(
        session,
        procedure,
        draft,
        CatalogAction.PUBLISH,
        previous,
        actor=actor,
        now=now,
        decision=decision.number,
    )
    await session.flush()
    await announce(session, "procedure", procedure.code)
    return procedure, draft


async def change_status(
    session: AsyncSession,
    code: str,
    action: CatalogAction,
    *,
    actor: str,
    now: datetime,
    today: date,
    reason: str | None = None,
    decision: DecisionData | None = None,
    expected_revision: int | None = None,
) -> Procedure:
    """Suspend, resume or abolish. Abolishing needs the decision that abolishes it."""
    procedure = await _get_procedure(session, code, lock=True)
    _check_revision(procedure, expected_revision)
    previous = procedure.status
    status = next_status(previous, action)
    issues = Issues()
    if action is CatalogAction.ABOLISH:
        if decision is None:
            issues.add(("decision",), "REQUIRED", "Bãi bỏ thủ tục cần số và ngày quyết định.")
        else:
            issues.items.extend(rules.check_decision(decision, today=today).items)
    if action is CatalogAction.SUSPEND and not (reason or "").strip():
        issues.add(("reason",), "REQUIRED", "Nêu lý do tạm ngừng.")
    issues.raise_if_any()
    procedure.status = status
    procedure.revision += 1
    _record(
        session,
        procedure,
        None,
        action,
        previous,
        actor=actor,
        now=now,
        decision=decision.number if decision else None,
        note=reason,
    )
    await session.flush()
    await announce(session, "procedure", procedure.code)
    return procedure
