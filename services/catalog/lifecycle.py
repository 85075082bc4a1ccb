"""The catalog life cycle as data: (status, action) → next status.

Quảng Ngãi 39/2020 art. 6: procedures are published, amended, suspended and abolished by
decision of the provincial chairman, and configured on the system within 5 working days. The
same table enforces transitions and answers "what may be done now" (`available_actions`).
"""

from __future__ import annotations

import enum

from models.catalog import ProcedureStatus as S
from services.errors import InvalidTransition


class CatalogAction(enum.Enum):
    AMEND = "AMEND"  # prepare a new version (sửa đổi, bổ sung)
    PUBLISH = "PUBLISH"  # publish the prepared version by decision (công bố)
    SUSPEND = "SUSPEND"  # tạm ngừng
    RESUME = "RESUME"  # tiếp tục
    ABOLISH = "ABOLISH"  # bãi bỏ


TRANSITIONS: dict[tuple[S, CatalogAction], S] = {
    (S.DRAFT, CatalogAction.AMEND): S.DRAFT,
    (S.DRAFT, CatalogAction.PUBLISH): S.PUBLISHED,
    (S.DRAFT, CatalogAction.ABOLISH): S.ABOLISHED,
    (S.PUBLISHED, CatalogAction.AMEND): S.PUBLISHED,
    (S.PUBLISHED, CatalogAction.PUBLISH): S.PUBLISHED,
    (S.PUBLISHED, CatalogAction.SUSPEND): S.SUSPENDED,
    (S.PUBLISHED, CatalogAction.ABOLISH): S.ABOLISHED,
    (S.SUSPENDED, CatalogAction.AMEND): S.SUSPENDED,
    (S.SUSPENDED, CatalogAction.PUBLISH): S.PUBLISHED,
    (S.SUSPENDED, CatalogAction.RESUME): S.PUBLISHED,
    (S.SUSPENDED, CatalogAction.ABOLISH): S.ABOLISHED,
}

STATUS_LABELS = {
    S.DRAFT: "dự thảo",
    S.PUBLISHED: "đã công bố",
    S.SUSPENDED: "tạm ngừng",
    S.ABOLISHED: "đã bãi bỏ",
}

ACTION_LABELS = {
    CatalogAction.AMEND: "sửa đổi",
    CatalogAction.PUBLISH: "công bố",
    CatalogAction.SUSPEND: "tạm ngừng",
    CatalogAction.RESUME: "tiếp tục",
    CatalogAction.ABOLISH: "bãi bỏ",
}


def next_status(status: S, action: CatalogAction) -> S:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition(
            status.value,
            action.value,
            f"Không thể {ACTION_LABELS[action]} thủ tục đang ở trạng thái {STATUS_LABELS[status]}.",
        ) from None


def available_actions(status: S, *, has_draft: bool) -> list[CatalogAction]:
    """Actions allowed now; publishing also needs a prepared draft version."""
    return [
        action
        for (from_status, action) in TRANSITIONS
        if from_status is status and (action is not CatalogAction.PUBLISH or has_draft)
    ]
