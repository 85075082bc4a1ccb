"""The process's background work, started together after the runtime opens and stopped together
before it closes: scheduled jobs, payment settlement, ClamAV signature updates, the outbox
dispatcher, the notification sender (with the development catcher of `services.caught` for a
channel that has no SMTP server or SMS gateway) and the calendar cache's watch.

Each loop is a plain async function of the runtime. `Workers` holds the running tasks: on stop,
the ones that finish gracefully (outbox, notifications) are asked to and given their grace period,
newest first, then their HTTP clients are closed; the others are cancelled and awaited."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.broker import Broker
from core.clock import Clock
from core.settings import Settings
from models.dossiers import ConsumerKind
from services.accounts.inactivity import run_inactivity
from services.caught import MessageCatcher
from services.holidays import CalendarCache
from services.national_portal.feed import PortalClient, PortalTransport, ensure_portal_consumer, portal_config
from services.national_portal.pakn import run_pakn_feed
from services.national_portal.reconcile import reconcile
from services.notifications import (
    HttpSmsSender,
    Mailer,
    SmsConfig,
    SmsSender,
    SmtpConfig,
    SmtpMailer,
    run_sender,
)
from services.outbox.dispatcher import run_dispatcher
from services.outbox.transport import Transport
from services.payments.settlement import run_configured as settle_payments
from services.uploads import clean_expired, sweep_staging, verify_stored
from services.zalo import ZaloSender, ZaloTokens, zalo_config
from storage import signatures
from storage.clamav import ClamAV
from web.runtime import Runtime

log = logging.getLogger("dvc")

# pg advisory locks: one process at a time does each job (the others skip that run)
JOBS_LOCK = text("SELECT pg_try_advisory_xact_lock(4242001)")
RECONCILE_LOCK = text("SELECT pg_try_advisory_xact_lock(4242002)")
FILES_LOCK = text("SELECT pg_try_advisory_xact_lock(4242004)")
# The signature update is per host and folder: each host's clamd reads the folder freshclam
# writes on that host, so one host updating its own is no reason for another to skip its run.
SIGNATURES_LOCK = text("SELECT pg_try_advisory_xact_lock(4242003, hashtext(:place))")


def signatures_place(settings: Settings) -> str:
    """What the signature update's lock is taken on: this host and the folder freshclam writes."""
    return f"{socket.gethostname()}:{signatures.database_folder(settings)}"


@dataclass
class _Worker:
    task: asyncio.Task[None]
    stop: asyncio.Event | None = None  # set: the loop finishes its round and returns
    grace: float = 0.0  # how long a graceful stop is awaited
    closing: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


class Workers:
    """The running background tasks of one app: started by `start_workers`, ended by `stop`."""

    def __init__(self) -> None:
        self._workers: list[_Worker] = []

    def spawn(self, loop: Coroutine[Any, Any, None], name: str | None = None) -> None:
        """A loop that runs until cancelled."""
        self._workers.append(_Worker(asyncio.create_task(loop, name=name)))

    def spawn_graceful(
        self,
        loop: Coroutine[Any, Any, None],
        name: str,
        stop: asyncio.Event,
        grace: float,
        closing: list[Callable[[], Awaitable[None]]],
    ) -> None:
        """A loop that ends its round when `stop` is set; `closing` runs after it ended."""
        self._workers.append(_Worker(asyncio.create_task(loop, name=name), stop, grace, closing))

    async def stop(self) -> None:
        for worker in reversed([w for w in self._workers if w.stop is not None]):
            assert worker.stop is not None
            worker.stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.task, timeout=worker.grace)
            for close in worker.closing:
                await close()
        for worker in self._workers:
            if worker.stop is None:
                worker.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker.task
        self._workers.clear()


async def start_workers(rt: Runtime, *, owned: bool) -> Workers:
    """Everything that runs in the background. A runtime a test brought (`owned` false) gets only
    the calendar watch: its jobs run when the test calls them."""
    workers = Workers()
    try:
        await _start(rt, workers, owned=owned)
    except BaseException:
        await workers.stop()
        raise
    return workers


async def _start(rt: Runtime, workers: Workers, *, owned: bool) -> None:
    s = rt.settings
    if owned and s.jobs_interval_minutes:
        workers.spawn(jobs_loop(rt))
    if owned and s.clamav_mirror_url and isinstance(rt.scanner, ClamAV):
        workers.spawn(signatures_loop(rt, rt.scanner), name="clamav-signatures")
    if owned and s.payment_jobs_interval_seconds and s.vnpay_pay_url:
        workers.spawn(payments_loop(rt), name="payment-settlement")
    if owned:
        await _start_outbox(rt, workers)
    if rt.broker is not None and rt.calendars is not None:
        workers.spawn(calendar_watch(rt.broker, rt.calendars))
    if owned:
        _start_notifications(rt, workers)


async def _start_outbox(rt: Runtime, workers: Workers) -> None:
    """The outbox dispatcher, with the national portal as a consumer when it is configured;
    stopped first on shutdown (an unfinished round is simply redelivered)."""
    transports: dict[ConsumerKind, Transport] = {}
    portal = portal_config(rt.settings)
    if portal is not None:
        transports[ConsumerKind.NATIONAL_PORTAL] = PortalTransport(PortalClient(portal, rt.clock))
        async with rt.session_factory() as session:
            await ensure_portal_consumer(session, portal, now=rt.clock.now())
            await session.commit()
    http = httpx.AsyncClient(timeout=10.0)
    stop = asyncio.Event()
    dispatcher = run_dispatcher(
        rt.session_factory, http, rt.clock, interval=1.0, stop=stop, broker=rt.broker, transports=transports
    )
    workers.spawn_graceful(dispatcher, "outbox-dispatcher", stop, grace=15, closing=[http.aclose])
    if portal is not None and rt.settings.national_pakn_feed:
        pakn_http = httpx.AsyncClient(timeout=10.0)
        pakn_stop = asyncio.Event()
        feed = run_pakn_feed(
            rt.session_factory,
            pakn_http,
            PortalClient(portal, rt.clock),
            rt.clock,
            interval=5.0,
            stop=pakn_stop,
        )
        workers.spawn_graceful(feed, "pakn-feed", pakn_stop, grace=15, closing=[pakn_http.aclose])


@dataclass
class Senders:
    """The notification senders of this process: real ones where configured; in development,
    the catcher (`services.caught`) for a channel without one; None in production."""

    mailer: Mailer | None = None
    sms: SmsSender | None = None
    zalo: SmsSender | None = None  # ZNS and the OA's lookup replies (services.zalo)
    closing: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def notification_senders(
    settings: Settings, session_factory: Callable[[], AsyncSession], clock: Clock
) -> Senders:
    s = settings
    senders = Senders()
    if s.smtp_host and s.smtp_sender:
        senders.mailer = SmtpMailer(
            SmtpConfig(
                host=s.smtp_host,
                port=s.smtp_port,
                sender=s.smtp_sender,
                username=s.smtp_username,
                password=s.smtp_password,
                starttls=s.smtp_starttls,
                use_tls=s.smtp_tls,
            )
        )
    if s.sms_gateway_url and s.sms_gateway_key:
        http = httpx.AsyncClient(timeout=15.0)
        senders.closing.append(http.aclose)
        senders.sms = HttpSmsSender(
            SmsConfig(url=s.sms_gateway_url, api_key=s.sms_gateway_key, sender=s.sms_sender), http
        )
    zalo = zalo_config(s)
    if zalo is not None:
        http = httpx.AsyncClient(timeout=15.0)
        senders.closing.append(http.aclose)
        senders.zalo = ZaloSender(ZaloTokens(zalo, session_factory, clock), http)
    if s.environment == "development" and None in (senders.mailer, senders.sms, senders.zalo):
        catcher = MessageCatcher(session_factory, clock)
        senders.mailer = senders.mailer or catcher
        senders.sms = senders.sms or catcher
        senders.zalo = senders.zalo or catcher
    return senders


def _start_notifications(rt: Runtime, workers: Workers) -> None:
    """The e-mail and SMS sender: for whichever of the two is configured, and in development
    the catcher for the other (or both)."""
    senders = notification_senders(rt.settings, rt.session_factory, rt.clock)
    if senders.mailer is None and senders.sms is None and senders.zalo is None:
        return
    stop = asyncio.Event()
    sender = run_sender(
        rt.session_factory,
        senders.mailer,
        senders.sms,
        rt.clock,
        interval=rt.settings.notifications_interval_seconds,
        stop=stop,
        zalo=senders.zalo,
    )
    workers.spawn_graceful(sender, "notification-sender", stop, grace=30, closing=senders.closing)


async def jobs_loop(rt: Runtime) -> None:
    """Scheduled jobs (the one-year inactivity rule, abandoned uploads, the stored files'
    integrity check, the portal reconciliation) in every process; advisory locks let only one
    of them work at a time, and the jobs themselves are idempotent."""
    interval = rt.settings.jobs_interval_minutes * 60
    while True:
        try:
            async with rt.session_factory() as session:
                if await session.scalar(JOBS_LOCK):
                    result = await run_inactivity(session, now=rt.clock.now(), policy=rt.policy)
                    cleaned = await clean_expired(session, rt.store, now=rt.clock.now()) if rt.store else 0
                    await session.commit()
                    log.info(
                        "jobs: %s warned, %s locked, %s abandoned uploads removed",
                        result.warned,
                        result.locked,
                        cleaned,
                    )
            await check_files(rt)
            await reconcile_yesterday(rt)
        except Exception:  # a failed run is retried at the next interval
            log.exception("scheduled jobs failed")
        await asyncio.sleep(interval)


async def payments_loop(rt: Runtime) -> None:
    """Payment reconciliation and refunds, often (a pending payment should not wait a day)."""
    while True:
        try:
            now = rt.clock.now()
            calendar = await rt.calendar_at(now)
            run = await settle_payments(rt.session_factory, rt.settings, calendar, now)
            if run is not None and (run.paid or run.failed or run.expired or run.refunded or run.errors):
                log.info("payments: %s", run.summary())
        except Exception:  # a failed run is retried at the next interval
            log.exception("payment settlement failed")
        await asyncio.sleep(rt.settings.payment_jobs_interval_seconds)


async def signatures_loop(rt: Runtime, scanner: ClamAV) -> None:
    """freshclam against CLAMAV_MIRROR_URL, then a clamd reload, every
    CLAMAV_UPDATE_INTERVAL_SECONDS; one process at a time (the others skip that run)."""
    while True:
        try:
            async with rt.session_factory() as session:
                # Held for the run (freshclam may take minutes; read committed keeps no
                # snapshot between statements) and gone with the connection if it is lost.
                if await session.scalar(SIGNATURES_LOCK, {"place": signatures_place(rt.settings)}):
                    result = await signatures.update(rt.settings, scanner)
                    if result.ok:
                        log.info("clamav signatures: freshclam done, changed=%s", result.changed)
            found = await signatures.age(scanner, signatures.signature_folder(rt.settings))
            if signatures.stale(rt.settings, found, rt.clock.now()):
                log.warning("clamav signatures are stale: built %s", found.built_at)
        except Exception:  # retried at the next interval
            log.exception("clamav signature update failed")
        await asyncio.sleep(rt.settings.clamav_update_interval_seconds)


async def check_files(rt: Runtime) -> None:
    """Staging objects left by forms POSTed again removed; a batch of stored files re-read and
    compared with their rows (one process at a time, in its own transaction)."""
    if rt.store is None:
        return
    try:
        async with rt.session_factory() as session:
            if not await session.scalar(FILES_LOCK):
                return
            swept = await sweep_staging(session, rt.store)
            checked = await verify_stored(
                session, rt.store, now=rt.clock.now(), limit=rt.settings.file_verify_batch
            )
            await session.commit()
        log.info(
            "files: %s stale staging objects removed; %s re-read, %s damaged, %s restored",
            swept,
            checked.checked,
            len(checked.damaged),
            len(checked.restored),
        )
    except Exception:  # retried at the next interval
        log.exception("stored file checks failed")


async def reconcile_yesterday(rt: Runtime) -> None:
    """The daily reconciliation with the national portal (each run redoes yesterday: harmless,
    only differences are re-queued)."""
    config = portal_config(rt.settings)
    if config is None:
        return
    now = rt.clock.now()
    day = (now.astimezone(config.zone) - timedelta(days=1)).date()
    try:
        async with httpx.AsyncClient(timeout=30.0) as http, rt.session_factory() as session:
            # One process at a time (the others skip it this run).
            if not await session.scalar(RECONCILE_LOCK):
                return
            report = await reconcile(session, http, PortalClient(config, rt.clock), day=day, now=now)
            await session.commit()
        log.info(
            "national portal reconciliation %s: %s checked, %s differ, %s re-queued",
            day,
            report.checked,
            len(report.differences),
            report.requeued,
        )
    except Exception:  # retried at the next interval
        log.exception("national portal reconciliation failed")


async def calendar_watch(broker: Broker, calendars: CalendarCache) -> None:
    async with broker.subscribe("calendar", "overrides") as queue:
        while True:
            await queue.get()
            calendars.invalidate()
