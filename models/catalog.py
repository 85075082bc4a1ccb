"""The catalog of administrative procedures (thủ tục hành chính) and who handles them.

Levels and agencies are data: the 2025 reform merged provinces and removed the district
level, so the hierarchy takes any depth and agencies carry validity dates and a successor.
A procedure is an identity (its national code) with numbered versions; a dossier refers to
the version it was received under, so amending the catalog never rewrites a dossier.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamps, UUIDPk


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Store the names as PostgreSQL enum labels; stable and readable in SQL.
    return Enum(cls, name=name, native_enum=True, validate_strings=True)


class PaymentTiming(enum.Enum):
    """Khi nào nộp phí, lệ phí trực tuyến: khi nộp hồ sơ, hoặc trước khi nhận kết quả."""

    AT_SUBMISSION = "AT_SUBMISSION"  # payable from submission on
    BEFORE_RESULT = "BEFORE_RESULT"  # the result is not returned while fees owed online are unpaid


class OnlineMode(enum.Enum):
    """Mức độ cung cấp dịch vụ công trực tuyến."""

    FULL = "FULL"  # toàn trình (formerly level 4)
    PARTIAL = "PARTIAL"  # một phần (formerly level 3)
    NONE = "NONE"  # chưa đáp ứng


class DeliveryMethod(enum.Enum):
    """Hình thức trả kết quả."""

    ONLINE = "ONLINE"  # trực tuyến, into the applicant's data vault
    POST = "POST"  # qua dịch vụ bưu chính công ích
    COUNTER = "COUNTER"  # trực tiếp tại Bộ phận Một cửa


class ProcedureStatus(enum.Enum):
    """Life cycle of a procedure in the catalog (Quảng Ngãi 39/2020 art. 6)."""

    DRAFT = "DRAFT"  # dự thảo: not yet published by decision
    PUBLISHED = "PUBLISHED"  # đã công bố
    SUSPENDED = "SUSPENDED"  # tạm ngừng
    ABOLISHED = "ABOLISHED"  # đã bãi bỏ


class VersionState(enum.Enum):
    DRAFT = "DRAFT"  # being prepared; at most one per procedure
    PUBLISHED = "PUBLISHED"  # the version in force; at most one per procedure
    SUPERSEDED = "SUPERSEDED"  # was in force, replaced by a later decision


class CopyType(enum.Enum):
    """Loại giấy tờ: bản chính, bản sao, bản sao chứng thực."""

    ORIGINAL = "ORIGINAL"
    COPY = "COPY"
    CERTIFIED_COPY = "CERTIFIED_COPY"
    ORIGINAL_OR_COPY = "ORIGINAL_OR_COPY"


class FeeKind(enum.Enum):
    FEE = "FEE"  # phí
    CHARGE = "CHARGE"  # lệ phí


class TimeLimitUnit(enum.Enum):
    """Đơn vị của thời hạn giải quyết: ngày làm việc (mặc định), buổi (nửa ngày làm việc), giờ làm
    việc, hoặc ngày (ngày lịch, kể cả ngày nghỉ)."""

    WORKING_DAYS = "WORKING_DAYS"
    HALF_DAYS = "HALF_DAYS"
    WORKING_HOURS = "WORKING_HOURS"
    CALENDAR_DAYS = "CALENDAR_DAYS"


class StepAgencyRef(enum.Enum):
    """Who acts on a workflow step."""

    RECEIVING = "RECEIVING"  # the one-stop unit that received the dossier
    COMPETENT = "COMPETENT"  # the procedure's competent agency (or that of the level)
    AGENCY = "AGENCY"  # a named agency: inter-agency (liên thông) steps


class AdministrativeLevel(Base):
    """Cấp hành chính: province and commune since 1 July 2025 (the district level before) — rows an
    admin adds and retires, not code. A retired level keeps its agencies readable; no new agency
    or procedure may use it."""

    __tablename__ = "administrative_levels"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer)
    retired_on: Mapped[date | None] = mapped_column(Date)


class Agency(UUIDPk, Timestamps, Base):
    """Cơ quan, đơn vị: a node of the agency tree."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    electronic_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    search_text: Mapped[str] = mapped_column(Text, default="")
    level_code: Mapped[str] = mapped_column(ForeignKey("administrative_levels.code"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    is_one_stop_unit: Mapped[bool] = mapped_column(Boolean, default=False)
    fee_account_number: Mapped[str | None] = mapped_column(String(60))
    fee_account_bank: Mapped[str | None] = mapped_column(String(200))
    fee_account_holder: Mapped[str | None] = mapped_column(String(300))
    support_phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))  # the official, published address
    address: Mapped[str | None] = mapped_column(String(500))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    successor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))

    __table_args__ = (
        CheckConstraint(
            "valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from",
            name="validity",
        ),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )


class Field(UUIDPk, Timestamps, Base):
    """Lĩnh vực: the field a procedure belongs to (civil status, land, construction…)."""

    __tablename__ = "fields"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))


class Procedure(UUIDPk, Timestamps, Base):
    """A procedure's identity: its national code and life-cycle status."""

    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[ProcedureStatus] = mapped_column(_enum(ProcedureStatus, "procedure_status"))
    published_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("procedure_versions.id", use_alter=True, name="fk_procedures_published_version")
    )
    # Bumped on every change: optimistic concurrency for admins editing at once.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        # A procedure in force or suspended has its version in force (the catalog's counts rely
        # on it: `services.catalog.queries.procedures_counted`).
        CheckConstraint(
            "status NOT IN ('PUBLISHED', 'SUSPENDED') OR published_version_id IS NOT NULL",
            name="version_in_force",
        ),
    )


class ProcedureVersion(UUIDPk, Base):
    """One version of a procedure's content, as decided and published."""

    __tablename__ = "procedure_versions"

    procedure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("procedures.id", ondelete="CASCADE"))
    version_no: Mapped[int] = mapped_column(Integer)
    state: Mapped[VersionState] = mapped_column(_enum(VersionState, "procedure_version_state"))
    name: Mapped[str] = mapped_column(String(1000))
    # Name and code folded (no diacritics, đ→d, lower case) for search without extensions.
    search_text: Mapped[str] = mapped_column(Text)
    # Its words for full-text search, kept by PostgreSQL: matched and ranked without computing
    # `to_tsvector` per row (a search that matches every procedure ranks them all).
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed("to_tsvector('simple'::regconfig, search_text)", persisted=True)
    )
    field_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fields.id"), index=True)
    levels: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    competent_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    online_mode: Mapped[OnlineMode] = mapped_column(_enum(OnlineMode, "online_mode"))
    payment_timing: Mapped[PaymentTiming] = mapped_column(
        _enum(PaymentTiming, "payment_timing"),
        default=PaymentTiming.AT_SUBMISSION,
        server_default=PaymentTiming.AT_SUBMISSION.value,
    )
    processing_days: Mapped[Decimal] = mapped_column(Numeric(6, 1))
    online_processing_days: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    # What processing_days, online_processing_days and the steps' shares count (migration 0028).
    time_limit_unit: Mapped[TimeLimitUnit] = mapped_column(
        _enum(TimeLimitUnit, "time_limit_unit"),
        default=TimeLimitUnit.WORKING_DAYS,
        server_default=TimeLimitUnit.WORKING_DAYS.value,
    )
    result_name: Mapped[str] = mapped_column(String(1000))
    delivery_methods: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    form_schema: Mapped[dict[str, Any]] = mapped_column(JSONB)
    decision_number: Mapped[str | None] = mapped_column(String(100))
    decision_date: Mapped[date | None] = mapped_column(Date)
    change_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("procedure_id", "version_no", name="uq_procedure_versions_number"),
        # At most one draft and one version in force per procedure.
        Index(
            "uq_procedure_versions_one_draft",
            "procedure_id",
            unique=True,
            postgresql_where=text("state = 'DRAFT'"),
        ),
        Index(
            "uq_procedure_versions_one_published",
            "procedure_id",
            unique=True,
            postgresql_where=text("state = 'PUBLISHED'"),
        ),
        Index("ix_procedure_versions_search_vector", "search_vector", postgresql_using="gin"),
        CheckConstraint("processing_days >= 0", name="processing_days"),
        CheckConstraint(
            "online_processing_days IS NULL OR online_processing_days <= processing_days",
            name="online_days",
        ),
    )


class ProcedureReceivingAgency(Base):
    """Bộ phận Một cửa receiving a procedure; none listed = any at the procedure's level."""

    __tablename__ = "procedure_receiving_agencies"

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("procedure_versions.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ProcedureComponent(UUIDPk, Base):
    """Thành phần hồ sơ: a document the applicant must (or may) attach."""

    __tablename__ = "procedure_components"

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("procedure_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(1000))
    required: Mapped[bool] = mapped_column(Boolean)
    copy_type: Mapped[CopyType] = mapped_column(_enum(CopyType, "copy_type"))
    count: Mapped[int] = mapped_column(Integer, default=1)
    template_url: Mapped[str | None] = mapped_column(String(1000))
    accepted_formats: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    max_size_bytes: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("count >= 1", name="count"),
        CheckConstraint("max_size_bytes > 0", name="max_size"),
    )


class ProcedureFee(UUIDPk, Base):
    """Phí, lệ phí: an amount in VND, with the reduced amount for online submission."""

    __tablename__ = "procedure_fees"

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("procedure_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[FeeKind] = mapped_column(_enum(FeeKind, "fee_kind"))
    name: Mapped[str] = mapped_column(String(500))
    amount: Mapped[int] = mapped_column(BigInteger)
    online_amount: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint(
            "online_amount IS NULL OR (online_amount >= 0 AND online_amount <= amount)",
            name="online_amount",
        ),
    )


class WorkflowStep(UUIDPk, Base):
    """Bước của quy trình nội bộ: who acts, in what order, with what share of the time."""

    __tablename__ = "workflow_steps"

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("procedure_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    agency_ref: Mapped[StepAgencyRef] = mapped_column(_enum(StepAgencyRef, "step_agency_ref"))
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    role: Mapped[str] = mapped_column(String(40))
    days: Mapped[Decimal] = mapped_column(Numeric(6, 1))

    __table_args__ = (
        CheckConstraint("days >= 0", name="days"),
        CheckConstraint("(agency_ref = 'AGENCY') = (agency_id IS NOT NULL)", name="agency_matches_ref"),
    )


class ProcedureEvent(UUIDPk, Base):
    """Append-only record of catalog decisions: create, amend, publish, suspend, abolish."""

    __tablename__ = "procedure_events"

    # Order of recording: timestamps tie (one request, one clock), a sequence never does.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    procedure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("procedures.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("procedure_versions.id"))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    decision_number: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
