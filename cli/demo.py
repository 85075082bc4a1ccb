"""Demo and sample data: the demo catalog with three accounts to explore with (`dvc demo-load`,
also loaded by `dvc serve`) and realistic dossiers to measure with (`dvc generate-data`)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cli.support import ROOT, console, error_lines, fail, in_session, progress_bar
from core import environment, migrate
from core.clock import SystemClock
from core.settings import Settings

DEMO_CATALOG = ROOT / "seed" / "demo_catalog.json"


def load_demo(settings: Settings) -> dict[str, int] | None:
    """Load the demo catalog if the catalog is empty; None when it was already there."""
    from services.catalog.importer import catalog_is_empty, load_document

    doc = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
    clock = SystemClock()

    async def work(session: AsyncSession) -> dict[str, int] | None:
        if not await catalog_is_empty(session):
            return None
        now = clock.now()
        loaded = await load_document(
            session, doc, actor="system:demo", now=now, today=now.astimezone(settings.zone).date()
        )
        lines = await _demo_accounts(session, now, settings)
        path = settings.data_dir / "demo-accounts.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return {**loaded, "accounts": len(lines) - 1}

    return in_session(settings, work, commit=True)


async def _demo_accounts(session: AsyncSession, now: datetime, settings: Settings) -> list[str]:
    """Three accounts to explore with, with random passwords: a system admin, a one-stop
    officer of the provincial service centre, and a citizen."""
    import secrets

    from sqlalchemy import update
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app import policy_from_settings
    from auth import passwords
    from auth.actor import SYSTEM, Actor, ActorKind
    from auth.roles import StaffRole
    from models.accounts import Account, AccountStatus
    from services.accounts.admin.assignments import AssignmentData
    from services.accounts.admin.staff import StaffData, create_staff, create_system_admin
    from services.accounts.journal import Journal, RequestMeta
    from services.accounts.registration import CitizenRegistration, register_citizen

    def password() -> str:
        return "Demo-" + secrets.token_urlsafe(9)

    lines = ["# Tài khoản mẫu (chỉ dùng để thử; tắt bằng LOAD_DEMO_DATA=false)"]
    admin_pw = password()
    await create_system_admin(
        session,
        email="admin@demo.dvc.local",
        full_name="Quản trị Hệ thống",
        password=admin_pw,
        now=now,
        actor=SYSTEM,
    )
    lines.append(f"quản trị hệ thống: admin@demo.dvc.local / {admin_pw}")
    journal = Journal(async_sessionmaker(bind=session.bind), RequestMeta(user_agent="demo"), now)
    policy = policy_from_settings(settings)
    staff = await create_staff(
        session,
        Actor(ActorKind.SYSTEM, name="demo", roles={StaffRole.SYSTEM_ADMIN: None}),
        StaffData(
            full_name="Trần Thị Một Cửa",
            email="motcua@demo.dvc.local",
            phone=None,
            assignments=(AssignmentData(StaffRole.RECEPTION_OFFICER, "H44.99"),),
        ),
        journal=journal,
        policy=policy,
    )
    officer_pw = password()
    staff.password_hash = passwords.hash_password(officer_pw)
    staff.status = AccountStatus.ACTIVE
    staff.email_verified_at = now
    lines.append(f"cán bộ một cửa (H44.99): motcua@demo.dvc.local / {officer_pw}")
    citizen_pw = password()
    registered = await register_citizen(
        session,
        CitizenRegistration(
            citizen_id="025190000123",
            full_name="Nguyễn Văn Dân",
            birth_date=date(1990, 5, 17),
            password=citizen_pw,
            email="congdan@demo.dvc.local",
            phone="0912345678",
            address="Phường Việt Trì, Phú Thọ",
        ),
        journal=journal,
        policy=policy,
        today=now.date(),
    )
    citizen = registered.account
    if citizen is None:
        raise RuntimeError("the demo citizen's ID or contacts already have an account")
    await session.execute(
        update(Account)
        .where(Account.id == citizen.id)
        .values(status=AccountStatus.ACTIVE, email_verified_at=now, phone_verified_at=now)
    )
    lines.append(f"công dân: congdan@demo.dvc.local (hoặc 025190000123) / {citizen_pw}")
    return lines


def demo_load() -> None:
    """Load the demo catalog (one province's agencies and procedures) if the catalog is empty."""
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        loaded = load_demo(settings)
        console.print(f"Đã nạp: {loaded}" if loaded else "Danh mục đã có dữ liệu; bỏ qua.")


def generate_data(
    dossiers: Annotated[int, typer.Option(min=1, max=100_000, help="Số hồ sơ cần tạo / how many dossiers.")],
    seed: Annotated[
        int, typer.Option(help="Hạt giống ngẫu nhiên (cùng hạt, cùng dữ liệu) / random seed.")
    ] = 1,
    batch: Annotated[
        int, typer.Option(min=1, max=10_000, help="Số hồ sơ mỗi giao dịch / per transaction.")
    ] = 200,
) -> None:
    """Tạo hồ sơ mẫu giống thật để đo hiệu năng (đăng ký tại Một cửa, phần lớn đã tiếp nhận).

    Create N realistic dossiers through the real acts — registered at a one-stop counter or by
    post for a published procedure, e-form filled from its schema, a scan per required
    component, about 80 % received (code, appointment, steps). Loads the demo catalog first if
    the catalog is empty. Committed in batches.
    """
    from services.dossiers import generator
    from services.errors import DomainError

    clock = SystemClock()
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        if load_demo(settings):
            console.print("Danh mục trống: đã nạp danh mục mẫu.")
        from app import runtime_from_settings

        async def work() -> tuple[generator.Generated, list[str]]:
            runtime = runtime_from_settings(settings)
            total = generator.Generated()
            try:
                if runtime.store is None:
                    return total, ["Chưa cấu hình kho lưu trữ tệp (S3_ENDPOINT)."]
                await runtime.store.ensure_bucket()
                with progress_bar() as progress:
                    task = progress.add_task("Tạo hồ sơ", total=dossiers)
                    left, part = dossiers, 0
                    while left > 0:
                        size = min(batch, left)
                        now = clock.now()
                        calendar = await runtime.calendars.get(now) if runtime.calendars else runtime.calendar
                        async with runtime.session_factory() as session:
                            try:
                                made = await generator.generate(
                                    session,
                                    runtime.store,
                                    count=size,
                                    seed=seed * 1_000_003 + part,
                                    now=now,
                                    calendar=calendar,
                                    progress=lambda: progress.advance(task),
                                )
                            except DomainError as error:
                                return total, error_lines(error)
                            await session.commit()
                        total.registered += made.registered
                        total.received += made.received
                        total.procedures = made.procedures
                        left -= size
                        part += 1
                return total, []
            finally:
                if runtime.engine is not None:
                    await runtime.engine.dispose()

        made, errors = asyncio.run(work())
    if errors:
        fail("\n".join(f"• {e}" for e in errors))
    console.print(
        f"Đã tạo {made.registered} hồ sơ ({made.received} đã tiếp nhận, "
        f"{made.registered - made.received} chờ tiếp nhận) trên {made.procedures} thủ tục."
    )
