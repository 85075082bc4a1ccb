"""Online payments of a dossier's fees (giao dịch thanh toán trực tuyến)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UUIDPk


class PaymentState(enum.Enum):
    PENDING = "PENDING"  # the payer was sent to the gateway
    PAID = "PAID"  # the gateway confirmed it (signed notification)
    FAILED = "FAILED"  # the gateway reported a failure or cancellation
    EXPIRED = "EXPIRED"  # no answer before the payment link expired and the query found none
    DUPLICATE = "DUPLICATE"  # paid after another attempt had paid the dossier: to be refunded


class Payment(UUIDPk, Base):
    """One attempt to pay a dossier's fees at a gateway. `txn_ref` is our order reference there;
    amounts are VND. The dossier is paid by at most one attempt."""

    __tablename__ = "payments"

    dossier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dossiers.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(40))
    merchant: Mapped[str] = mapped_column(String(60))  # the fee account's merchant code there
    txn_ref: Mapped[str] = mapped_column(String(100), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[PaymentState] = mapped_column(
        Enum(PaymentState, name="payment_state", native_enum=True, validate_strings=True)
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # as the gateway says
    transaction_no: Mapped[str | None] = mapped_column(String(100))
    bank_code: Mapped[str | None] = mapped_column(String(40))
    response_code: Mapped[str | None] = mapped_column(String(10))
    notification: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the signed callback kept

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        Index(
            "uq_payments_one_paid_per_dossier",
            "dossier_id",
            unique=True,
            postgresql_where=text("state = 'PAID'"),
        ),
        Index("ix_payments_pending", "expires_at", postgresql_where=text("state = 'PENDING'")),
    )


class RefundReason(enum.Enum):
    """Why a payment is given back (hoàn trả phí, lệ phí)."""

    WITHDRAWN = "WITHDRAWN"  # the applicant withdrew the dossier (rút hồ sơ)
    AGENCY_UNABLE = "AGENCY_UNABLE"  # refused: the agency could not carry the procedure out
    DUPLICATE = "DUPLICATE"  # paid twice: the second payment goes back


class RefundState(enum.Enum):
    PENDING = "PENDING"  # to be sent to the gateway, or sent with no answer yet (retried)
    REFUNDED = "REFUNDED"  # the gateway accepted it
    FAILED = "FAILED"  # the gateway refused it for good: handled by hand


class Refund(UUIDPk, Base):
    """The refund of one payment: at most one per payment, so a retried request applies once.
    `attempts` counts calls to the gateway; before calling again after an unanswered call, the
    gateway is asked whether the first one went through."""

    __tablename__ = "payment_refunds"

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), unique=True)
    dossier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dossiers.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[RefundReason] = mapped_column(
        Enum(RefundReason, name="refund_reason", native_enum=True, validate_strings=True)
    )
    state: Mapped[RefundState] = mapped_column(
        Enum(RefundState, name="refund_state", native_enum=True, validate_strings=True)
    )
    comment: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    requested_by: Mapped[str] = mapped_column(String(300))  # a person's name, or the system
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_code: Mapped[str | None] = mapped_column(String(10))
    transaction_no: Mapped[str | None] = mapped_column(String(100))  # the gateway's, of the refund

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_payment_refunds_due", "next_attempt_at", postgresql_where=text("state = 'PENDING'")),
    )
