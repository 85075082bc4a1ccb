"""The official forms as versioned data (services/documents/forms.py): Circular 01/2018/TT-VPCP's six
forms for dossiers received before 15 September 2025, Circular 03/2025/TT-VPCP's seven from that
day; and every form, rendered, checked field by field against its template."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from models.dossiers import Dossier
from services.documents import forms
from services.documents.forms import CIRCULAR_01_2018, CIRCULAR_03_2025, FormKind, FormSet, FormTemplate
from services.documents.issue import form_set_of
from services.documents.registers import control_slip, tracking_book
from services.documents.slips import (
    BookRow,
    Signer,
    SlipComponent,
    SlipDossier,
    TrailRow,
    apology,
    completion_request,
    receipt,
    refusal_of_receipt,
    stop_notice,
)

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
RECEIVED = datetime(2025, 9, 12, 9, 30, tzinfo=ZONE)
APPOINTMENT = datetime(2025, 9, 19, 16, 0, tzinfo=ZONE)
LATER = datetime(2025, 9, 24, 10, 0, tzinfo=ZONE)

HEAD = SlipDossier(
    code="000.00.99.H44-250912-0007",
    procedure_code="1.001193",
    procedure_name="Thủ tục đăng ký khai sinh",
    applicant_name="Nguyễn Thị Lan",
    applicant_id="025190001234",
    applicant_address="Khu 5, phường Thanh Miếu, tỉnh Phú Thọ",
    applicant_phone="0912 345 678",
    agency_name="Trung tâm Phục vụ hành chính công tỉnh Phú Thọ",
    received_at=RECEIVED,
    appointment_at=APPOINTMENT,
    lookup_url="https://dichvucong.phutho.gov.vn/tra-cuu/000.00.99.H44-250912-0007#s=x&tt=1.001193",
    applicant_email="lan@example.vn",
    processing_time="05 ngày làm việc",
    result_place="Trực tuyến, trên tài khoản Cổng Dịch vụ công và kho dữ liệu của Ông/Bà",
    book_volume="2025",
    book_number="0042",
    contact_phone="0210 3 888 999",
    lead_agency="Sở Tư pháp",
    partner_agencies=("Chi cục Thuế khu vực",),
)
TRAIL = [
    TrailRow(RECEIVED, "RECEIVE", "Bộ phận Một cửa", "Sở Tư pháp", None, "ON_TIME", None),
    TrailRow(
        RECEIVED + timedelta(days=1),
        "FORWARD",
        "Sở Tư pháp",
        "Chi cục Thuế khu vực",
        "Thẩm định",
        "EARLY",
        None,
    ),
]
BOOK = [
    BookRow(
        code=HEAD.code,
        applicant_name=HEAD.applicant_name,
        procedure_name=HEAD.procedure_name,
        received_at=RECEIVED,
        appointment_at=APPOINTMENT,
        finished_at=APPOINTMENT,
        status="CLOSED",
        punctuality="ON_TIME",
        applicant_address=HEAD.applicant_address,
        applicant_phone=HEAD.applicant_phone,
        lead_agency="Sở Tư pháp",
        handovers=((RECEIVED + timedelta(days=1), "Chi cục Thuế khu vực"),),
        result_at=APPOINTMENT - timedelta(hours=2),
        returned_to=HEAD.applicant_name,
    )
]
SIGNER = Signer(agency="Sở Tư pháp", name="Lê Minh Tuấn")


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


RENDER: dict[FormKind, Callable[[FormTemplate], bytes]] = {
    FormKind.RECEIPT: lambda f: receipt(
        HEAD, [SlipComponent("Tờ khai", "ORIGINAL", 1)], officer="Trần Văn Hùng", zone=ZONE, form=f
    ),
    FormKind.COMPLETION_REQUEST: lambda f: completion_request(
        HEAD, ["Bổ sung giấy chứng sinh."], officer="Trần Văn Hùng", at=RECEIVED, zone=ZONE, form=f
    ),
    FormKind.REFUSAL: lambda f: refusal_of_receipt(
        HEAD, ["Không thuộc thẩm quyền."], officer="Trần Văn Hùng", at=RECEIVED, zone=ZONE, form=f
    ),
    FormKind.APOLOGY: lambda f: apology(
        HEAD, "Chờ xác minh tại xã.", LATER, signer=SIGNER, at=APPOINTMENT, zone=ZONE, form=f
    ),
    FormKind.STOP_NOTICE: lambda f: stop_notice(
        HEAD, "Theo đề nghị rút hồ sơ của Ông/Bà.", LATER, signer=SIGNER, zone=ZONE, form=f
    ),
    FormKind.CONTROL_SLIP: lambda f: control_slip(HEAD, TRAIL, zone=ZONE, form=f),
    FormKind.TRACKING_BOOK: lambda f: tracking_book(
        HEAD.agency_name, "Tháng 9 năm 2025", BOOK, zone=ZONE, form=f
    ),
}


def test_circular_03_2025_forms_apply_to_dossiers_received_from_15_september_2025() -> None:
    """Circular 03/2025/TT-VPCP (15 Sept 2025) sets seven forms; Circular 01/2018/TT-VPCP's six
    remain for dossiers received before (DESIGN.md, "The law since 2025"). The switch date is the
    data's `effective_from`."""
    assert forms.set_on(date(2025, 9, 14)) is CIRCULAR_01_2018
    assert forms.set_on(date(2025, 9, 15)) is CIRCULAR_03_2025
    assert forms.set_on(date(2019, 1, 1)) is CIRCULAR_01_2018
    assert [(f.number, f.kind) for f in CIRCULAR_01_2018.forms] == [
        ("01", FormKind.RECEIPT),
        ("02", FormKind.COMPLETION_REQUEST),
        ("03", FormKind.REFUSAL),
        ("04", FormKind.APOLOGY),
        ("05", FormKind.CONTROL_SLIP),
        ("06", FormKind.TRACKING_BOOK),
    ]
    assert [(f.number, f.kind) for f in CIRCULAR_03_2025.forms] == [
        ("01", FormKind.RECEIPT),
        ("02", FormKind.COMPLETION_REQUEST),
        ("03", FormKind.REFUSAL),
        ("04", FormKind.APOLOGY),
        ("05", FormKind.STOP_NOTICE),
        ("06", FormKind.CONTROL_SLIP),
        ("07", FormKind.TRACKING_BOOK),
    ]
    moved = FormSet("Thông tư thử", date(2025, 10, 1), CIRCULAR_03_2025.forms)
    assert forms.set_on(date(2025, 9, 20), (CIRCULAR_01_2018, moved)) is CIRCULAR_01_2018


def test_a_dossier_keeps_the_form_set_of_its_reception_day() -> None:
    """Circular 03/2025/TT-VPCP: a dossier received before 15 Sept 2025 (local time) keeps
    Circular 01/2018's forms; one not yet received takes the set of its submission."""
    created = datetime(2025, 9, 1, tzinfo=UTC)
    before = Dossier(received_at=datetime(2025, 9, 14, 16, 59, tzinfo=UTC), created_at=created)
    local_after = Dossier(received_at=datetime(2025, 9, 14, 17, 0, tzinfo=UTC), created_at=created)
    unreceived = Dossier(
        received_at=None, submitted_at=datetime(2025, 9, 16, 2, 0, tzinfo=UTC), created_at=created
    )
    assert form_set_of(before, ZONE) is CIRCULAR_01_2018
    assert form_set_of(local_after, ZONE) is CIRCULAR_03_2025  # 00:00 on 15 Sept in Hà Nội
    assert form_set_of(unreceived, ZONE) is CIRCULAR_03_2025


@pytest.mark.parametrize(
    ("form_set", "template"),
    [(s, f) for s in forms.FORM_SETS for f in s.forms],
    ids=[f"{s.circular.split()[-1]}-{f.number}" for s in forms.FORM_SETS for f in s.forms],
)
def test_each_form_prints_every_field_of_its_template_in_order(
    form_set: FormSet, template: FormTemplate
) -> None:
    """Circular 01/2018/TT-VPCP and Circular 03/2025/TT-VPCP, appendix: each printed form carries its
    number, its title and every heading and field of the template, in the template's order (the
    field lists are data in services/documents/forms.py; see docs/domain.md for their sources)."""
    text = _text(RENDER[template.kind](template))
    assert template.title in text
    assert f"{template.label} ·" in text  # the footer: "Mẫu số 04 · …"
    position = 0
    for field in template.fields:
        found = text.find(field, position)
        assert found >= 0, (
            f"{form_set.circular} {template.label}: “{field}” missing after {text[position : position + 80]!r}"
        )
        position = found + len(field)


@pytest.mark.parametrize(("form_set", "template"), [(s, f) for s in forms.FORM_SETS for f in s.forms])
def test_each_printed_form_names_the_circular_of_its_own_set(
    form_set: FormSet, template: FormTemplate
) -> None:
    """Forms 01–03 read alike in Circular 01/2018 and Circular 03/2025: a form printed from the
    03/2025 set still says in the document's properties that it is 03/2025's."""
    metadata = PdfReader(io.BytesIO(RENDER[template.kind](template))).metadata
    assert metadata is not None
    assert metadata.subject is not None
    assert f"{template.label} ({form_set.circular})" in metadata.subject


def test_form_01_prints_the_statutory_time_where_to_collect_the_book_entry_and_the_email() -> None:
    """Circular 01/2018/TT-VPCP form 01 (kept by Circular 03/2025): items 3 and 6 — the time the
    law allows and where the result will be collected —, the tracking-book volume and number, and
    the applicant's e-mail."""
    text = _text(RENDER[FormKind.RECEIPT](CIRCULAR_03_2025.forms[0]))
    for phrase in (
        "3. Thời gian giải quyết hồ sơ theo quy định là: 05 ngày làm việc",
        "6. Đăng ký nhận kết quả tại: Trực tuyến, trên tài khoản Cổng Dịch vụ công",
        "Vào Sổ theo dõi hồ sơ, Quyển số: 2025; Số thứ tự: 0042",
        "Email: lan@example.vn",
    ):
        assert phrase in text


def test_decree_61_art_19_the_apology_letter_names_the_reason_the_new_date_and_its_signer() -> None:
    """Decree 61/2018 art. 19: the letter states the reason for the delay and the new date; it is
    issued by the agency that caused the delay (the signer's agency heads the letter). Under
    Circular 03/2025 form 04 is also the request to extend the time."""
    old = _text(
        apology(
            HEAD,
            "Chờ xác minh tại xã.",
            LATER,
            signer=SIGNER,
            at=APPOINTMENT,
            zone=ZONE,
            form=CIRCULAR_01_2018.form(FormKind.APOLOGY),
        )
    )
    new = _text(
        apology(
            HEAD,
            "Chờ xác minh tại xã.",
            LATER,
            signer=SIGNER,
            at=APPOINTMENT,
            zone=ZONE,
            form=CIRCULAR_03_2025.form(FormKind.APOLOGY),
        )
    )
    for text in (old, new):
        assert "Lý do: Chờ xác minh tại xã." in text
        assert "10 giờ 00 phút, ngày 24 tháng 09 năm 2025" in text
        assert text.startswith("SỞ TƯ PHÁP")
        assert "Lê Minh Tuấn" in text
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in old
    assert "đề nghị gia hạn thời gian giải quyết hồ sơ đến" in new


def test_circular_01_2018_has_no_stop_notice() -> None:
    """Circular 01/2018/TT-VPCP has six forms: no notice to stop processing (form 05 of 03/2025)."""
    assert CIRCULAR_01_2018.form(FormKind.STOP_NOTICE) is None
    with pytest.raises(ValueError, match="01/2018"):
        stop_notice(HEAD, "x", LATER, signer=SIGNER, zone=ZONE)  # received 12/9/2025: the old set
