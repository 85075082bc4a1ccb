"""`dvc statistics-export` and `dvc statistics-rebuild`, run as real processes against a
database of their own."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from tests.test_cli import cli_env, dvc

__all__ = ["cli_env"]  # the fixture, shared with the command-line tests


def test_export_and_rebuild_commands(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "thong-ke.csv"
    done = dvc(
        cli_env, "statistics-export", "--from", "2026-11-01", "--to", "2026-11-30", "--output", str(out)
    )
    assert done.returncode == 0, done.stderr
    header, total = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert header[:3] == ["Mã", "Tên", "Tiếp nhận"]
    assert total[1:3] == ["Tổng cộng", "0"]
    xlsx = tmp_path / "thong-ke.xlsx"
    done = dvc(
        cli_env, "statistics-export", "--from", "2026-11-01", "--to", "2026-11-30", "--output", str(xlsx)
    )
    assert done.returncode == 0, done.stderr
    sheet = load_workbook(xlsx).active
    assert sheet is not None
    assert sheet["A1"].value == "Thống kê tình hình giải quyết thủ tục hành chính"
    unknown = dvc(
        cli_env,
        "statistics-export",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--agency",
        "KHONGCO",
        "--output",
        str(out),
    )
    assert unknown.returncode == 1
    assert "KHONGCO" in unknown.stderr
    wrong = dvc(cli_env, "statistics-export", "--from", "hôm qua", "--to", "2026-11-30", "--output", str(out))
    assert wrong.returncode == 2
    rebuilt = dvc(cli_env, "statistics-rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Đã tính lại 0 hồ sơ" in rebuilt.stderr
