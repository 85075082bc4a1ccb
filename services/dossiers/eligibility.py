"""Whether a procedure takes a dossier as given: published and in force, offered online (for online
and national-portal submissions), delivering the result the chosen way; and whether the dossier owes
fees by its channel. Where it is received and who settles it: services.dossiers.routing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import (
    OnlineMode,
    Procedure,
    ProcedureFee,
    ProcedureStatus,
    ProcedureVersion,
)
from models.dossiers import Channel, PaymentStatus
from services.dossiers import fees
from services.errors import FieldIssue, ValidationFailed


async def published(session: AsyncSession, code: str) -> tuple[Procedure, ProcedureVersion]:
    """The published version of a procedure by its national code (field errors otherwise)."""
    procedure = await session.scalar(select(Procedure).where(Procedure.code == code))
    if procedure is None or procedure.published_version_id is None:
        raise ValidationFailed([FieldIssue(("procedureCode",), "UNKNOWN", "Thủ tục không tồn tại.")])
    if procedure.status is not ProcedureStatus.PUBLISHED:
        raise ValidationFailed(
            [FieldIssue(("procedureCode",), "NOT_AVAILABLE", "Thủ tục đang tạm ngừng hoặc đã bãi bỏ.")]
        )
    return procedure, await session.get_one(ProcedureVersion, procedure.published_version_id)


def require_online(version: ProcedureVersion) -> None:
    """The procedure offers an online public service (dịch vụ công trực tuyến)."""
    if version.online_mode is OnlineMode.NONE:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("procedureCode",), "NOT_ONLINE", "Thủ tục này chưa cung cấp dịch vụ công trực tuyến."
                )
            ]
        )


def check_delivery(version: ProcedureVersion, method: str | None) -> None:
    if method is not None and method not in version.delivery_methods:
        raise ValidationFailed(
            [FieldIssue(("deliveryMethod",), "NOT_ALLOWED", "Thủ tục không trả kết quả theo hình thức này.")]
        )


async def payment_status(session: AsyncSession, version: ProcedureVersion, channel: Channel) -> PaymentStatus:
    """Unpaid when something is owed by this channel (a fee waived online owes nothing online)."""
    fee_rows = await session.scalars(select(ProcedureFee).where(ProcedureFee.version_id == version.id))
    return PaymentStatus.UNPAID if fees.fees_due(fee_rows, channel).total > 0 else PaymentStatus.NOT_REQUIRED
