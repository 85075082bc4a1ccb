"""Messages caught in development (issue 14, part 2): with no SMTP server and no SMS gateway the
app's own sender keeps every e-mail and SMS in `caught_messages` and marks the outbox row sent, so
registration, staff activation and password reset work from the caught codes alone; `dvc
messages` and GET /dev/messages show them; production has neither the page nor the catcher and
refuses to start without both channels."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from core.clock import FixedClock, SystemClock
from core.db import make_engine, make_session_factory
from core.settings import DEFAULT_PROVINCE, Settings, system_name
from models.accounts import CaughtMessage, Notification
from services.accounts import messages
from services.caught import MessageCatcher, caught_messages
from services.notifications import DeliveryRound, deliver_round
from storage.s3 import ObjectStore
from tests.accounts.helpers import PASSWORD, VERIFY, citizen_input, register, sign_in
from tests.accounts.test_staff import CREATE, staff
from tests.conftest import NOW, admin_gql, app_runtime, gql
from tests.dossiers.helpers import act, scene, upload
from tests.dossiers.test_lifecycle import SAVE
from tests.test_cli import cli_env, dvc  # noqa: F401 — the fixture

PRODUCTION_CHANNELS: dict[str, Any] = {
    "environment": "production",
    "metrics_token": "m" * 16,
    "smtp_host": "smtp.example.gov.vn",
    "smtp_sender": "no-reply@example.gov.vn",
    "sms_gateway_url": "https://sms.example.vn/send",
    "sms_gateway_key": "k" * 20,
}
RESET = """mutation($d: String!, $c: String!, $p: String!) { passwordReset(destination: $d, code: $c,
  newPassword: $p) { __typename ... on Refused { code } } }"""
RESET_REQUEST = "mutation($d: String!) { passwordResetRequest(destination: $d) { __typename } }"


async def deliver(
    settings: Settings, factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> DeliveryRound:
    """One round of the app's own notification sender, with the senders the app builds."""
    from web.workers import notification_senders

    senders = notification_senders(settings, factory, clock)
    async with factory() as session:
        done = await deliver_round(session, mailer=senders.mailer, sms=senders.sms, now=clock.now())
        await session.commit()
    return done


async def caught_code(session: AsyncSession, to: str) -> str:
    [newest, *_] = await caught_messages(session, to=to, limit=1)
    assert newest.code is not None, newest.body
    assert newest.code in newest.body
    return newest.code


async def test_registration_is_verified_with_the_caught_code(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: FixedClock,
) -> None:
    assert (settings.environment, settings.smtp_host, settings.sms_gateway_url) == ("development", None, None)
    assert (await register(client, 41))["__typename"] == "Registered"
    data = citizen_input(41)
    done = await deliver(settings, session_factory, clock)
    assert (done.sent, done.failed, done.skipped) == (2, 0, 0)  # the e-mail and the SMS, both caught

    caught = await caught_messages(session, to=data["email"])
    assert [(m.channel, m.template, m.account_name) for m in caught] == [
        ("EMAIL", "verify_contact", "Nguyễn Thị Lan")
    ]
    # The mobile number matches in the spelling the citizen typed (stored as +84…).
    [sms] = await caught_messages(session, to=data["phone"])
    assert (sms.channel, sms.destination) == ("SMS", "+84" + data["phone"][1:])
    # The outbox behaves as in production: sent, and its copy of the code forgotten.
    session.expire_all()
    outbox = list(
        await session.scalars(select(Notification).where(Notification.destination == data["email"]))
    )
    assert [(n.sent_at, n.template) for n in outbox] == [(NOW, "verify_contact")]
    assert caught[0].code is not None
    assert caught[0].code not in outbox[0].body

    verified = await gql(client, VERIFY, {"d": data["email"], "c": await caught_code(session, data["email"])})
    assert verified["data"]["contactVerify"]["account"]["status"] == "ACTIVE"
    assert (await sign_in(client, data["email"]))["__typename"] == "SignedIn"

    # A round retried after its commit failed keeps one copy (notification_id is unique).
    again = MessageCatcher(session_factory, clock)
    message = await _as_message(session, outbox[0].id)
    await again.send(message)
    assert len(await caught_messages(session, to=data["email"])) == 1


async def _as_message(session: AsyncSession, notification_id: uuid.UUID) -> Any:
    from services.notifications import NotificationMessage

    row = await session.get_one(Notification, notification_id)
    return NotificationMessage(
        id=row.id,
        seq=row.seq,
        channel=row.channel,
        destination=row.destination,
        template=row.template,
        subject=row.subject,
        body=row.body,
        created_at=row.created_at,
        account_id=row.account_id,
    )


async def test_staff_created_through_the_api_signs_in_with_the_caught_code(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: FixedClock,
) -> None:
    email = "moi.tuyen@phutho.gov.vn"
    created = (await admin_gql(client, CREATE, {"input": staff(email)}))["staffCreate"]
    assert created["account"]["status"] == "PENDING"
    assert (await sign_in(client, email, "Can-bo-2026-moi"))["__typename"] == "Refused"
    await deliver(settings, session_factory, clock)
    [welcome] = await caught_messages(session, to=email)
    assert (welcome.template, welcome.subject) == ("reset_password_welcome", "Tài khoản cán bộ đã được tạo")
    assert str(welcome.account_id) == created["account"]["id"]

    reset = await gql(client, RESET, {"d": email, "c": welcome.code, "p": "Can-bo-2026-moi"})
    assert reset["data"]["passwordReset"]["__typename"] == "AccountSaved"
    signed = await sign_in(client, email, "Can-bo-2026-moi")
    assert signed["__typename"] == "SignedIn"


async def test_password_reset_through_the_caught_message(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: FixedClock,
) -> None:
    await register(client, 42)
    email = citizen_input(42)["email"]
    await deliver(settings, session_factory, clock)
    await gql(client, VERIFY, {"d": email, "c": await caught_code(session, email)})

    asked = await gql(client, RESET_REQUEST, {"d": email})
    assert asked["data"]["passwordResetRequest"]["__typename"] == "Done"
    await deliver(settings, session_factory, clock)
    newest = (await caught_messages(session, to=email))[0]
    assert newest.template == "reset_password"
    reset = await gql(client, RESET, {"d": email, "c": newest.code, "p": "Mat-khau-moi-2026-xyz"})
    assert reset["data"]["passwordReset"]["__typename"] == "AccountSaved"
    assert (await sign_in(client, email, PASSWORD))["__typename"] == "Refused"
    assert (await sign_in(client, email, "Mat-khau-moi-2026-xyz"))["__typename"] == "SignedIn"


async def test_the_development_page_lists_them_newest_first(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await register(client, 43)
    await deliver(settings, session_factory, clock)
    email = citizen_input(43)["email"]
    async with session_factory() as session:
        code = await caught_code(session, email)
    # (after the session: closing it rolls back to its savepoint, which would take the request's along)
    verified = await gql(client, VERIFY, {"d": email, "c": code})
    assert verified["data"]["contactVerify"]["account"]["status"] == "ACTIVE"
    await register(client, 43)  # again: the verified owner is told someone tried (no code in it)
    await deliver(settings, session_factory, clock)

    page = await client.get("/dev/messages", params={"to": email})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert html.index("Có người đăng ký tài khoản") < html.index("Mã xác thực tài khoản")  # newest first
    listed = (await client.get("/dev/messages", params={"to": email, "format": "json"})).json()["messages"]
    assert [m["template"] for m in listed] == ["registration_attempt", "verify_contact"]
    assert listed[1]["code"]
    assert f'class="code">{listed[1]["code"]}<' in html
    assert listed[0]["code"] is None
    assert listed[1]["accountName"] == "Nguyễn Thị Lan"
    assert listed[1]["to"] == email
    assert (await client.get("/dev/messages", params={"limit": "0"})).status_code == 400


async def test_production_has_no_page_and_no_catcher(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    from web.workers import notification_senders

    production = settings.model_copy(update=PRODUCTION_CHANNELS)
    app = create_app(app_runtime(production, session_factory, clock=clock))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        assert (await c.get("/dev/messages")).status_code == 404
        assert (await c.get("/dev/messages", params={"format": "json"})).status_code == 404
    senders = notification_senders(production, session_factory, clock)
    assert not isinstance(senders.mailer, MessageCatcher)
    assert not isinstance(senders.sms, MessageCatcher)
    for close in senders.closing:
        await close()
    # A development process with a real SMTP server catches only the SMS.
    mixed = settings.model_copy(update={"smtp_host": "smtp.example.vn", "smtp_sender": "a@example.vn"})
    senders = notification_senders(mixed, session_factory, clock)
    assert not isinstance(senders.mailer, MessageCatcher)
    assert isinstance(senders.sms, MessageCatcher)


def test_production_start_is_refused_by_the_command_line(cli_env: dict[str, str]) -> None:  # noqa: F811
    """The rule itself is one of the production checklist's (tests/test_checklist.py)."""
    env = {**cli_env, "ENVIRONMENT": "production", "METRICS_TOKEN": "m" * 16}
    result = dvc(env, "serve")
    assert result.returncode == 2
    assert "message-channels: SMTP_HOST is unset" in result.stderr
    assert "message-channels: SMS_GATEWAY_URL is unset" in result.stderr


def test_dvc_messages_prints_the_caught_messages(cli_env: dict[str, str]) -> None:  # noqa: F811
    assert dvc(cli_env, "migrate").returncode == 0
    url = cli_env["DATABASE_URL"]
    verify = messages.verification_code("314159", 15, system=system_name(DEFAULT_PROVINCE))
    reset = messages.reset_code("271828", 15, system=system_name(DEFAULT_PROVINCE))

    async def queue_and_deliver() -> None:
        engine = make_engine(url, pool_size=2)
        factory = make_session_factory(engine)
        try:
            async with factory() as session:
                for template, destination, (subject, body) in (
                    ("verify_contact", "an@example.vn", verify),
                    ("reset_password", "0912000777", reset),
                ):
                    channel = "SMS" if destination.startswith("0") else "EMAIL"
                    dest = "+84912000777" if channel == "SMS" else destination
                    session.add(
                        Notification(
                            channel=channel,
                            destination=dest,
                            template=template,
                            subject=subject,
                            body=body,
                            created_at=NOW,
                        )
                    )
                await session.commit()
            # A real commit in a database of its own: what another process (the CLI) sees.
            development = Settings(database_url=url, jwt_secret="x" * 32)
            done = await deliver(development, factory, FixedClock(NOW))
            assert done.sent == 2
            async with factory() as session:
                assert len(list(await session.scalars(select(CaughtMessage)))) == 2
        finally:
            await engine.dispose()

    asyncio.run(queue_and_deliver())
    listed = dvc(cli_env, "messages")
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout
    assert out.index("Mã: 271828") < out.index("Mã: 314159")  # newest first
    assert verify[1] in out
    assert reset[1] in out
    assert "an@example.vn" in out
    one = dvc(cli_env, "messages", "--to", "0912 000 777", "--json")
    assert one.returncode == 0, one.stderr
    [line] = one.stdout.splitlines()
    assert '"code": "271828"' in line
    assert '"to": "+84912000777"' in line
    limited = dvc(cli_env, "messages", "--limit", "1")
    assert "271828" in limited.stdout
    assert "314159" not in limited.stdout
    nothing = dvc(cli_env, "messages", "--to", "nobody@example.vn")
    assert nothing.returncode == 0
    assert nothing.stdout == ""
    assert "Chưa có" in nothing.stderr


def test_dvc_messages_follow_prints_new_ones(cli_env: dict[str, str]) -> None:  # noqa: F811
    """--follow waits for new messages (stopped here by the test after it saw one)."""
    import subprocess
    import sys
    import threading

    from tests.test_cli import ROOT

    assert dvc(cli_env, "migrate").returncode == 0
    follower = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "messages", "--follow"],
        cwd=ROOT,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(90, follower.terminate)  # a read never blocks the suite for ever
    watchdog.start()
    try:
        assert follower.stderr is not None
        assert follower.stdout is not None
        while "Đang chờ" not in (line := follower.stderr.readline()):
            assert line, "dvc messages --follow ended before waiting"

        async def catch_one() -> None:
            engine = make_engine(cli_env["DATABASE_URL"], pool_size=1)
            try:
                catcher = MessageCatcher(make_session_factory(engine), SystemClock())
                from services.notifications import NotificationMessage

                subject, body = messages.unlock_code("161803", 15, system=system_name(DEFAULT_PROVINCE))
                await catcher.send(
                    NotificationMessage(
                        id=uuid.uuid4(),
                        seq=1,
                        channel="EMAIL",
                        destination="follow@example.vn",
                        template="unlock_account",
                        subject=subject,
                        body=body,
                        created_at=NOW,
                    )
                )
            finally:
                await engine.dispose()

        asyncio.run(catch_one())
        lines: list[str] = []
        while "Mã: 161803" not in (line := follower.stdout.readline()):
            assert line, f"no new message printed: {lines}"
            lines.append(line)
    finally:
        watchdog.cancel()
        follower.terminate()
        follower.communicate(timeout=30)  # reaps it and closes both pipes


async def test_a_dossier_notice_is_caught_with_its_dossier(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    store: ObjectStore,
    clock: FixedClock,
) -> None:
    s = await scene(client, session)
    form = await upload(session, store, s.citizen_id)
    draft = {
        "procedureCode": s.code,
        "receivingAgencyCode": "H44.99",
        "formData": {"hoTen": "Nguyễn Thị Lan"},
        "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form]}],
        "deliveryMethod": "ONLINE",
    }
    saved = (await gql(client, SAVE, {"input": draft}, token=s.citizen))["data"]["r"]["dossier"]
    submitted = await act(
        client, s.citizen, "dossierSubmit", "expectedVersion: $v", id=saved["id"], v=saved["version"]
    )
    assert submitted["dossier"]["status"] == "SUBMITTED"
    received = (await act(client, s.reception, "dossierReceive", id=saved["id"]))["dossier"]
    await deliver(settings, session_factory, clock)

    [notice] = [
        m
        for m in await caught_messages(session, to=citizen_input(1)["email"])
        if m.template == "dossier_receive"
    ]
    assert (str(notice.dossier_id), notice.dossier_code) == (saved["id"], received["code"])
    assert notice.code is None  # a dossier code is not a one-time code
    page = await client.get("/dev/messages", params={"to": citizen_input(1)["email"]})
    assert f"hồ sơ {received['code']}" in page.text
