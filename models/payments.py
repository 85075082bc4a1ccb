"""Online payments of a dossier's fees (giao dịch thanh toán trực tuyến)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Enum, ForeignKey, Index, String, text
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
