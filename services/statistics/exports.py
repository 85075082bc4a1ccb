"""The figures as files for spreadsheets: CSV (UTF-8 with a byte-order mark, so Excel reads the
Vietnamese headers right) and XLSX. One line per group, then the total; the same numbers as the
`statistics` query."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date

from openpyxl import Workbook

from services.statistics.figures import Figures, Row

Value = int | float | str | None

COLUMNS: tuple[tuple[str, Callable[[Figures], Value]], ...] = (
    ("Tiếp nhận", lambda f: f.received),
    ("Tiếp nhận trực tuyến", lambda f: f.received_online),
    ("Trong đó qua Cổng DVC quốc gia", lambda f: f.received_national_portal),
    ("Tiếp nhận trực tiếp", lambda f: f.received_counter),
    ("Tiếp nhận qua bưu chính", lambda f: f.received_post),
    ("Đã giải quyết", lambda f: f.finished),
    ("Trước hạn", lambda f: f.finished_early),
    ("Đúng hạn", lambda f: f.finished_on_time),
    ("Quá hạn", lambda f: f.finished_late),
    ("Từ chối giải quyết", lambda f: f.refused),
    ("Từ chối tiếp nhận", lambda f: f.rejected),
    ("Rút hồ sơ", lambda f: f.withdrawn),
    ("Đang giải quyết", lambda f: f.in_progress),
    ("Đang giải quyết quá hạn", lambda f: f.overdue),
    ("Tỷ lệ trực tuyến (%)", lambda f: f.online_share),
    ("Tỷ lệ trực tuyến toàn trình (%)", lambda f: f.full_online_share),
    ("Tỷ lệ thanh toán trực tuyến (%)", lambda f: f.online_payment_share),
    ("Tỷ lệ số hoá (%)", lambda f: f.digitisation_share),
    ("Tỷ lệ trước hạn, đúng hạn (%)", lambda f: f.on_time_share),
    ("Thời gian giải quyết trung bình (ngày)", lambda f: f.average_handling_days),
    ("Lượt đánh giá", lambda f: f.ratings),
    ("Điểm hài lòng trung bình", lambda f: f.satisfaction_average),
    ("Tỷ lệ hài lòng (%)", lambda f: f.satisfied_share),
)
HEADERS = ("Mã", "Tên", *(name for name, _ in COLUMNS))


def table(rows: Sequence[Row], total: Figures) -> list[list[Value]]:
    lines: list[list[Value]] = [list(HEADERS)]
    for row in rows:
        if row.key is not None:
            lines.append([row.key, row.label, *(get(row.figures) for _, get in COLUMNS)])
    lines.append(["", "Tổng cộng", *(get(total) for _, get in COLUMNS)])
    return lines


def to_csv(rows: Sequence[Row], total: Figures) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in table(rows, total):
        writer.writerow(["" if v is None else v for v in line])
    return "\ufeff".encode() + out.getvalue().encode()


def to_xlsx(rows: Sequence[Row], total: Figures, *, title: str, start: date, end: date) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its sheet
    sheet.title = "Thống kê"
    sheet.append([title])
    sheet.append([f"Kỳ: {start:%d/%m/%Y} – {end:%d/%m/%Y}"])
    for line in table(rows, total):
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
