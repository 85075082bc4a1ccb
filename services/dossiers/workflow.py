"""The dossier life cycle as data (Decree 61/2018 art. 15–19; Circular 01/2018/TT-VPCP).

One table of (status, action) → next status, one table of action → who may take it, one guard
that enforces both, and the same tables answer "what may this caller do now"
(`available_actions`). Conditions that depend on the dossier beyond its status (completion asked
only once, approving only at the last step…) are named guards beside the tables.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.dossiers import DossierStatus as S
from services.errors import InvalidTransition


class Action(enum.Enum):
    SUBMIT = "SUBMIT"  # nộp hồ sơ
    RECEIVE = "RECEIVE"  # tiếp nhận, cấp mã và giấy hẹn
    REQUEST_COMPLETION = "REQUEST_COMPLETION"  # yêu cầu bổ sung, hoàn thiện (một lần)
    REFUSE_RECEIPT = "REFUSE_RECEIPT"  # từ chối tiếp nhận
    RESUBMIT = "RESUBMIT"  # nộp lại sau khi hoàn thiện
    ASSIGN = "ASSIGN"  # phân công người xử lý bước
    FORWARD = "FORWARD"  # chuyển bước tiếp theo
    SEND_BACK = "SEND_BACK"  # trả về bước trước
    REQUEST_SUPPLEMENT = "REQUEST_SUPPLEMENT"  # yêu cầu bổ sung trong khi giải quyết (dừng tính thời gian)
    SUPPLEMENT = "SUPPLEMENT"  # công dân bổ sung (tính thời gian tiếp)
    APOLOGIZE = "APOLOGIZE"  # xin lỗi và hẹn lại ngày trả kết quả
    APPROVE = "APPROVE"  # phê duyệt, có kết quả
    REFUSE = "REFUSE"  # từ chối giải quyết
    RETURN = "RETURN"  # trả kết quả, kết thúc
    WITHDRAW = "WITHDRAW"  # rút hồ sơ


class Party(enum.Enum):
    APPLICANT = "APPLICANT"  # the dossier's owner
    RECEPTION = "RECEPTION"  # a one-stop officer of the receiving unit
    STEP_HANDLER = "STEP_HANDLER"  # the current step's assignee (or its role at its agency, if unassigned)
    STEP_LEADER = "STEP_LEADER"  # a leader of the current step's agency


TRANSITIONS: dict[tuple[S, Action], S] = {
    (S.DRAFT, Action.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, Action.RECEIVE): S.IN_PROGRESS,
    (S.SUBMITTED, Action.REQUEST_COMPLETION): S.AWAITING_COMPLETION,
    (S.SUBMITTED, Action.REFUSE_RECEIPT): S.REJECTED,
    (S.SUBMITTED, Action.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_COMPLETION, Action.RESUBMIT): S.SUBMITTED,
    (S.AWAITING_COMPLETION, Action.WITHDRAW): S.WITHDRAWN,
    (S.IN_PROGRESS, Action.ASSIGN): S.IN_PROGRESS,
    (S.IN_PROGRESS, Action.FORWARD): S.IN_PROGRESS,
    (S.IN_PROGRESS, Action.SEND_BACK): S.IN_PROGRESS,
    (S.IN_PROGRESS, Action.REQUEST_SUPPLEMENT): S.SUPPLEMENT_REQUESTED,
    (S.IN_PROGRESS, Action.APOLOGIZE): S.IN_PROGRESS,
    (S.IN_PROGRESS, Action.APPROVE): S.RESULT_READY,
    (S.IN_PROGRESS, Action.REFUSE): S.REFUSED,
    (S.IN_PROGRESS, Action.WITHDRAW): S.WITHDRAWN,
    (S.SUPPLEMENT_REQUESTED, Action.SUPPLEMENT): S.IN_PROGRESS,
    (S.SUPPLEMENT_REQUESTED, Action.APOLOGIZE): S.SUPPLEMENT_REQUESTED,
    (S.SUPPLEMENT_REQUESTED, Action.WITHDRAW): S.WITHDRAWN,
    (S.RESULT_READY, Action.RETURN): S.CLOSED,
    (S.REFUSED, Action.RETURN): S.CLOSED,
}

WHO: dict[Action, frozenset[Party]] = {
    Action.SUBMIT: frozenset({Party.APPLICANT}),
    Action.RESUBMIT: frozenset({Party.APPLICANT}),
    Action.SUPPLEMENT: frozenset({Party.APPLICANT, Party.RECEPTION}),  # the counter digitises paper
    Action.WITHDRAW: frozenset({Party.APPLICANT}),
    Action.RECEIVE: frozenset({Party.RECEPTION}),
    Action.REQUEST_COMPLETION: frozenset({Party.RECEPTION}),
    Action.REFUSE_RECEIPT: frozenset({Party.RECEPTION}),
    Action.RETURN: frozenset({Party.RECEPTION}),
    Action.ASSIGN: frozenset({Party.STEP_LEADER, Party.STEP_HANDLER}),
    Action.FORWARD: frozenset({Party.STEP_HANDLER}),
    Action.SEND_BACK: frozenset({Party.STEP_HANDLER}),
    Action.REQUEST_SUPPLEMENT: frozenset({Party.STEP_HANDLER}),
    Action.APOLOGIZE: frozenset({Party.STEP_HANDLER, Party.STEP_LEADER}),
    Action.APPROVE: frozenset({Party.STEP_HANDLER}),
    Action.REFUSE: frozenset({Party.STEP_HANDLER}),
}

# The words for the statuses and the acts — one vocabulary for every text a person reads: the
# guard's messages below, `statusLabel`, the public lookup page, SMS replies, and the slips of
# Circular 01/2018/TT-VPCP (forms 05 and 06 print them with a capital first letter).

STATUS_LABELS: dict[S, str] = {
    S.DRAFT: "đang soạn",
    S.SUBMITTED: "chờ tiếp nhận",
    S.AWAITING_COMPLETION: "chờ bổ sung, hoàn thiện",
    S.IN_PROGRESS: "đang giải quyết",
    S.SUPPLEMENT_REQUESTED: "chờ bổ sung (tạm dừng tính thời gian)",
    S.RESULT_READY: "có kết quả, chờ trả",
    S.REFUSED: "từ chối giải quyết",
    S.CLOSED: "đã trả kết quả",
    S.REJECTED: "từ chối tiếp nhận",
    S.WITHDRAWN: "đã rút hồ sơ",
}

# Keyed by the action as the trail records it: the workflow's actions, and the payment acts the
# payment job records beside the table (PAY, REFUND).
ACTION_LABELS: dict[str, str] = {
    Action.SUBMIT.value: "nộp hồ sơ",
    Action.RECEIVE.value: "tiếp nhận hồ sơ",
    Action.REQUEST_COMPLETION.value: "yêu cầu bổ sung, hoàn thiện hồ sơ",
    Action.REFUSE_RECEIPT.value: "từ chối tiếp nhận hồ sơ",
    Action.RESUBMIT.value: "nộp lại hồ sơ đã hoàn thiện",
    Action.ASSIGN.value: "phân công xử lý",
    Action.FORWARD.value: "chuyển xử lý",
    Action.SEND_BACK.value: "trả lại bước trước",
    Action.REQUEST_SUPPLEMENT.value: "yêu cầu bổ sung (tạm dừng tính thời gian)",
    Action.SUPPLEMENT.value: "bổ sung hồ sơ",
    Action.APOLOGIZE.value: "xin lỗi, hẹn lại ngày trả kết quả",
    Action.APPROVE.value: "phê duyệt kết quả",
    Action.REFUSE.value: "từ chối giải quyết",
    Action.RETURN.value: "trả kết quả",
    Action.WITHDRAW.value: "rút hồ sơ",
    "PAY": "thanh toán phí, lệ phí trực tuyến",
    "REFUND": "hoàn trả phí, lệ phí đã nộp trực tuyến",
}

FINAL = frozenset({S.CLOSED, S.REJECTED, S.WITHDRAWN})


@dataclass(frozen=True)
class Situation:
    """What the guard needs to know about a dossier and its current step."""

    status: S
    applicant_id: uuid.UUID | None
    receiving_agency_id: uuid.UUID
    step_agency_id: uuid.UUID | None = None
    step_role: StaffRole | None = None
    step_assignee_id: uuid.UUID | None = None
    completion_requested: bool = False
    can_forward: bool = False  # a next processing step exists
    can_send_back: bool = False  # an earlier processing step exists
    at_last_step: bool = False  # the last processing step: approve or refuse here


def parties(actor: Actor, s: Situation) -> set[Party]:
    """The parties `actor` is, for this dossier."""
    found: set[Party] = set()
    is_applicant = actor.kind in (ActorKind.CITIZEN, ActorKind.ORGANISATION) and actor.id is not None
    if is_applicant and actor.id == s.applicant_id:
        found.add(Party.APPLICANT)
    if actor.has_role(StaffRole.RECEPTION_OFFICER, s.receiving_agency_id):
        found.add(Party.RECEPTION)
    if s.step_agency_id is not None and s.step_role is not None:
        if s.step_assignee_id is not None:
            if actor.id == s.step_assignee_id:
                found.add(Party.STEP_HANDLER)
        elif actor.has_role(s.step_role, s.step_agency_id):
            found.add(Party.STEP_HANDLER)
        if actor.has_role(StaffRole.LEADER, s.step_agency_id):
            found.add(Party.STEP_LEADER)
    return found


def _condition(action: Action, s: Situation) -> str | None:
    """Why a transition allowed by the table is still not possible now (None: it is)."""
    if action is Action.REQUEST_COMPLETION and s.completion_requested:
        return "Chỉ được yêu cầu bổ sung, hoàn thiện hồ sơ một lần."
    if action is Action.FORWARD and not s.can_forward:
        return "Đây là bước xử lý cuối; hãy phê duyệt hoặc từ chối."
    if action is Action.SEND_BACK and not s.can_send_back:
        return "Không có bước trước để trả về."
    if action in (Action.APPROVE, Action.REFUSE) and not s.at_last_step:
        return "Chỉ phê duyệt hoặc từ chối ở bước xử lý cuối."
    return None


def check(actor: Actor, action: Action, s: Situation) -> S:
    """The one guard: the next status, or InvalidTransition with the reason in Vietnamese. Who
    comes first: a caller who may never take the action is told so, whatever the status."""
    if not (WHO[action] & parties(actor, s)):
        raise InvalidTransition(
            s.status.value,
            action.value,
            f"Bạn không được thực hiện “{ACTION_LABELS[action.value]}” đối với hồ sơ này.",
        )
    target = TRANSITIONS.get((s.status, action))
    if target is None:
        raise InvalidTransition(
            s.status.value,
            action.value,
            f"Không thể thực hiện “{ACTION_LABELS[action.value]}” khi hồ sơ đang ở trạng thái "
            f"“{STATUS_LABELS[s.status]}”.",
        )
    reason = _condition(action, s)
    if reason is not None:
        raise InvalidTransition(s.status.value, action.value, reason)
    return target


def available_actions(actor: Actor, s: Situation) -> list[Action]:
    return [
        action
        for (status, action) in TRANSITIONS
        if status is s.status and WHO[action] & parties(actor, s) and _condition(action, s) is None
    ]
