"""The notification tests' fixtures: the SMTP server, the SMS gateway, an HTTP client, an empty
outbox."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from devservers import find_free_port
from models.accounts import Notification
from tests.notifications.servers import Gateway, GatewayHandler, GatewayServer, Inbox


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=find_free_port(),
        server_hostname="smtp.test.local",
        authenticator=handler.authenticate,
        auth_require_tls=False,  # a loopback test server: no certificate to present
    )
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = GatewayServer(("127.0.0.1", find_free_port()), GatewayHandler)
    server.gateway = Gateway()
    server.gateway.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/sms"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:  # no proxy for 127.0.0.1
        yield client


@pytest_asyncio.fixture(autouse=True)
async def empty_outbox(session: AsyncSession) -> None:
    """Whatever rows earlier (live) tests committed are out of sight for this test's transaction."""
    await session.execute(delete(Notification))
    await session.commit()
