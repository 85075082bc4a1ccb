"""Scheduled work: `dvc run-jobs` (daily) and `dvc payments-settle` (đối soát thanh toán)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from cli.partitions import ensure_now
from cli.support import console, in_session
from core import environment
from core.clock import SystemClock

# Another process (an app process's jobs loop, or `dvc run-jobs` on another host) holds the job's
# advisory lock: this run leaves it to that one, so the timer may run on every host.
SKIPPED = "bỏ qua — một tiến trình khác đang chạy việc này (another process holds its lock)"


def run_jobs() -> None:
    """Run the scheduled jobs once (inactivity warnings and locks, abandoned uploads, the stored
    files' integrity check, the yearly partitions made ahead, payment reconciliation and
    refunds); schedule it daily."""
    from services.accounts.inactivity import run_inactivity

    clock = SystemClock()
    with environment.prepared() as settings:
        from app import policy_from_settings, runtime_from_settings
        from services.uploads import clean_expired, sweep_staging, verify_stored
        from web.workers import FILES_LOCK, JOBS_LOCK

        policy = policy_from_settings(settings)

        runtime = runtime_from_settings(settings)

        async def work(session: AsyncSession) -> str:
            if not await session.scalar(JOBS_LOCK):  # held till the commit, as in the app processes
                return SKIPPED
            result = await run_inactivity(session, now=clock.now(), policy=policy)
            cleaned = await clean_expired(session, runtime.store, now=clock.now()) if runtime.store else 0
            return (
                f"cảnh báo {result.warned} tài khoản, khoá {result.locked} tài khoản; "
                f"xoá {cleaned} tệp tải lên dở dang"
            )

        async def files(session: AsyncSession) -> str:
            if runtime.store is None:
                return "không có kho lưu trữ"
            if not await session.scalar(FILES_LOCK):
                return SKIPPED
            swept = await sweep_staging(session, runtime.store)
            checked = await verify_stored(
                session, runtime.store, now=clock.now(), limit=settings.file_verify_batch
            )
            return (
                f"xoá {swept} bản tải lên thừa; đọc lại {checked.checked} tệp, "
                f"{len(checked.damaged)} tệp hỏng, {len(checked.restored)} tệp khớp lại"
            )

        console.print(f"Không hoạt động 01 năm: {in_session(settings, work, commit=True)}.")
        console.print(f"Kiểm tra tệp lưu trữ: {in_session(settings, files, commit=True)}.")
        created = ensure_now(settings)
        console.print(f"Phân vùng theo năm: tạo {len(created)} ({', '.join(created) or 'đủ rồi'}).")
    payments_settle()


def payments_settle() -> None:
    """Settle pending online payments by asking the gateway, and send the refunds due (đối soát)."""
    from services.payments.settlement import run_configured

    clock = SystemClock()
    with environment.prepared() as settings:
        from app import runtime_from_settings

        async def work() -> str:
            runtime = runtime_from_settings(settings)
            try:
                now = clock.now()
                calendar = await runtime.calendars.get(now) if runtime.calendars else runtime.calendar
                run = await run_configured(runtime.session_factory, settings, calendar, now)
            finally:
                if runtime.engine is not None:
                    await runtime.engine.dispose()
            return "chưa cấu hình thanh toán trực tuyến" if run is None else run.summary()

        console.print(f"Đối soát thanh toán: {asyncio.run(work())}.")
