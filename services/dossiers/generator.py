"""Realistic synthetic dossiers for benchmarks and demonstrations (`dvc generate-data`).

Each dossier goes through the real acts: registered at a one-stop counter (or arriving by post)
for a published procedure, with an e-form filled from the procedure's own JSON schema and a
small scan for every required component, then — for most of them — received (a code, an
appointment, the workflow's steps). So the trail, the statistics facts and the outbox see them
as they would see real ones. Deterministic for a given seed (except ids and codes' dates).

This is the small generator; a million-dossier loader that bypasses the acts is a later step.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.catalog import Agency, Procedure, ProcedureComponent, ProcedureReceivingAgency, ProcedureVersion
from models.dossiers import Channel
from services.calendar import WorkingCalendar
from services.dossiers import acts, reception, submission, transition
from services.errors import FieldIssue, ValidationFailed
from services.files import store_bytes
from storage.s3 import ObjectStore

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thu", "Ngọc", "Quang", "Thanh", "Xuân")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phương", "Sơn")
PLACES = ("Phường Việt Trì", "Xã Thanh Ba", "Phường Phú Thọ", "Xã Tam Nông", "Xã Lâm Thao", "Xã Cẩm Khê")
# A minimal valid one-page PDF: the "scan" attached to every required component.
SCAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\nxref\n0 4\n0000000000 65535 f \n"
    b"0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\n"
    b"startxref\n164\n%%EOF\n"
)
GENERATOR = Actor(
    ActorKind.SYSTEM,
    name="generate-data",
    roles={StaffRole.RECEPTION_OFFICER: None},
)


@dataclass(frozen=True)
class Choice:
    """A published procedure the generator can fill, and the one-stop units that receive it."""

    code: str
    version: ProcedureVersion
    agencies: tuple[str, ...]
    required: tuple[uuid.UUID, ...]


@dataclass
class Generated:
    registered: int = 0
    received: int = 0
    procedures: int = 0


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _string(rng: random.Random, key: str, spec: dict[str, Any]) -> str | None:
    if "enum" in spec:
        return str(rng.choice(spec["enum"]))
    if spec.get("format") == "date":
        return (date(1960, 1, 1) + timedelta(days=rng.randrange(0, 23000))).isoformat()
    if spec.get("format") == "email":
        return f"nguoidan{rng.randrange(10000)}@example.vn"
    pattern = spec.get("pattern")
    if pattern:
        digits = re.fullmatch(r"\^\[0-9\]\{(\d+)\}\$", pattern) or re.fullmatch(r"\^\\d\{(\d+)\}\$", pattern)
        if digits is None:
            return None
        return "".join(rng.choice("0123456789") for _ in range(int(digits.group(1))))
    title = str(spec.get("title", key)).lower()
    if "họ" in title and "tên" in title:
        value = _name(rng)
    elif "nơi" in title or "địa chỉ" in title or "quê" in title:
        value = rng.choice(PLACES) + ", tỉnh Phú Thọ"
    else:
        value = f"{spec.get('title', key)} của hồ sơ mẫu"
    return value[: int(spec.get("maxLength", 200))].ljust(int(spec.get("minLength", 0)), ".")


def fill_form(rng: random.Random, schema: dict[str, Any]) -> dict[str, Any] | None:
    """A value for every property of a flat form schema; None when one cannot be made."""
    out: dict[str, Any] = {}
    for key, spec in schema.get("properties", {}).items():
        kind = spec.get("type")
        if kind == "string":
            value = _string(rng, key, spec)
            if value is None:
                return None
            out[key] = value
        elif kind in ("integer", "number"):
            low, high = (
                int(spec.get("minimum", 1)),
                int(spec.get("maximum", max(int(spec.get("minimum", 1)), 10))),
            )
            out[key] = rng.randint(low, high)
        elif kind == "boolean":
            out[key] = rng.random() < 0.5
        elif key in schema.get("required", []):
            return None
    errors = list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(out))
    return None if errors else out


async def choices(session: AsyncSession, rng: random.Random) -> list[Choice]:
    """The published procedures whose forms the generator can fill, with their receiving units."""
    units = list(
        await session.scalars(select(Agency).where(Agency.is_one_stop_unit.is_(True)).order_by(Agency.code))
    )
    found: list[Choice] = []
    rows = await session.execute(
        select(Procedure.code, ProcedureVersion)
        .join(ProcedureVersion, ProcedureVersion.id == Procedure.published_version_id)
        .order_by(Procedure.code)
    )
    for code, version in rows.all():
        if fill_form(rng, version.form_schema) is None:
            continue
        listed = set(
            await session.scalars(
                select(ProcedureReceivingAgency.agency_id).where(
                    ProcedureReceivingAgency.version_id == version.id
                )
            )
        )
        agencies = tuple(
            a.code for a in units if (a.id in listed if listed else a.level_code in version.levels)
        )
        if not agencies:
            continue
        required = tuple(
            await session.scalars(
                select(ProcedureComponent.id)
                .where(
                    ProcedureComponent.version_id == version.id,
                    ProcedureComponent.required.is_(True),
                    ProcedureComponent.accepted_formats.contains(["application/pdf"]),
                )
                .order_by(ProcedureComponent.position)
            )
        )
        all_required = await session.scalars(
            select(ProcedureComponent.id).where(
                ProcedureComponent.version_id == version.id, ProcedureComponent.required.is_(True)
            )
        )
        if len(list(all_required)) != len(required):
            continue  # a required component that takes no PDF: not for this generator
        found.append(Choice(code, version, agencies, required))
    return found


async def generate(
    session: AsyncSession,
    store: ObjectStore,
    *,
    count: int,
    seed: int,
    now: datetime,
    calendar: WorkingCalendar,
    received_share: float = 0.8,
    progress: Callable[[], None] = lambda: None,
) -> Generated:
    """Register `count` dossiers (and receive about `received_share` of them) in the session."""
    if count < 1:
        raise ValidationFailed([FieldIssue(("dossiers",), "OUT_OF_RANGE", "Số hồ sơ phải từ 1 trở lên.")])
    rng = random.Random(seed)  # noqa: S311 -- reproducible test data, not secrets
    options = await choices(session, rng)
    if not options:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("catalog",),
                    "EMPTY",
                    "Danh mục chưa có thủ tục nào tạo được hồ sơ mẫu (chạy `dvc demo-load`).",
                )
            ]
        )
    done = Generated(procedures=len(options))
    for _ in range(count):
        choice = rng.choice(options)
        form = fill_form(rng, choice.version.form_schema) or {}
        name = _name(rng)
        scan = await store_bytes(
            session,
            store,
            owner_id=None,
            filename="ban-quet.pdf",
            content_type="application/pdf",
            data=SCAN,
            now=now,
        )
        dossier = await submission.register_at_counter(
            session,
            GENERATOR,
            procedure_code=choice.code,
            agency_code=rng.choice(choice.agencies),
            applicant=submission.Applicant(
                name=name,
                id_number="0" + "".join(rng.choice("0123456789") for _ in range(11)),
                phone="09" + "".join(rng.choice("0123456789") for _ in range(8)),
                address=rng.choice(PLACES) + ", tỉnh Phú Thọ",
            ),
            form_data=form,
            components=[acts.ComponentFiles(c, (scan.id,)) for c in choice.required],
            channel=Channel.POST if rng.random() < 0.15 else Channel.COUNTER,
            now=now,
            calendar=calendar,
        )
        done.registered += 1
        if rng.random() < received_share:
            await reception.receive(
                session, dossier.id, transition.ActContext(actor=GENERATOR, now=now, calendar=calendar)
            )
            done.received += 1
        progress()
    return done
