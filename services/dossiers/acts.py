"""What each act of the dossier life cycle carries, one small typed value per act (the
vocabulary of DESIGN.md "Dossiers"; Circular 01/2018/TT-VPCP forms 02–04).

Commands take these values; notices read their attributes. What an act stores on the trail is
written by `payload` and read back by `completion_items`, `refusal_reasons` and `apology` — the
one place that knows the stored JSON shape (the trail, the outbox and the national-portal feed
read it, so it does not change).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ComponentFiles:
    """Tệp của một thành phần hồ sơ: the files given for one component of the procedure."""

    component_id: uuid.UUID
    file_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class RequestCompletion:
    """Yêu cầu bổ sung, hoàn thiện hồ sơ (phiếu mẫu 02): every item to complete, once."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class RefuseReceipt:
    """Từ chối tiếp nhận hồ sơ (phiếu mẫu 03), with its reasons."""

    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Resubmit:
    """Nộp lại hồ sơ đã bổ sung, hoàn thiện: new components and, optionally, a new e-form."""

    components: tuple[ComponentFiles, ...]
    form_data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Assign:
    """Phân công người xử lý bước hiện tại."""

    assignee_id: uuid.UUID


@dataclass(frozen=True)
class Forward:
    """Chuyển bước tiếp theo, optionally to a chosen assignee."""

    assignee_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SendBack:
    """Trả về bước trước: to the given step, else the previous processing step."""

    to_position: int | None = None


@dataclass(frozen=True)
class RequestSupplement:
    """Yêu cầu bổ sung trong khi giải quyết (dừng tính thời gian): every document needed.
    `confirm_late`: the officer was warned that a second request counts the dossier as late
    (Decision 766) and sends it anyway."""

    items: tuple[str, ...]
    confirm_late: bool = False


@dataclass(frozen=True)
class Supplement:
    """Bổ sung hồ sơ (tính thời gian tiếp): the documents that arrived."""

    components: tuple[ComponentFiles, ...]


@dataclass(frozen=True)
class Apologize:
    """Xin lỗi và hẹn lại ngày trả kết quả (phiếu mẫu 04): the new date and why."""

    new_appointment: datetime
    reason: str


@dataclass(frozen=True)
class Approve:
    """Phê duyệt, có kết quả: the electronic result files."""

    result_files: tuple[uuid.UUID, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Refuse:
    """Từ chối giải quyết, with its reasons."""

    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ReturnResult:
    """Trả kết quả (ONLINE, POST or COUNTER) and close the dossier."""

    method: str


Act = (
    RequestCompletion
    | RefuseReceipt
    | Resubmit
    | Assign
    | Forward
    | SendBack
    | RequestSupplement
    | Supplement
    | Apologize
    | Approve
    | Refuse
    | ReturnResult
)


# --- the storage boundary -------------------------------------------------------------------------


def payload(act: Act | None) -> dict[str, Any]:
    """What the act itself puts in its trail event's `data` (the command adds what it decided,
    such as the result files or the paused working minutes). An apology's reason is the event's
    comment, not data."""
    match act:
        case RequestCompletion(items=items) | RequestSupplement(items=items):
            confirmed = isinstance(act, RequestSupplement) and act.confirm_late
            return {"items": list(items), **({"confirmLate": True} if confirmed else {})}
        case RefuseReceipt(reasons=reasons) | Refuse(reasons=reasons):
            return {"reasons": list(reasons)}
        case Assign(assignee_id=assignee):
            return {"assignee": str(assignee)}
        case Apologize(new_appointment=new_appointment):
            return {"newAppointment": new_appointment.isoformat()}
        case ReturnResult(method=method):
            return {"method": method}
        case _:
            return {}


def comment(act: Act | None, given: str | None) -> str | None:
    """The trail event's comment: an apology's reason, else the officer's comment."""
    return act.reason if isinstance(act, Apologize) else given


def completion_items(data: Mapping[str, Any]) -> RequestCompletion:
    """The request for completion stored by `payload`."""
    return RequestCompletion(tuple(data.get("items", [])))


def refusal_reasons(data: Mapping[str, Any]) -> RefuseReceipt:
    """The refusal of receipt stored by `payload`."""
    return RefuseReceipt(tuple(data.get("reasons", [])))


def apology(data: Mapping[str, Any], comment: str | None) -> Apologize:
    """The apology stored by `payload` (its reason is the event's comment)."""
    return Apologize(datetime.fromisoformat(data["newAppointment"]), comment or "")
