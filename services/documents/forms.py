"""The official forms as versioned data: which set of slips a dossier gets, and what each form must
carry.

A **form set** is the appendix of forms of one circular, in force from a date: Circular
01/2018/TT-VPCP (six forms) for dossiers received before 15 September 2025, Circular
03/2025/TT-VPCP (seven forms) for those received from that day. A dossier keeps the set in force
on the local day it was received (`set_on`; not yet received: today) — so a slip
printed today for an old dossier is the old form. The switch date is the second set's
`effective_from`; a province changes it (or adds a set) here, not in the renderers.

Each **template** names the form's number, its title, its paper and, in `fields`, the headings,
field labels and fixed phrases of the circular's form, in the order they are printed: the test
`tests/test_forms.py` renders every form of every set and checks that each of them is printed.

Where these lists come from (docs/domain.md, "The official forms"): Circular 01/2018's forms are
written from memory of the circular's appendix and agree with the forms printed by provincial
systems; Circular 03/2025's titles were checked against a published list of its appendix I
(thuviennhadat.vn, September 2025); its fields were not — they repeat Circular 01/2018's form for
form, with the extension request of form 04 and the new form 05 written from the titles. Treat
the 03/2025 field lists as unverified until checked against the gazette.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date

from services import legal


def _effective(key: str) -> date:
    """The day a text's form set starts, from services/legal (the one place of the legal texts)."""
    day = legal.text(key).effective_from
    assert day is not None, key
    return day


class FormKind(enum.Enum):
    RECEIPT = "RECEIPT"  # giấy tiếp nhận hồ sơ và hẹn trả kết quả
    COMPLETION_REQUEST = "COMPLETION_REQUEST"  # phiếu yêu cầu bổ sung, hoàn thiện hồ sơ
    REFUSAL = "REFUSAL"  # phiếu từ chối tiếp nhận (03/2025: tiếp nhận, giải quyết) hồ sơ
    APOLOGY = "APOLOGY"  # xin lỗi và hẹn lại ngày trả kết quả / đề nghị gia hạn
    STOP_NOTICE = "STOP_NOTICE"  # thông báo dừng giải quyết hồ sơ (03/2025 only)
    CONTROL_SLIP = "CONTROL_SLIP"  # phiếu kiểm soát quá trình giải quyết hồ sơ
    TRACKING_BOOK = "TRACKING_BOOK"  # sổ theo dõi hồ sơ


@dataclass(frozen=True)
class FormTemplate:
    kind: FormKind
    number: str  # "01" … "07"
    title: str  # as printed, upper case
    paper: str  # "A5" portrait or "A4" landscape
    fields: tuple[str, ...]  # headings, field labels and fixed phrases, in print order
    circular: str = ""  # the circular whose form it is: set by the FormSet that holds it

    @property
    def label(self) -> str:
        return f"Mẫu số {self.number}"


@dataclass(frozen=True)
class FormSet:
    circular: str  # "Thông tư 01/2018/TT-VPCP"
    effective_from: date
    forms: tuple[FormTemplate, ...]

    def __post_init__(self) -> None:
        """Each form knows its circular (the same form may stand in two sets, as 01–03 do)."""
        object.__setattr__(self, "forms", tuple(replace(f, circular=self.circular) for f in self.forms))

    def form(self, kind: FormKind) -> FormTemplate | None:
        return next((f for f in self.forms if f.kind is kind), None)


_SIGN = "(Ký và ghi rõ họ tên)"
_SEAL = "(Ký, ghi rõ họ tên và đóng dấu)"

_RECEIPT_FIELDS = (
    "Mã hồ sơ",
    "Bộ phận tiếp nhận và trả kết quả",
    "Tiếp nhận hồ sơ của",
    "Địa chỉ",
    "Số điện thoại",
    "Email",
    "Nội dung yêu cầu giải quyết",
    "1. Thành phần hồ sơ nộp gồm",
    "TT",
    "Tên loại giấy tờ",
    "Hình thức (bản chính, bản sao hoặc bản chụp)",
    "Số lượng",
    "2. Số lượng hồ sơ",
    "3. Thời gian giải quyết hồ sơ theo quy định là",
    "4. Thời gian nhận hồ sơ",
    "5. Thời gian trả kết quả giải quyết hồ sơ",
    "6. Đăng ký nhận kết quả tại",
    "Vào Sổ theo dõi hồ sơ, Quyển số",
    "Số thứ tự",
    "NGƯỜI NỘP HỒ SƠ",
    "NGƯỜI TIẾP NHẬN HỒ SƠ",
    _SIGN,
)

_COMPLETION_FIELDS = (
    "Mã hồ sơ",
    "Hồ sơ của",
    "Nội dung yêu cầu giải quyết",
    "yêu cầu Ông/Bà bổ sung, hoàn thiện hồ sơ gồm những nội dung sau",
    "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ với",
    "số điện thoại",
    "để được hướng dẫn",
    "NGƯỜI HƯỚNG DẪN",
    _SIGN,
)

_REFUSAL_FIELDS = (
    "Mã hồ sơ",
    "Bộ phận tiếp nhận và trả kết quả",
    "Tiếp nhận hồ sơ của",
    "Nội dung yêu cầu giải quyết",
    "thông báo không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau",
    "Xin thông báo cho Ông/Bà được biết và thực hiện",
    _SIGN,
)

_APOLOGY_COMMON = (
    "Kính gửi",
    "Mã hồ sơ",
    "Thời gian hẹn trả kết quả giải quyết hồ sơ",
    "chưa trả kết quả giải quyết hồ sơ của Ông/Bà đúng hẹn ghi trong Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "Lý do",
)

_CONTROL_FIELDS = (
    "Mã hồ sơ",
    "Kèm theo hồ sơ của",
    "Nội dung yêu cầu giải quyết",
    "Cơ quan (bộ phận) giải quyết hồ sơ",
    "Cơ quan phối hợp giải quyết hồ sơ",
    "Thời gian nhận hồ sơ",
    "Thời gian hẹn trả kết quả",
    "TÊN CƠ QUAN",
    "THỜI GIAN GIAO, NHẬN HỒ SƠ",
    "KẾT QUẢ GIẢI QUYẾT HỒ SƠ (Trước hạn/đúng hạn/quá hạn)",
    "Người giao",
    "Người nhận",
    "GHI CHÚ",
)

_BOOK_FIELDS = (
    "STT",
    "Mã hồ sơ",
    "Tên thủ tục hành chính",
    "Số lượng hồ sơ (bộ)",
    "Tên cá nhân, tổ chức",
    "Địa chỉ, số điện thoại",
    "Cơ quan chủ trì giải quyết",
    "Nhận hồ sơ",
    "Hẹn trả kết quả",
    "Chuyển hồ sơ đến cơ quan giải quyết",
    "Có kết quả",
    "Trả kết quả",
    "Ký nhận",
    "Ghi chú",
)

CIRCULAR_01_2018 = FormSet(
    circular=legal.text("circular-01-2018").short,
    effective_from=date.min,  # every dossier received before the next set
    forms=(
        FormTemplate(
            FormKind.RECEIPT, "01", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "A5", _RECEIPT_FIELDS
        ),
        FormTemplate(
            FormKind.COMPLETION_REQUEST,
            "02",
            "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            "A5",
            _COMPLETION_FIELDS,
        ),
        FormTemplate(
            FormKind.REFUSAL, "03", "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", "A5", _REFUSAL_FIELDS
        ),
        FormTemplate(
            FormKind.APOLOGY,
            "04",
            "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
            "A5",
            (
                *_APOLOGY_COMMON,
                "xin lỗi Ông/Bà và sẽ trả kết quả giải quyết hồ sơ cho Ông/Bà vào",
                "Xin trân trọng cảm ơn sự hợp tác của Ông/Bà",
                "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ",
                _SEAL,
            ),
        ),
        FormTemplate(
            FormKind.CONTROL_SLIP, "05", "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", "A5", _CONTROL_FIELDS
        ),
        FormTemplate(FormKind.TRACKING_BOOK, "06", "SỔ THEO DÕI HỒ SƠ", "A4", _BOOK_FIELDS),
    ),
)

CIRCULAR_03_2025 = FormSet(
    circular=legal.text("circular-03-2025").short,
    effective_from=_effective("circular-03-2025"),
    forms=(
        FormTemplate(
            FormKind.RECEIPT, "01", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "A5", _RECEIPT_FIELDS
        ),
        FormTemplate(
            FormKind.COMPLETION_REQUEST,
            "02",
            "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            "A5",
            _COMPLETION_FIELDS,
        ),
        FormTemplate(
            FormKind.REFUSAL, "03", "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", "A5", _REFUSAL_FIELDS
        ),
        FormTemplate(
            FormKind.APOLOGY,
            "04",
            "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
            "A5",
            (
                *_APOLOGY_COMMON,
                "xin lỗi Ông/Bà và đề nghị gia hạn thời gian giải quyết hồ sơ đến",
                "Xin trân trọng cảm ơn sự hợp tác của Ông/Bà",
                "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ",
                _SEAL,
            ),
        ),
        FormTemplate(
            FormKind.STOP_NOTICE,
            "05",
            "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
            "A5",
            (
                "Kính gửi",
                "Mã hồ sơ",
                "Nội dung yêu cầu giải quyết",
                "Thời gian nhận hồ sơ",
                "thông báo dừng giải quyết hồ sơ của Ông/Bà",
                "Lý do",
                "Thời điểm dừng giải quyết",
                "Xin thông báo cho Ông/Bà được biết",
                "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ",
                _SEAL,
            ),
        ),
        FormTemplate(
            FormKind.CONTROL_SLIP, "06", "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", "A5", _CONTROL_FIELDS
        ),
        FormTemplate(FormKind.TRACKING_BOOK, "07", "SỔ THEO DÕI HỒ SƠ", "A4", _BOOK_FIELDS),
    ),
)

FORM_SETS: tuple[FormSet, ...] = (CIRCULAR_01_2018, CIRCULAR_03_2025)


def set_on(day: date, sets: tuple[FormSet, ...] = FORM_SETS) -> FormSet:
    """The set in force on `day`: the latest whose `effective_from` is not after it."""
    ordered = sorted(sets, key=lambda s: s.effective_from)
    chosen = ordered[0]
    for candidate in ordered:
        if candidate.effective_from <= day:
            chosen = candidate
    return chosen
