"""Administrative levels as data (cấp hành chính): since 1 July 2025 Viet Nam has two levels of
local government, province and commune; the district level is history. An admin adds a level and
retires one: a retired level keeps its agencies readable (historical dossiers name them), but no new
agency — and no agency moved to it — and no procedure may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import AdministrativeLevel
from services.errors import FieldIssue, Issues, NotFound, ValidationFailed

LEVEL_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


@dataclass(frozen=True)
class LevelData:
    code: str
    name: str
    rank: int


async def active_codes(session: AsyncSession) -> frozenset[str]:
    """The levels a new agency or procedure may use: those not retired."""
    rows = await session.scalars(
        select(AdministrativeLevel.code).where(AdministrativeLevel.retired_on.is_(None))
    )
    return frozenset(rows.all())


def check_level(data: LevelData) -> Issues:
    issues = Issues()
    if not LEVEL_CODE.match(data.code):
        issues.add(("code",), "BAD_FORMAT", "Mã cấp gồm 2–32 chữ thường, số hoặc “_”, bắt đầu bằng chữ.")
    if not data.name.strip():
        issues.add(("name",), "REQUIRED", "Trường này không được để trống.")
    elif len(data.name) > 100:
        issues.add(("name",), "TOO_LONG", "Không được dài quá 100 ký tự.")
    if not 1 <= data.rank <= 99:
        issues.add(("rank",), "OUT_OF_RANGE", "Thứ bậc từ 1 đến 99 (1 là cấp cao nhất).")
    return issues


async def create_level(session: AsyncSession, data: LevelData) -> AdministrativeLevel:
    issues = check_level(data)
    if await session.get(AdministrativeLevel, data.code) is not None:
        issues.add(("code",), "DUPLICATE", f"Mã cấp “{data.code}” đã tồn tại.")
    issues.raise_if_any()
    level = AdministrativeLevel(code=data.code, name=data.name.strip(), rank=data.rank)
    session.add(level)
    await session.flush()
    return level


async def retire_level(session: AsyncSession, code: str, on: date) -> AdministrativeLevel:
    """Bãi bỏ một cấp from `on`: its agencies stay, no new one may use it. Retired once."""
    level = await session.get(AdministrativeLevel, code, with_for_update=True)
    if level is None:
        raise NotFound("cấp hành chính", code)
    if level.retired_on is not None:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("code",),
                    "ALREADY_RETIRED",
                    f"Cấp “{level.name}” đã bãi bỏ từ {level.retired_on:%d/%m/%Y}.",
                )
            ]
        )
    level.retired_on = on
    await session.flush()
    return level
