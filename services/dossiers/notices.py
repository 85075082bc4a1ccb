"""What a citizen is told about their dossier, in Vietnamese, through the notification outbox
(e-mail and SMS to their verified contacts, as they prefer)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Account
from models.dossiers import Dossier
from services import legal
from services.accounts.owners import tell_owner
from services.dossiers.acts import Act, Refuse, RefuseReceipt, RequestCompletion, RequestSupplement
from services.dossiers.workflow import Action

SYSTEM = "Hệ thống giải quyết TTHC"


def _at(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%H:%M ngày %d/%m/%Y") if value else "—"


def _listed(act: Act | None) -> tuple[str, ...]:
    """What the act lists for the citizen: items to add, or reasons for a refusal."""
    match act:
        case RequestCompletion(items=items) | RequestSupplement(items=items):
            return items
        case RefuseReceipt(reasons=reasons) | Refuse(reasons=reasons):
            return reasons
        case _:
            return ()


def notice(dossier: Dossier, action: Action, act: Act | None, zone: ZoneInfo) -> tuple[str, str] | None:
    """(subject, body) for the acts a citizen cares about; None for internal steps."""
    code = dossier.code or "(chưa cấp mã)"
    items = "; ".join(_listed(act))
    texts: dict[Action, tuple[str, str]] = {
        Action.RECEIVE: (
            f"Hồ sơ {code} đã được tiếp nhận",
            f"Hồ sơ của bạn đã được tiếp nhận, mã hồ sơ {code}. Ngày hẹn trả kết quả: "
            f"{_at(dossier.appointment_at, zone)}.",
        ),
        Action.REQUEST_COMPLETION: (
            "Hồ sơ cần bổ sung, hoàn thiện",
            f"Hồ sơ của bạn cần bổ sung, hoàn thiện: {items}. Vui lòng bổ sung để được tiếp nhận.",
        ),
        Action.REFUSE_RECEIPT: (
            "Hồ sơ không được tiếp nhận",
            f"Hồ sơ của bạn không được tiếp nhận. Lý do: {items}.",
        ),
        Action.REQUEST_SUPPLEMENT: (
            f"Hồ sơ {code} cần bổ sung tài liệu",
            f"Hồ sơ {code} cần bổ sung: {items}. Thời gian giải quyết tạm dừng đến khi bạn bổ sung.",
        ),
        Action.APOLOGIZE: (
            f"Xin lỗi về việc chậm trả kết quả hồ sơ {code}",
            f"Cơ quan giải quyết xin lỗi vì chưa trả kết quả hồ sơ {code} đúng hẹn. Ngày hẹn mới: "
            f"{_at(dossier.due_at, zone)}.",
        ),
        Action.APPROVE: (f"Hồ sơ {code} đã có kết quả", f"Hồ sơ {code} đã có kết quả giải quyết, chờ trả."),
        Action.REFUSE: (
            f"Hồ sơ {code} bị từ chối giải quyết",
            f"Hồ sơ {code} bị từ chối giải quyết. Lý do: {items}.",
        ),
        Action.RETURN: (
            f"Hồ sơ {code} đã trả kết quả",
            f"Kết quả hồ sơ {code} đã được trả và lưu vào kho dữ liệu của bạn. "
            "Mời bạn đánh giá mức độ hài lòng.",
        ),
    }
    found = texts.get(action)
    if found is None:
        return None
    subject, body = found
    return subject, f"{body} — {SYSTEM}"


async def tell_applicant(
    session: AsyncSession,
    dossier: Dossier,
    action: Action,
    act: Act | None,
    *,
    now: datetime,
    zone: ZoneInfo,
) -> None:
    if dossier.applicant_account_id is None:
        return
    message = notice(dossier, action, act, zone)
    if message is None:
        return
    account = await session.get(Account, dossier.applicant_account_id)
    if account is not None:
        template = f"dossier_{action.value.lower()}"
        tell_owner(session, account, template, message[0], message[1], now=now, dossier_id=dossier.id)


async def tell_new_appointment(
    session: AsyncSession, dossier: Dossier, *, now: datetime, zone: ZoneInfo
) -> None:
    """Decree 61/2018 art. 19: the supplement complete, the processing time counts again from the
    start; the applicant is told the new appointment."""
    if dossier.applicant_account_id is None:
        return
    account = await session.get(Account, dossier.applicant_account_id)
    if account is None:
        return
    code = dossier.code or "(chưa cấp mã)"
    subject = f"Hồ sơ {code} có ngày hẹn trả kết quả mới"
    body = (
        f"Hồ sơ {code} đã được bổ sung đầy đủ. Thời gian giải quyết được tính lại từ đầu "
        f"({legal.article('decree-61-2018', 19)}). "
        f"Ngày hẹn trả kết quả mới: {_at(dossier.appointment_at, zone)}."
        f" — {SYSTEM}"
    )
    tell_owner(session, account, "dossier_new_appointment", subject, body, now=now, dossier_id=dossier.id)
