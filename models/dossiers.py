"""Dossiers (hồ sơ thủ tục hành chính): submission, reception, processing steps, the process
control trail, and the transactional outbox of their events.

A dossier keeps the procedure version it was submitted under (components, time, fees,
workflow), and the agency that received it, so later catalog or organisation changes never
rewrite a dossier in progress. Its business, payment, delivery and sync statuses are separate.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamps, UUIDPk


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=True, validate_strings=True)


class DossierStatus(enum.Enum):
    """Trạng thái nghiệp vụ của hồ sơ."""

    DRAFT = "DRAFT"  # đang soạn, chưa nộp
    SUBMITTED = "SUBMITTED"  # đã nộp, chờ tiếp nhận
    AWAITING_COMPLETION = "AWAITING_COMPLETION"  # yêu cầu bổ sung, hoàn thiện (before reception)
    IN_PROGRESS = "IN_PROGRESS"  # đang giải quyết
    SUPPLEMENT_REQUESTED = "SUPPLEMENT_REQUESTED"  # chờ bổ sung trong khi giải quyết (clock stopped)
    RESULT_READY = "RESULT_READY"  # có kết quả, chờ trả
    REFUSED = "REFUSED"  # từ chối giải quyết, chờ trả văn bản trả lời
    CLOSED = "CLOSED"  # đã trả kết quả, kết thúc
    REJECTED = "REJECTED"  # từ chối tiếp nhận
    WITHDRAWN = "WITHDRAWN"  # công dân rút hồ sơ


class Channel(enum.Enum):
    ONLINE = "ONLINE"  # trực tuyến
    COUNTER = "COUNTER"  # trực tiếp tại Bộ phận Một cửa
    POST = "POST"  # qua bưu chính công ích
    NATIONAL_PORTAL = "NATIONAL_PORTAL"  # Cổng Dịch vụ công quốc gia


class PaymentStatus(enum.Enum):
    NOT_REQUIRED = "NOT_REQUIRED"
    UNPAID = "UNPAID"
    PAID = "PAID"
    REFUNDED = "REFUNDED"


class DeliveryStatus(enum.Enum):
    NOT_READY = "NOT_READY"
    AWAITING_PICKUP = "AWAITING_PICKUP"
    DELIVERED = "DELIVERED"


class SyncStatus(enum.Enum):
    PENDING = "PENDING"  # events not yet delivered to every consumer
    SYNCED = "SYNCED"


class Punctuality(enum.Enum):
    EARLY = "EARLY"  # trước hạn
    ON_TIME = "ON_TIME"  # đúng hạn
    LATE = "LATE"  # quá hạn


class FileStatus(enum.Enum):
    QUARANTINED = "QUARANTINED"  # uploaded, not yet checked
    READY = "READY"
    REJECTED = "REJECTED"
    DAMAGED = "DAMAGED"  # was READY; the stored bytes no longer match the row: not served, kept


class StoredFile(UUIDPk, Base):
    """A file in the object store; its bytes are there, its facts here. Keys reveal nothing.

    An upload starts QUARANTINED with what the client declared; completion checks size,
    checksum, the type detected from the bytes and a malware scan, then makes it READY or
    REJECTED (and removes the bytes). Never-completed uploads expire and are cleaned up.
    A scheduled check re-reads READY files (oldest `verified_at` first): one whose bytes no
    longer match size and SHA-256 becomes DAMAGED (READY again once they match, e.g. restored).
    """

    __tablename__ = "stored_files"
    __table_args__ = (Index("ix_stored_files_verified_at", text("verified_at NULLS FIRST")),)

    owner_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    object_key: Mapped[str] = mapped_column(String(200), unique=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[FileStatus] = mapped_column(_enum(FileStatus, "file_status"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    upload_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    scan_verdict: Mapped[str | None] = mapped_column(String(20))  # CLEAN | INFECTED
    scan_signature: Mapped[str | None] = mapped_column(String(200))
    rejection: Mapped[str | None] = mapped_column(String(300))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Last time the scheduled integrity check re-read the bytes (None: not yet).
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Kept at least until (set when its dossier is archived); None: as long as it is referenced.
    retain_until: Mapped[date | None] = mapped_column(Date)


class FileDownload(UUIDPk, Base):
    """Every download handed out (a presigned URL) is recorded: who, when, from where, why."""

    __tablename__ = "file_downloads"

    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stored_files.id"), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_label: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(String(60))
    basis: Mapped[str] = mapped_column(String(40))  # OWNER | DOSSIER | VAULT_GRANT


class DossierRating(UUIDPk, Base):
    """Đánh giá mức độ hài lòng (Kon Tum art. 22.8; Trà Vinh art. 4.5): once per dossier, by its
    applicant, after the result is returned. Scores 1 (rất không hài lòng) to 5 (rất hài lòng)."""

    __tablename__ = "dossier_ratings"

    dossier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dossiers.id"), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    procedure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("procedures.id"), index=True)
    officer_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))  # who handled its steps
    scores: Mapped[dict[str, int]] = mapped_column(JSONB)
    overall: Mapped[float] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ArchiveExport(UUIDPk, Base):
    """A package handed to an agency's archive: files, metadata, trails, a checksummed manifest."""

    __tablename__ = "archive_exports"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    closed_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    dossiers: Mapped[int] = mapped_column(Integer)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stored_files.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))


class PaperConversion(UUIDPk, Base):
    """Chuyển đổi văn bản điện tử sang giấy (Decree 45/2020 art. 18): which electronic document,
    its checksum, by whom, when — checkable by anyone holding the paper's verification code."""

    __tablename__ = "paper_conversions"

    verification_code: Mapped[str] = mapped_column(String(20), unique=True)
    source_file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stored_files.id"))
    source_checksum: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    converted_by: Mapped[str] = mapped_column(String(200))
    converted_by_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    converted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    output_file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stored_files.id"))


class VaultSource(enum.Enum):
    """Where a vault document came from (Decree 45/2020 art. 10, 16)."""

    UPLOAD = "UPLOAD"  # tải lên
    ISSUED_COPY = "ISSUED_COPY"  # bản sao điện tử cấp từ sổ gốc
    CERTIFIED_COPY = "CERTIFIED_COPY"  # bản sao điện tử chứng thực từ bản chính
    DIGITISED = "DIGITISED"  # số hoá tại Bộ phận Một cửa
    RESULT = "RESULT"  # kết quả giải quyết thủ tục


class VaultDocument(UUIDPk, Timestamps, Base):
    """A document in an account's data vault, reusable in new dossiers without uploading again."""

    __tablename__ = "vault_documents"

    vault_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vaults.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stored_files.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    search_text: Mapped[str] = mapped_column(Text)
    doc_type: Mapped[str | None] = mapped_column(String(200))
    issuer: Mapped[str | None] = mapped_column(String(300))
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[VaultSource] = mapped_column(_enum(VaultSource, "vault_source"))
    source_dossier_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VaultDocumentVersion(UUIDPk, Base):
    __tablename__ = "vault_document_versions"

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_documents.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stored_files.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VaultGrant(UUIDPk, Base):
    """The owner's consent for an agency to read vault documents (scope, purpose, expiry)."""

    __tablename__ = "vault_grants"

    vault_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vaults.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    document_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(Uuid()))  # None: every document
    purpose: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VaultAccess(UUIDPk, Base):
    """Every read of a vault document by someone other than its owner, visible to the owner."""

    __tablename__ = "vault_accesses"

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_documents.id", ondelete="CASCADE"), index=True
    )
    actor_label: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    basis: Mapped[str] = mapped_column(String(40))  # DOSSIER | GRANT
    reference: Mapped[uuid.UUID | None] = mapped_column()


class Dossier(UUIDPk, Timestamps, Base):
    __tablename__ = "dossiers"

    # Mã hồ sơ (Circular 01/2018 art. 19), issued at reception: <electronic id>-YYMMDD-XXXX.
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    procedure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("procedures.id"), index=True)
    procedure_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("procedure_versions.id"))
    applicant_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(300))
    applicant_id_number: Mapped[str | None] = mapped_column(String(14), index=True)  # citizen ID or tax code
    applicant_phone: Mapped[str | None] = mapped_column(String(20))
    applicant_email: Mapped[str | None] = mapped_column(String(320))
    applicant_address: Mapped[str | None] = mapped_column(String(500))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "dossier_channel"))
    receiving_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    # The agency that settles it (Decree 118/2025: received anywhere in the province, routed to the
    # competent agency); NULL on dossiers from before routing — services.dossiers.routing.
    competent_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    status: Mapped[DossierStatus] = mapped_column(_enum(DossierStatus, "dossier_status"))
    payment_status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, "payment_status"))
    delivery_status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "delivery_status"))
    sync_status: Mapped[SyncStatus] = mapped_column(_enum(SyncStatus, "sync_status"))
    delivery_method: Mapped[str | None] = mapped_column(String(16))
    form_data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counts_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    # The appointment the applicant holds: the receipt's, or the new one of a restart (Decree 61/2018
    # art. 19). `due_at` moves with paused clocks and apologies.
    appointment_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # The deadline by law (services/dossiers/ontime.py): the appointment, moved by the time waited
    # for a supplement or counted again from the start (Decree 61/2018 art. 19) under the province's
    # on-time policy; never by an apology. Punctuality and the overdue counts are judged against it.
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    apologised: Mapped[bool] = mapped_column(Boolean, default=False)
    completion_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Supplement requests during processing (the 766 index counts a second one as late).
    supplement_requests: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    current_step: Mapped[int | None] = mapped_column(Integer)
    result_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    punctuality: Mapped[Punctuality | None] = mapped_column(_enum(Punctuality, "punctuality"))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    # Printed only in the QR code of the receipt: the second factor of a public lookup.
    lookup_secret: Mapped[str] = mapped_column(String(64))
    # Optimistic concurrency: each act states the version it saw.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Hash of the last trail event (the chain's head).
    trail_head: Mapped[str | None] = mapped_column(String(64))
    # Lưu trữ: exported to the agency's archive (Kon Tum art. 14–15); its files stay readable.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_dossiers_status_due", "status", "due_at"),
        Index("ix_dossiers_agency_status", "receiving_agency_id", "status"),
    )


class AttachmentKind(enum.Enum):
    COMPONENT = "COMPONENT"  # thành phần hồ sơ
    SUPPLEMENT = "SUPPLEMENT"  # tài liệu bổ sung
    RESULT = "RESULT"  # kết quả giải quyết
    SLIP = "SLIP"  # phiếu, giấy tờ do hệ thống lập (mẫu 01–05)


class DossierAttachment(UUIDPk, Base):
    __tablename__ = "dossier_attachments"

    dossier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    component_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("procedure_components.id"))
    kind: Mapped[AttachmentKind] = mapped_column(_enum(AttachmentKind, "attachment_kind"))
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stored_files.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    added_by: Mapped[str] = mapped_column(String(200))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DossierStep(UUIDPk, Base):
    """One workflow step of one dossier: who holds it, by when, and how it ended."""

    __tablename__ = "dossier_steps"

    dossier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    days: Mapped[str] = mapped_column(String(10))  # the step's share, as written in the workflow
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    punctuality: Mapped[Punctuality | None] = mapped_column(_enum(Punctuality, "punctuality"))

    __table_args__ = (
        UniqueConstraint("dossier_id", "position", name="uq_dossier_steps_position"),
        # The inbox: open steps held by someone, or waiting at an agency for a role.
        Index("ix_dossier_steps_open_assignee", "assignee_id", postgresql_where=text("finished_at IS NULL")),
        Index(
            "ix_dossier_steps_open_agency_role",
            "agency_id",
            "role",
            postgresql_where=text("finished_at IS NULL"),
        ),
        # Who may read a dossier (an agency that holds or held one of its steps), index-only.
        Index("ix_dossier_steps_agency_dossier", "agency_id", "dossier_id"),
    )


class DossierEvent(Base):
    """Phiếu kiểm soát quá trình giải quyết: one append-only row per act, chained by hash.

    Also the transactional outbox: rows are written in the same transaction as the change and
    delivered to consumers in `seq` order per dossier. A trigger refuses UPDATE and DELETE.
    """

    __tablename__ = "dossier_events"
    # Partitioned by local year of `at` (migration 0033, core.partitions): the key is part of
    # the primary key, as PostgreSQL requires; `seq` alone still orders and names an event.
    __table_args__ = ({"postgresql_partition_by": "RANGE (at)"},)
    # The ORM knows an event by `seq` alone (session.get(DossierEvent, seq)).
    __mapper_args__ = {"primary_key": ["seq"]}  # noqa: RUF012

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    dossier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dossiers.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    action: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_label: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str | None] = mapped_column(String(40))
    agency_id: Mapped[uuid.UUID | None] = mapped_column()
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    from_step: Mapped[int | None] = mapped_column(Integer)
    to_step: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    punctuality: Mapped[str | None] = mapped_column(String(10))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The request that made it (X-Request-Id), carried to the outbox work; not part of the hash.
    request_id: Mapped[str | None] = mapped_column(String(100))


class DossierTrailAnchor(Base):
    """Where a dossier's trail goes on after its first events were detached for the archive with
    their year (`dvc partitions detach`, services.partitions): the last detached event's `seq`
    and `hash` and how many events were detached. The trail check starts the chain there."""

    __tablename__ = "dossier_trail_anchors"

    dossier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dossiers.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer)
    detached_into: Mapped[str] = mapped_column(String(100))  # the last table detached with its events


class DossierCodeCounter(Base):
    """The daily sequence of dossier codes per receiving agency (never duplicated)."""

    __tablename__ = "dossier_code_counters"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class IdempotencyKey(Base):
    """A client-supplied key: the same mutation retried with it is applied once."""

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    operation: Mapped[str] = mapped_column(String(60))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HolidayOverride(Base):
    """An admin's correction of the calendar: an extra day off, or a weekend day worked."""

    __tablename__ = "holiday_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_working_day: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))


class UnitCalendar(Base):
    """A receiving unit's own office hours, overriding the province's (a centre with a Saturday
    morning session, other hours or another cut-off). The days off stay the province's."""

    __tablename__ = "unit_calendars"

    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True
    )
    morning_start: Mapped[time] = mapped_column(Time)
    morning_end: Mapped[time] = mapped_column(Time)
    afternoon_start: Mapped[time] = mapped_column(Time)
    afternoon_end: Mapped[time] = mapped_column(Time)
    cutoff: Mapped[time | None] = mapped_column(Time)  # null: no cut-off
    saturday_start: Mapped[time | None] = mapped_column(Time)  # null: no Saturday session
    saturday_end: Mapped[time | None] = mapped_column(Time)
    saturday_counts: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("(saturday_start IS NULL) = (saturday_end IS NULL)", name="saturday_pair"),
    )


class ConsumerKind(enum.Enum):
    """How a consumer is spoken to."""

    WEBHOOK = "WEBHOOK"  # our own JSON, HMAC-signed with the consumer's secret
    NATIONAL_PORTAL = "NATIONAL_PORTAL"  # Cổng Dịch vụ công quốc gia: its sync payload, OAuth2 + HMAC


class EventConsumer(UUIDPk, Base):
    """A registered receiver of dossier events (the national portal adapter, webhooks)."""

    __tablename__ = "event_consumers"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[ConsumerKind] = mapped_column(
        _enum(ConsumerKind, "consumer_kind"), server_default=ConsumerKind.WEBHOOK.value
    )
    url: Mapped[str] = mapped_column(String(1000))
    # Webhooks: the signing key. The national portal's credentials live in settings, not here.
    secret: Mapped[str] = mapped_column(String(200))
    # After a rotation the old key also signs (X-DVC-Signature-Previous) until this moment.
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Only these actions are sent (None: all); the others are skipped, in order, as acknowledged.
    actions: Mapped[list[str] | None] = mapped_column(ARRAY(String(40)))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventDelivery(Base):
    """How far each consumer has received each dossier's events (in order, at least once)."""

    __tablename__ = "event_deliveries"

    consumer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_consumers.id", ondelete="CASCADE"), primary_key=True
    )
    dossier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dossiers.id"), primary_key=True)
    delivered_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class PortalSubmission(Base):
    """A dossier submitted on the national public service portal (hồ sơ nộp qua Cổng Dịch vụ công
    quốc gia), keyed by the portal's own dossier id: a retried delivery creates nothing new."""

    __tablename__ = "portal_submissions"

    portal_dossier_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Null only inside the transaction that claims the id and creates the dossier.
    dossier_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dossiers.id"), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
