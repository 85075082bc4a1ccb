"""The operator commands of `dvc` (catalog export, holidays, unlock, archive, data generation),
each run as a real process against a database of its own: output, exit codes and effects."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import zipfile
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import make_engine, make_session_factory
from services.catalog.importer import CSV_COLUMNS
from tests.test_cli import DVC, ROOT, cli_env, count, dvc

__all__ = ["cli_env"]  # the fixture, shared with tests/test_cli.py
T = TypeVar("T")


def in_db(env: dict[str, str], work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run real service code on the CLI's database (committed), as another process would."""

    async def run() -> T:
        engine = make_engine(env["DATABASE_URL"], pool_size=1)
        try:
            async with make_session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_and_explains_the_operator_commands() -> None:
    result = subprocess.run([*DVC, "--help"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in (
        "create-admin",
        "import-catalog",
        "export-catalog",
        "holidays",
        "unlock-account",
        "archive-export",
        "outbox",
        "generate-data",
    ):
        assert command in result.stdout
    sub = subprocess.run([*DVC, "holidays", "--help"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert sub.returncode == 0
    assert "list" in sub.stdout
    assert "set" in sub.stdout
    assert "remove" in sub.stdout
    gen = subprocess.run(
        [*DVC, "generate-data", "--help"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert "--dossiers" in gen.stdout
    assert "--seed" in gen.stdout
    assert "hồ sơ" in gen.stdout


def test_export_catalog_round_trips_through_import(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert dvc(cli_env, "demo-load").returncode == 0
    procedures = count(cli_env, "SELECT count(*) FROM procedures")
    first = tmp_path / "catalog-1.csv"
    exported = dvc(cli_env, "export-catalog", str(first))
    assert exported.returncode == 0, exported.stderr
    assert f"Đã xuất {procedures} thủ tục" in exported.stderr
    assert "Xuất danh mục" in exported.stderr  # the progress bar
    rows = list(csv.DictReader(io.StringIO(first.read_text(encoding="utf-8"))))
    assert len(rows) == procedures
    assert tuple(rows[0]) == tuple(CSV_COLUMNS)
    birth = next(r for r in rows if r["code"] == "1.001193")
    assert birth["name"].startswith("Thủ tục đăng ký khai sinh") or "khai sinh" in birth["name"]
    assert birth["levels"] == "commune"
    assert birth["decision_number"]
    assert date.fromisoformat(birth["decision_date"])
    assert "Tờ khai đăng ký khai sinh theo mẫu" in birth["components"].split("|")

    # Importing the export amends every procedure and publishes it again by its decision.
    imported = dvc(cli_env, "import-catalog", str(first))
    assert imported.returncode == 0, imported.stderr
    assert f"0 thủ tục mới, {procedures} thủ tục sửa đổi" in imported.stderr
    second = tmp_path / "catalog-2.csv"
    assert dvc(cli_env, "export-catalog", str(second)).returncode == 0
    # What CSV carries survives the trip unchanged.
    assert second.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")
    assert count(cli_env, "SELECT count(*) FROM procedures WHERE status = 'PUBLISHED'") == procedures

    # The exported file imports into an installation that has no such procedures either.
    assert dvc(cli_env, "import-catalog", str(second), "--dry-run").returncode == 0


def test_export_catalog_to_a_missing_folder_is_a_clear_error(cli_env: dict[str, str]) -> None:
    result = dvc(cli_env, "export-catalog", "/nonexistent-folder/catalog.csv")
    assert_clean_failure(result, 2, "không tồn tại")


def test_holidays_set_list_remove(cli_env: dict[str, str]) -> None:
    made = dvc(cli_env, "holidays", "set", "--day", "2026-12-28", "--day-off", "--name", "QĐ 12/QĐ-UBND")
    assert made.returncode == 0, made.stderr
    assert "Đã đặt 2026-12-28 là ngày nghỉ" in made.stderr
    worked = dvc(cli_env, "holidays", "set", "--day", "2026-12-26", "--working", "--name", "Làm bù")
    assert worked.returncode == 0, worked.stderr
    listed = dvc(cli_env, "holidays", "list", "--year", "2026")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "day\tkind\tsource\tname"
    assert "2026-12-28\tday-off\toverride\tQĐ 12/QĐ-UBND" in lines
    assert "2026-12-26\tworking\toverride\tLàm bù" in lines
    assert "2026-09-02\tday-off\tlaw\t" in lines  # National Day, from the law
    assert count(cli_env, "SELECT count(*) FROM holiday_overrides") == 2

    weekday = dvc(cli_env, "holidays", "set", "--day", "2026-12-29", "--working", "--name", "x")
    assert_clean_failure(weekday, 1, "Chỉ ngày thứ Bảy, Chủ nhật")
    unnamed = dvc(cli_env, "holidays", "set", "--day", "2026-12-30", "--name", " ")
    assert_clean_failure(unnamed, 1, "Nêu căn cứ")
    bad_day = dvc(cli_env, "holidays", "set", "--day", "28/12/2026", "--name", "x")
    assert_clean_failure(bad_day, 2, "YYYY-MM-DD")
    assert count(cli_env, "SELECT count(*) FROM holiday_overrides") == 2

    removed = dvc(cli_env, "holidays", "remove", "--day", "2026-12-28")
    assert removed.returncode == 0, removed.stderr
    assert count(cli_env, "SELECT count(*) FROM holiday_overrides") == 1
    again = dvc(cli_env, "holidays", "remove", "--day", "2026-12-28")
    assert_clean_failure(again, 1, "Không tìm thấy")


def test_unlock_account(cli_env: dict[str, str]) -> None:
    from auth.actor import SYSTEM
    from models.accounts import Account, LockReason
    from services.accounts.journal import RequestMeta
    from services.accounts.locks import lock

    made = subprocess.run(
        [*DVC, "create-admin", "--email", "khoa@phutho.gov.vn", "--name", "Bị Khoá", "--password-stdin"],
        cwd=ROOT,
        env=cli_env,
        input="Quan-tri-2026\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    not_locked = dvc(cli_env, "unlock-account", "--email", "khoa@phutho.gov.vn")
    assert not_locked.returncode == 0
    assert "không bị khoá" in not_locked.stderr

    async def lock_it(session: AsyncSession) -> None:
        account = await session.scalar(select(Account).where(Account.email == "khoa@phutho.gov.vn"))
        assert account is not None
        await lock(
            session,
            account,
            LockReason.ADMIN,
            actor=SYSTEM,
            now=datetime.now(UTC),
            meta=RequestMeta(),
            system_name="Hệ thống thử",
        )

    in_db(cli_env, lock_it)
    assert count(cli_env, "SELECT count(*) FROM accounts WHERE status = 'LOCKED'") == 1

    unlocked = dvc(cli_env, "unlock-account", "--email", "KHOA@phutho.gov.vn")
    assert unlocked.returncode == 0, unlocked.stderr
    assert "Đã mở khoá tài khoản" in unlocked.stderr
    assert count(cli_env, "SELECT count(*) FROM accounts WHERE status = 'LOCKED'") == 0
    assert count(cli_env, "SELECT count(*) FROM security_events WHERE event = 'UNLOCK'") == 1

    assert_clean_failure(
        dvc(cli_env, "unlock-account", "--email", "ai@dau.vn"), 1, "Không tìm thấy tài khoản"
    )
    assert_clean_failure(dvc(cli_env, "unlock-account"), 2, "--email hoặc --citizen-id")
    assert_clean_failure(
        dvc(cli_env, "unlock-account", "--email", "a@b.vn", "--citizen-id", "025190000123"),
        2,
        "--email hoặc --citizen-id",
    )
    assert_clean_failure(dvc(cli_env, "unlock-account", "--citizen-id", "12ab"), 2, "12 chữ số")


def test_generate_data_then_archive_export(cli_env: dict[str, str], tmp_path: Path) -> None:
    from services.dossiers import reception, transition
    from services.dossiers.acts import RefuseReceipt
    from services.dossiers.generator import GENERATOR

    # The demo (loaded first, as generate-data would) holds its own received dossier: the one
    # received anywhere in the province (cli/demo_dossiers.py); the generated ones come on top.
    assert dvc(cli_env, "demo-load").returncode == 0
    demo = count(cli_env, "SELECT count(*) FROM dossiers")
    demo_received = count(cli_env, "SELECT count(*) FROM dossiers WHERE code IS NOT NULL")
    generated = dvc(cli_env, "generate-data", "--dossiers", "12", "--seed", "7", "--batch", "5")
    assert generated.returncode == 0, generated.stderr
    assert "Tạo hồ sơ" in generated.stderr  # the progress bar
    assert "Đã tạo 12 hồ sơ" in generated.stderr
    assert count(cli_env, "SELECT count(*) FROM dossiers") == demo + 12
    received = count(cli_env, "SELECT count(*) FROM dossiers WHERE status = 'IN_PROGRESS'") - demo_received
    assert received >= 1
    assert count(cli_env, "SELECT count(*) FROM dossiers WHERE code IS NOT NULL") == demo_received + received
    assert f"({received} đã tiếp nhận" in generated.stderr
    # Every dossier went through the acts: a trail, attachments for its required components.
    assert count(cli_env, "SELECT count(DISTINCT dossier_id) FROM dossier_events") == demo + 12
    assert count(cli_env, "SELECT count(DISTINCT dossier_id) FROM dossier_attachments") == demo + 12
    assert count(cli_env, "SELECT count(*) FROM dossier_steps") > 0

    assert_clean_failure(dvc(cli_env, "generate-data", "--dossiers", "0"), 2, "--dossiers")

    # Nothing closed yet: the archive has nothing to take.
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    agency = count(cli_env, "SELECT count(*) FROM agencies")  # the catalog is loaded
    assert agency > 0
    empty = dvc(
        cli_env,
        "archive-export",
        "--agency",
        "H44.99",
        "--closed-before",
        tomorrow,
        "--output",
        str(tmp_path / "a.zip"),
    )
    assert_clean_failure(empty, 1, "Không có hồ sơ đã kết thúc")

    # Refuse one waiting dossier at the counter (a real act): it is closed, so it can be archived.
    async def refuse_one(session: AsyncSession) -> tuple[str, str]:
        from models.catalog import Agency
        from models.dossiers import Dossier, DossierStatus

        dossier = await session.scalar(
            select(Dossier).where(Dossier.status == DossierStatus.SUBMITTED).limit(1)
        )
        assert dossier is not None
        from app import default_calendar
        from core.settings import get_settings

        ctx = transition.ActContext(
            actor=GENERATOR,
            now=datetime.now(UTC),
            calendar=default_calendar(get_settings()),
        )
        refusal = RefuseReceipt(("Thủ tục không thuộc thẩm quyền",))
        await reception.refuse_receipt(session, dossier.id, ctx, refusal)
        agency = await session.get_one(Agency, dossier.receiving_agency_id)
        return agency.code, str(dossier.id)

    agency_code, dossier_id = in_db(cli_env, refuse_one)
    target = tmp_path / "luu-tru.zip"
    done = dvc(
        cli_env,
        "archive-export",
        "--agency",
        agency_code,
        "--closed-before",
        tomorrow,
        "--output",
        str(target),
    )
    assert done.returncode == 0, done.stderr
    assert "Đã lưu trữ 1 hồ sơ" in done.stderr
    assert "Ghi tệp zip" in done.stderr
    with zipfile.ZipFile(target) as package:
        names = package.namelist()
        assert "manifest.json" in names
        assert f"{dossier_id}/dossier.json" in names
        assert f"{dossier_id}/trail.json" in names
        assert any(n.startswith(f"{dossier_id}/files/") for n in names)
    assert (
        count(cli_env, f"SELECT count(*) FROM dossiers WHERE archived_at IS NOT NULL AND id = '{dossier_id}'")
        == 1
    )

    unknown = dvc(
        cli_env, "archive-export", "--agency", "X.0", "--closed-before", tomorrow, "--output", str(target)
    )
    assert_clean_failure(unknown, 1, "Không tìm thấy")
    bad = dvc(
        cli_env, "archive-export", "--agency", "H44.99", "--closed-before", "hôm qua", "--output", str(target)
    )
    assert_clean_failure(bad, 2, "YYYY-MM-DD")
