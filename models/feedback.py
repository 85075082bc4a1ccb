"""Feedback and recommendations (phản ánh, kiến nghị) and questions (hỏi – đáp).

Quảng Ngãi art. 19–20, Kon Tum ch. IV: the head of the one-stop unit is the focal point (đầu mối);
within 3 working days of receipt a question is reviewed, classified and forwarded to the competent
agency, which answers; answers are published on the portal. One table holds both kinds: they share
the path (received → forwarded → answered → published), differing only in name and template.

`public_question` / `public_answer` are the texts shown to everyone, with personal data redacted
when the answer is published; the original texts stay for the submitter and the staff concerned.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UUIDPk


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=True, validate_strings=True)


class InquiryKind(enum.Enum):
    FEEDBACK = "FEEDBACK"  # phản ánh, kiến nghị
    QUESTION = "QUESTION"  # hỏi – đáp


class InquiryChannel(enum.Enum):
    ONLINE = "ONLINE"  # trên Cổng dịch vụ công (tài khoản)
    LETTER = "LETTER"  # thư, văn bản — entered by staff
    PHONE = "PHONE"  # điện thoại — entered by staff
    EMAIL = "EMAIL"  # thư điện tử — entered by staff
    OPEN311 = "OPEN311"  # through the Open311 GeoReport v2 endpoint (an application)
    NATIONAL_PORTAL = "NATIONAL_PORTAL"  # received on the national PAKN system, handed to us


class InquiryStatus(enum.Enum):
    RECEIVED = "RECEIVED"  # đã tiếp nhận, chờ đầu mối phân loại
    FORWARDED = "FORWARDED"  # đã chuyển cơ quan có thẩm quyền, chờ trả lời
    ANSWERED = "ANSWERED"  # đã trả lời, chờ đầu mối xem xét công khai
    PUBLISHED = "PUBLISHED"  # đã công khai câu trả lời
    DECLINED = "DECLINED"  # không thuộc phạm vi xử lý (khiếu nại, tố cáo, trùng lặp…)


class Inquiry(UUIDPk, Base):
    """A feedback/recommendation or a question, from submission to published answer."""

    __tablename__ = "inquiries"

    code: Mapped[str] = mapped_column(String(20), unique=True)  # public tracking code
    kind: Mapped[InquiryKind] = mapped_column(_enum(InquiryKind, "inquiry_kind"))
    channel: Mapped[InquiryChannel] = mapped_column(_enum(InquiryChannel, "inquiry_channel"))
    status: Mapped[InquiryStatus] = mapped_column(_enum(InquiryStatus, "inquiry_status"))
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    # Who: an account, or a person whose letter/call/e-mail a staff member entered.
    submitter_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    submitter_name: Mapped[str] = mapped_column(String(200))
    submitter_email: Mapped[str | None] = mapped_column(String(254))
    submitter_phone: Mapped[str | None] = mapped_column(String(20))
    submitter_address: Mapped[str | None] = mapped_column(String(500))
    entered_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    app_client_id: Mapped[str | None] = mapped_column(String(100))  # Open311 submissions
    # What it is about (all optional).
    procedure_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("procedures.id"), index=True)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    dossier_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dossiers.id"))
    # Where it happened, as the submitter described it (Open311 `address_string`); published with
    # the answer, redacted like it. Not the submitter's own address (`submitter_address`).
    location_address: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    # Routing: the focal point's unit, the field chosen when classifying, the competent agency.
    focal_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    field_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fields.id"))
    competent_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    classify_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    forwarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    forwarded_on_time: Mapped[bool | None] = mapped_column(Boolean)
    answer_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    returned_count: Mapped[int] = mapped_column(Integer, default=0)  # answers sent back as unsuitable
    decline_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    public_title: Mapped[str | None] = mapped_column(String(300))
    public_question: Mapped[str | None] = mapped_column(Text)
    public_answer: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search_text: Mapped[str] = mapped_column(Text, default="")  # folded public texts, when published
    version: Mapped[int] = mapped_column(Integer, default=1)
    # MaPAKNQG: the national feedback system's id, for feedback it received and handed to us.
    national_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_inquiries_status_due", "status", "classify_due_at"),
        Index(
            "ix_inquiries_published",
            "published_at",
            postgresql_where=text("status = 'PUBLISHED'"),
        ),
        Index(
            "ix_inquiries_search",
            text("to_tsvector('simple'::regconfig, search_text)"),
            postgresql_using="gin",
        ),
    )


class InquiryEvent(Base):
    """One step of an inquiry's history (tiến trình xử lý), in order."""

    __tablename__ = "inquiry_events"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    inquiry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inquiries.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InquiryDelivery(Base):
    """How far the national feedback system (Hệ thống PAKN trên Cổng DVCQG) has one inquiry's
    events: the last `InquiryEvent.seq` it acknowledged (or that was not for it), the failures of
    the next one in a row, when to try again and why it failed (`services.national_portal.pakn`)."""

    __tablename__ = "inquiry_deliveries"

    inquiry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inquiries.id", ondelete="CASCADE"), primary_key=True
    )
    delivered_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class NationalFeedbackMessage(Base):
    """One message of the national feedback system applied here (MaThongDiep): a retry of the
    same message is answered as before and applied once."""

    __tablename__ = "national_feedback_messages"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    inquiry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inquiries.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
