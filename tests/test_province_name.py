"""The province's name comes from configuration (PROVINCE_NAME) and completes the one system name
(`core.settings.system_name`) that the public pages, the issued documents and the messages to
account owners carry. The paper conversion's own check: tests/dossiers/test_lifecycle.py."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import DEFAULT_PROVINCE, Settings, system_name
from models.accounts import Notification
from tests.accounts.helpers import citizen_input, register
from tests.hardening.helpers import client_with

ROOT = Path(__file__).resolve().parents[1]
HA_GIANG = "Hệ thống thông tin giải quyết thủ tục hành chính tỉnh Hà Giang"


def test_the_default_is_the_demo_province() -> None:
    catalog = json.loads((ROOT / "seed" / "demo_catalog.json").read_text(encoding="utf-8"))
    assert f"tỉnh {DEFAULT_PROVINCE}" in catalog["agencies"][0]["address"]
    assert Settings.model_fields["province_name"].default == DEFAULT_PROVINCE
    assert system_name(DEFAULT_PROVINCE) == "Hệ thống thông tin giải quyết thủ tục hành chính tỉnh Phú Thọ"
    assert system_name("thành phố Hà Nội").endswith("thủ tục hành chính thành phố Hà Nội")


async def test_the_public_pages_name_the_configured_province(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with client_with(settings, session_factory, province_name="Hà Giang") as c:
        for path in ("/tra-cuu/000.00.99.H44-261127-9999", "/xac-minh/KHONGCO"):
            page = await c.get(path)
            assert page.status_code == 404
            assert f"<footer>{HA_GIANG}</footer>" in page.text, path
            assert "Phú Thọ" not in page.text


async def test_a_message_is_signed_with_the_configured_province(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    async with client_with(settings, session_factory, province_name="Hà Giang") as c:
        result = await register(c, 7)
        assert result["__typename"] == "Registered", result
    email = citizen_input(7)["email"]
    body = await session.scalar(select(Notification.body).where(Notification.destination == email))
    assert body is not None
    assert body.endswith(f"— {HA_GIANG}"), body
