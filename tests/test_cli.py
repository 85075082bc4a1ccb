"""The `dvc` command line, run as a real process against a database of its own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from cli.demo_accounts import read_accounts_file
from tests.conftest import Servers

ROOT = Path(__file__).resolve().parent.parent
DVC = [sys.executable, "-m", "cli.main"]


@pytest.fixture
def cli_env(servers: Servers, tmp_path: Path) -> dict[str, str]:
    dsn = servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def recreate() -> None:
        conn = await asyncpg.connect(dsn)
        await conn.execute("DROP DATABASE IF EXISTS cli_check WITH (FORCE)")
        await conn.execute("CREATE DATABASE cli_check")
        await conn.close()

    asyncio.run(recreate())
    return {
        **os.environ,
        "DATABASE_URL": servers.database_url.replace("/postgres?", "/cli_check?", 1),
        "S3_ENDPOINT": servers.s3.endpoint,
        "S3_ACCESS_KEY": servers.s3.access_key,
        "S3_SECRET_KEY": servers.s3.secret_key,
        "DATA_DIR": str(tmp_path / "var"),
        "JWT_SECRET": "cli-test-secret-0123456789abcdef0123456789",
    }


def dvc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DVC, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def count(env: dict[str, str], sql: str) -> int:
    async def run() -> int:
        conn = await asyncpg.connect(env["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://", 1))
        value = await conn.fetchval(sql)
        await conn.close()
        return int(value)

    return asyncio.run(run())


def test_help_explains_the_commands() -> None:
    result = subprocess.run([*DVC, "--help"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("serve", "migrate", "demo-load", "import-catalog", "export-schema"):
        assert command in result.stdout


def test_migrate_demo_load_and_import(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert dvc(cli_env, "migrate").returncode == 0
    first = dvc(cli_env, "demo-load")
    assert first.returncode == 0, first.stderr
    demo = count(cli_env, "SELECT count(*) FROM procedures WHERE status = 'PUBLISHED'")
    assert demo >= 40
    # the demo accounts, every one active, listed one a line with role, unit, login and password
    listed = Path(cli_env["DATA_DIR"]) / "demo-accounts.txt"
    assert oct(listed.stat().st_mode)[-3:] == "600"
    logins = read_accounts_file(listed)
    assert len(logins) == 12
    assert {"admin@demo.dvc.local", "motcua.viettri@demo.dvc.local", "congdan@demo.dvc.local"} <= set(logins)
    assert all(len(secret) >= 12 for secret in logins.values())
    assert count(cli_env, "SELECT count(*) FROM accounts WHERE status = 'ACTIVE'") == 11
    assert count(cli_env, "SELECT count(*) FROM accounts WHERE status <> 'ACTIVE'") == 0
    assert count(cli_env, "SELECT count(*) FROM oauth_clients") == 1
    # The demo shows reception anywhere in the province (Decree 118/2025; cli/demo_dossiers.py): a
    # business registration received at Phường Nông Trang, coded there, routed to Sở Tài chính whose
    # demo specialist has its examination step.
    routed = """SELECT count(*) FROM dossiers d JOIN agencies r ON r.id = d.receiving_agency_id
        JOIN agencies c ON c.id = d.competent_agency_id JOIN dossier_steps s ON s.dossier_id = d.id
        JOIN accounts a ON a.id = s.assignee_id
        WHERE r.code = 'H44.101' AND c.code = 'H44.43' AND d.code LIKE '000.01.01.H44-%'
          AND d.status = 'IN_PROGRESS' AND a.email = 'chuyenvien.taichinh@demo.dvc.local'"""
    assert count(cli_env, routed) == 1
    assert count(cli_env, "SELECT count(*) FROM administrative_levels WHERE code = 'district'") == 0
    again = dvc(cli_env, "demo-load")
    assert "bỏ qua" in again.stderr
    assert count(cli_env, "SELECT count(*) FROM procedures") == demo

    header = "code,name,field_code,levels,online_mode,processing_days,components,result,delivery_methods"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{header}\n5.000001,Tốt,HOTICH,commune,PARTIAL,3,Tờ khai,Giấy,COUNTER\n"
        "5.000002,Xấu,HOTICH,commune,PARTIAL,ba,Tờ khai,Giấy,COUNTER\n",
        encoding="utf-8",
    )
    result = dvc(cli_env, "import-catalog", str(bad))
    assert result.returncode == 1
    assert "dòng 3, cột processing_days" in result.stderr
    assert "không nhập dòng nào" in result.stderr
    assert count(cli_env, "SELECT count(*) FROM procedures WHERE code LIKE '5.%'") == 0

    good = tmp_path / "good.csv"
    good.write_text(
        f"{header}\n5.000001,Tốt,HOTICH,commune,PARTIAL,3,Tờ khai,Giấy,COUNTER\n", encoding="utf-8"
    )
    dry = dvc(cli_env, "import-catalog", str(good), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert count(cli_env, "SELECT count(*) FROM procedures WHERE code LIKE '5.%'") == 0
    done = dvc(cli_env, "import-catalog", str(good))
    assert done.returncode == 0, done.stderr
    assert "1 thủ tục mới" in done.stderr
    assert count(cli_env, "SELECT count(*) FROM procedures WHERE code = '5.000001' AND status = 'DRAFT'") == 1


def test_missing_file_is_a_clear_error(cli_env: dict[str, str]) -> None:
    result = dvc(cli_env, "import-catalog", "/nonexistent.csv")
    assert result.returncode == 2
    assert "does not exist" in result.stderr or "không" in result.stderr


def test_export_schema_check(tmp_path: Path) -> None:
    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { x: Int }\n")
    result = subprocess.run(
        [*DVC, "export-schema", "--check", "--output", str(stale)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "đã cũ" in result.stderr


def test_create_admin_then_sign_in(cli_env: dict[str, str]) -> None:
    assert dvc(cli_env, "migrate").returncode == 0
    weak = subprocess.run(
        [*DVC, "create-admin", "--email", "qt@phutho.gov.vn", "--name", "Quản Trị", "--password-stdin"],
        cwd=ROOT,
        env=cli_env,
        input="123\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert weak.returncode == 1
    assert "password" in weak.stderr
    assert "ít nhất 8" in weak.stderr
    made = subprocess.run(
        [*DVC, "create-admin", "--email", "qt@phutho.gov.vn", "--name", "Quản Trị", "--password-stdin"],
        cwd=ROOT,
        env=cli_env,
        input="Quan-tri-2026\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert (
        count(
            cli_env,
            "SELECT count(*) FROM staff_assignments WHERE role = 'SYSTEM_ADMIN' AND agency_id IS NULL",
        )
        == 1
    )
    assert count(cli_env, "SELECT count(*) FROM vaults") == 1
    again = subprocess.run(
        [*DVC, "create-admin", "--email", "qt@phutho.gov.vn", "--name", "Quản Trị", "--password-stdin"],
        cwd=ROOT,
        env=cli_env,
        input="Quan-tri-2026\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 1
    assert "đã được dùng" in again.stderr


def test_run_jobs(cli_env: dict[str, str]) -> None:
    assert dvc(cli_env, "migrate").returncode == 0
    result = dvc(cli_env, "run-jobs")
    assert result.returncode == 0, result.stderr
    assert "cảnh báo 0 tài khoản, khoá 0 tài khoản" in result.stderr
    assert "Kiểm tra tệp lưu trữ: xoá 0 bản tải lên thừa; đọc lại" in result.stderr
