"""Accounts (tài khoản), their profiles, staff assignments, sessions, codes, apps and audit.

Trà Vinh rules art. 6–7 and Kon Tum art. 7–8, 13: citizens and organisations register
themselves (or come from the national e-identity); staff accounts are created by admins; every
account gets its own data vault the moment it is created; accounts are locked, not forgotten,
and every security event is kept.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
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
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamps, UUIDPk


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=True, validate_strings=True)


class AccountKind(enum.Enum):
    CITIZEN = "CITIZEN"  # công dân
    ORGANISATION = "ORGANISATION"  # tổ chức, doanh nghiệp
    STAFF = "STAFF"  # cán bộ, công chức, viên chức


class AccountStatus(enum.Enum):
    PENDING = "PENDING"  # registered, no contact verified yet
    ACTIVE = "ACTIVE"
    LOCKED = "LOCKED"  # bị khoá; see lock_reason
    DELETED = "DELETED"  # registered with false data; personal data erased, audit kept


class LockReason(enum.Enum):
    """Why an account is locked (Trà Vinh art. 6.4.b, 7; Kon Tum art. 8)."""

    FAILED_SIGN_INS = "FAILED_SIGN_INS"  # 5 consecutive wrong passwords
    INACTIVITY = "INACTIVITY"  # 1 year without a successful sign-in
    OWNER_REQUEST = "OWNER_REQUEST"  # theo yêu cầu của chủ tài khoản
    DECEASED = "DECEASED"  # chủ tài khoản qua đời
    MISSING = "MISSING"  # chủ tài khoản bị tuyên bố mất tích (Trà Vinh art. 6.4.b)
    DISSOLVED = "DISSOLVED"  # tổ chức giải thể
    UNASSIGNED = "UNASSIGNED"  # staff no longer assigned
    ADMIN = "ADMIN"  # other decision of an administrator


# Locks that seal the account's vault while they last (services.accounts.estate).
VAULT_SEALING_LOCKS = frozenset({LockReason.DECEASED, LockReason.MISSING})


class Account(UUIDPk, Timestamps, Base):
    __tablename__ = "accounts"

    kind: Mapped[AccountKind] = mapped_column(_enum(AccountKind, "account_kind"))
    status: Mapped[AccountStatus] = mapped_column(_enum(AccountStatus, "account_status"))
    display_name: Mapped[str] = mapped_column(String(300))
    # Stored normalised (lower-case e-mail, +84 phone); unique among live accounts.
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    phone_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lock_reason: Mapped[LockReason | None] = mapped_column(_enum(LockReason, "lock_reason"))
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    inactivity_warned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped to invalidate every access token at once (sign-out everywhere, lock, new password).
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_sms: Mapped[bool] = mapped_column(Boolean, default=True)
    # Zalo (ZNS) to the verified phone number, beside SMS; chosen by the owner.
    notify_zalo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    __table_args__ = (
        Index("uq_accounts_email", "email", unique=True, postgresql_where=text("status <> 'DELETED'")),
        Index("uq_accounts_phone", "phone", unique=True, postgresql_where=text("status <> 'DELETED'")),
        Index("ix_accounts_inactivity", "last_sign_in_at", postgresql_where=text("status = 'ACTIVE'")),
        CheckConstraint("(status = 'LOCKED') = (lock_reason IS NOT NULL)", name="lock_reason"),
    )


class CitizenProfile(Base):
    """Công dân: the 12-digit citizen ID number (số định danh cá nhân) is the identity."""

    __tablename__ = "citizen_profiles"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    citizen_id: Mapped[str | None] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(String(500))
    # Subject at the national e-identity provider, once linked.
    national_identity_subject: Mapped[str | None] = mapped_column(String(200), unique=True)


class OrganisationProfile(Base):
    """Tổ chức, doanh nghiệp: identified by its tax / enterprise code (mã số thuế, mã số doanh nghiệp)."""

    __tablename__ = "organisation_profiles"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    tax_code: Mapped[str | None] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    representative_name: Mapped[str] = mapped_column(String(200))
    representative_citizen_id: Mapped[str | None] = mapped_column(String(12))
    address: Mapped[str | None] = mapped_column(String(500))


class StaffAssignment(UUIDPk, Base):
    """A staff role within an agency (and its sub-agencies when `include_sub_agencies`).

    A system admin's assignment may have no agency: it applies everywhere.
    """

    __tablename__ = "staff_assignments"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    include_sub_agencies: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "uq_staff_assignments_active",
            "account_id",
            text("coalesce(agency_id, '00000000-0000-0000-0000-000000000000'::uuid)"),
            "role",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
        CheckConstraint("agency_id IS NOT NULL OR role = 'SYSTEM_ADMIN'", name="global_only_system_admin"),
    )


class Vault(UUIDPk, Base):
    """Kho quản lý dữ liệu điện tử (Decree 45/2020 art. 16): one per account, from its creation."""

    __tablename__ = "vaults"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RefreshToken(UUIDPk, Base):
    """A refresh token (stored as a hash). Each use rotates it; reuse of a rotated one revokes
    the whole family (the session), because it means the token was stolen."""

    __tablename__ = "refresh_tokens"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(INET)


class CodePurpose(enum.Enum):
    VERIFY_CONTACT = "VERIFY_CONTACT"
    RESET_PASSWORD = "RESET_PASSWORD"  # noqa: S105 — a purpose, not a password
    UNLOCK_ACCOUNT = "UNLOCK_ACCOUNT"  # the owner lifts a lock for wrong passwords


class OneTimeCode(UUIDPk, Base):
    """Mã xác thực một lần, sent to an e-mail or phone; stored hashed, short-lived, few tries."""

    __tablename__ = "one_time_codes"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[CodePurpose] = mapped_column(_enum(CodePurpose, "code_purpose"))
    channel: Mapped[str] = mapped_column(String(10))  # EMAIL | SMS
    destination: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_one_time_codes_destination", "destination", "purpose"),)


class Notification(UUIDPk, Base):
    """Outbox of messages to people (e-mail, SMS), delivered by `services.notifications`."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        Index(
            "ix_notification_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL AND attempts < 10")
        ),
        # Partitioned by local year of `created_at` (migration 0033, core.partitions): the key
        # is part of the primary key and of the unique `seq`, as PostgreSQL requires.
        UniqueConstraint("seq", "created_at"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )
    # The ORM knows a message by `id` alone (session.get(Notification, id)).
    __mapper_args__ = {"primary_key": ["id"]}  # noqa: RUF012

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    destination: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The request that queued it (X-Request-Id), put on the sender's log lines.
    request_id: Mapped[str | None] = mapped_column(String(100))
    # The dossier a notice is about (shown with a caught message). Not a foreign key: removing a
    # draft must not scan the outbox, and the outbox never reads it.
    dossier_id: Mapped[uuid.UUID | None] = mapped_column()


class CaughtMessage(Base):
    """A copy of an e-mail or SMS caught in development instead of sent (`services.caught`):
    ENVIRONMENT=development with no SMTP_HOST (resp. SMS_GATEWAY_URL). Shown by `dvc messages`
    and GET /dev/messages; the outbox row itself is marked sent as in production."""

    __tablename__ = "caught_messages"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    # The outbox row it copies; unique, so a round retried after a failed commit keeps one copy.
    notification_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    dossier_id: Mapped[uuid.UUID | None] = mapped_column()  # the outbox row's (no foreign key)
    channel: Mapped[str] = mapped_column(String(10))
    destination: Mapped[str] = mapped_column(String(320), index=True)
    template: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    caught_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ZaloToken(Base):
    """The Zalo Official Account's OAuth tokens (one row): Zalo's refresh tokens are used once —
    each refresh answers a new one, kept here so every process and restart uses the latest."""

    __tablename__ = "zalo_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OAuthClient(UUIDPk, Base):
    """Ứng dụng bên thứ ba: OAuth 2 client credentials with scopes; the secret is stored hashed."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=600)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OidcLogin(Base):
    """A sign-in with the national e-identity in progress: state → nonce and PKCE verifier."""

    __tablename__ = "oidc_logins"

    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RateCounter(Base):
    """Fixed-window counters shared by every app process (sign-in, registration, lookups…)."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class SecurityEvent(Base):
    """Nhật ký an ninh: who did what to which account, when, from where, with what outcome.

    Append-only; kept when the account it names is deleted.
    """

    __tablename__ = "security_events"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    # Partitioned by local year of `at` (migration 0033): the key is part of the primary key.
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True, primary_key=True)
    event: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(20))  # SUCCESS | FAILURE | DENIED
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_label: Mapped[str] = mapped_column(String(200))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    address: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))

    __table_args__ = (
        Index("ix_security_events_address", "address", "at"),
        {"postgresql_partition_by": "RANGE (at)"},
    )
    __mapper_args__ = {"primary_key": ["seq"]}  # noqa: RUF012 — the ORM knows an event by `seq` alone
