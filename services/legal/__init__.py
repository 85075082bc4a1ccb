"""The legal map in one place: the texts the system applies, with their dates, and which of them
governs a dossier by the day it was received.

Every citation shown to a citizen or an officer (GraphQL descriptions, slips, messages) is looked
up here, never written as a literal: when a text is replaced, this module changes and nothing else.
Dates marked `verified=False` come from a secondary source (DESIGN.md "The law since 2025").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum


class Kind(Enum):
    DECREE = "DECREE"  # Nghị định
    CIRCULAR = "CIRCULAR"  # Thông tư
    DECISION = "DECISION"  # Quyết định


KIND_NAMES = {Kind.DECREE: "Nghị định", Kind.CIRCULAR: "Thông tư", Kind.DECISION: "Quyết định"}


@dataclass(frozen=True)
class LegalText:
    key: str  # stable handle used by the code: "decree-118-2025"
    kind: Kind
    number: str  # as printed: "118/2025/NĐ-CP"
    title: str  # Vietnamese subject of the text
    effective_from: date | None  # None: not known to us
    replaced_by: str | None = None  # key of the text that replaced it
    amends: str | None = None  # key of the text this one amends
    verified: bool = True

    @property
    def citation(self) -> str:
        """«Nghị định số 118/2025/NĐ-CP» — the form a document cites it in."""
        return f"{KIND_NAMES[self.kind]} số {self.number}"

    @property
    def short(self) -> str:
        """«Nghị định 118/2025/NĐ-CP»: the short form of descriptions and messages."""
        return f"{KIND_NAMES[self.kind]} {self.number}"


TEXTS: dict[str, LegalText] = {
    t.key: t
    for t in (
        LegalText(
            "decree-61-2018",
            Kind.DECREE,
            "61/2018/NĐ-CP",
            "về thực hiện cơ chế một cửa, một cửa liên thông trong giải quyết thủ tục hành chính",
            date(2018, 6, 21),
            replaced_by="decree-118-2025",
            verified=False,
        ),
        LegalText(
            "decree-107-2021",
            Kind.DECREE,
            "107/2021/NĐ-CP",
            "sửa đổi, bổ sung một số điều của Nghị định số 61/2018/NĐ-CP",
            date(2022, 1, 20),
            replaced_by="decree-118-2025",
            amends="decree-61-2018",
            verified=False,
        ),
        LegalText(
            "decree-118-2025",
            Kind.DECREE,
            "118/2025/NĐ-CP",
            "về thực hiện thủ tục hành chính theo cơ chế một cửa, một cửa liên thông tại Bộ phận Một cửa "
            "và Cổng Dịch vụ công quốc gia",
            date(2025, 7, 1),
        ),
        LegalText(
            "decree-367-2025",
            Kind.DECREE,
            "367/2025/NĐ-CP",
            "sửa đổi, bổ sung một số điều của Nghị định số 118/2025/NĐ-CP",
            None,
            amends="decree-118-2025",
            verified=False,
        ),
        LegalText(
            "circular-01-2018",
            Kind.CIRCULAR,
            "01/2018/TT-VPCP",
            "hướng dẫn thi hành một số quy định của Nghị định số 61/2018/NĐ-CP",
            date(2018, 12, 22),
            replaced_by="circular-03-2025",
            verified=False,
        ),
        LegalText(
            "circular-03-2025",
            Kind.CIRCULAR,
            "03/2025/TT-VPCP",
            "quy định chi tiết một số điều của Nghị định số 118/2025/NĐ-CP (biểu mẫu, mã số hồ sơ)",
            date(2025, 9, 15),
        ),
        LegalText(
            "decree-45-2020",
            Kind.DECREE,
            "45/2020/NĐ-CP",
            "về thực hiện thủ tục hành chính trên môi trường điện tử",
            date(2020, 5, 22),
        ),
        LegalText(
            "decree-224-2026",
            Kind.DECREE,
            "224/2026/NĐ-CP",
            "về dịch vụ công trực tuyến",
            date(2026, 7, 1),
            verified=False,
        ),
        LegalText(
            "decision-766-2022",
            Kind.DECISION,
            "766/QĐ-TTg",
            "phê duyệt Bộ chỉ số chỉ đạo, điều hành và đánh giá chất lượng phục vụ người dân, doanh "
            "nghiệp trong thực hiện thủ tục hành chính, dịch vụ công theo thời gian thực trên môi trường "
            "điện tử",
            date(2022, 6, 23),
            verified=False,
        ),
    )
}


def text(key: str) -> LegalText:
    return TEXTS[key]


def in_force(key: str, on: date) -> bool:
    """Whether a text applies on a day (replaced texts stop the day their successor starts)."""
    t = TEXTS[key]
    if t.effective_from is not None and on < t.effective_from:
        return False
    if t.replaced_by is not None:
        successor = TEXTS[t.replaced_by].effective_from
        return successor is None or on < successor
    return True


def one_stop_decree(received_on: date) -> LegalText:
    """The one-stop mechanism a dossier is handled under, by the day it was received: Decree
    61/2018 (as amended by 107/2021) before 1 July 2025, Decree 118/2025 from that day."""
    return TEXTS["decree-118-2025" if in_force("decree-118-2025", received_on) else "decree-61-2018"]


def one_stop_basis(received_on: date) -> tuple[LegalText, ...]:
    """The one-stop decree with its amendment: (61/2018, 107/2021) or (118/2025, 367/2025)."""
    main = one_stop_decree(received_on)
    return (main, *(t for t in TEXTS.values() if t.amends == main.key))


def form_circular(received_on: date) -> LegalText:
    """The circular whose forms a dossier's slips follow, by the day it was received: Circular
    01/2018/TT-VPCP (six forms) before 15 September 2025, Circular 03/2025/TT-VPCP (seven) from it."""
    return TEXTS["circular-03-2025" if in_force("circular-03-2025", received_on) else "circular-01-2018"]


def basis_citation(received_on: date) -> str:
    """«Nghị định số 118/2025/NĐ-CP (được sửa đổi, bổ sung bởi Nghị định số 367/2025/NĐ-CP)»."""
    main, *amendments = one_stop_basis(received_on)
    if not amendments:
        return main.citation
    return f"{main.citation} (được sửa đổi, bổ sung bởi {', '.join(a.citation for a in amendments)})"


def article(key: str, number: int | str) -> str:
    """«Nghị định 61/2018/NĐ-CP, Điều 19» — a text's article as messages and descriptions cite it."""
    return f"{TEXTS[key].short}, Điều {number}"
