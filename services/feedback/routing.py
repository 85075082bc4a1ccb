"""The default focal agency: where feedback and questions about nothing named (no agency, procedure
or dossier, not entered at a counter) are received.

The rule: **the unit closest to the top of the tree that can act on it** — a one-stop unit (Bộ
phận Một cửa) in force on the day, with at least one active account holding
`FEEDBACK_FOCAL_POINT` there (assigned at the unit itself, or at an agency above it with its
sub-agencies), so that someone can classify it within its 3 working days. The search starts at
`FEEDBACK_FOCAL_AGENCY` when it is set (that agency itself when it can act, else the nearest such
unit below it), else at each top-level agency by code; among units at the same depth the smallest
code wins. When no unit anywhere can act (a province being set up), the nearest one-stop unit in
force is taken (its system administrators can act), else the starting agency.

The top of the tree is often the provincial People's Committee (UBND tỉnh), which is no one-stop
unit and whose staff do not classify feedback: routing there would leave the feedback unseen.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.roles import StaffRole
from models.accounts import Account, AccountStatus, StaffAssignment
from models.catalog import Agency


@dataclass(frozen=True)
class _Unit:
    id: uuid.UUID
    code: str
    parent_id: uuid.UUID | None
    one_stop: bool
    in_force: bool


async def default_focal(session: AsyncSession, code: str | None, *, today: date) -> Agency | None:
    """The focal agency of feedback about nothing named (module docstring); None only when the
    catalog has no agency at all (or the configured code names none)."""
    units = {u.id: u for u in await _units(session, today)}
    children: dict[uuid.UUID | None, list[_Unit]] = {}
    for unit in sorted(units.values(), key=lambda u: u.code):
        children.setdefault(unit.parent_id, []).append(unit)
    roots = [u for u in units.values() if u.code == code] if code else children.get(None, [])
    if not roots:
        return None
    here, below = await _focal_points(session)
    for fallback in (False, True):
        able = functools.partial(_able, here=here, fallback=fallback)
        for root in roots:
            found = _nearest(root, children, below, able)
            if found is not None:
                return await session.get_one(Agency, found.id)
    return await session.get_one(Agency, roots[0].id)


def _able(unit: _Unit, covered: bool, here: set[uuid.UUID], *, fallback: bool) -> bool:
    """A one-stop unit in force with a focal point (`covered`: by an assignment above it with its
    sub-agencies); in `fallback`, any one-stop unit in force."""
    if not (unit.one_stop and unit.in_force):
        return False
    return fallback or covered or unit.id in here


def _nearest(
    root: _Unit,
    children: dict[uuid.UUID | None, list[_Unit]],
    below: set[uuid.UUID],
    able: Callable[[_Unit, bool], bool],
) -> _Unit | None:
    """Breadth-first from `root` (children by code): the first unit `able` says yes to, told
    whether a focal point assigned above it with its sub-agencies covers it."""
    level: list[tuple[_Unit, bool]] = [(root, False)]
    while level:
        for unit, covered in level:
            if able(unit, covered):
                return unit
        level = [
            (child, covered or unit.id in below)
            for unit, covered in level
            for child in children.get(unit.id, [])
        ]
    return None


async def _units(session: AsyncSession, today: date) -> list[_Unit]:
    rows = await session.execute(
        select(
            Agency.id,
            Agency.code,
            Agency.parent_id,
            Agency.is_one_stop_unit,
            Agency.valid_from,
            Agency.valid_until,
        )
    )
    return [
        _Unit(
            r.id,
            r.code,
            r.parent_id,
            bool(r.is_one_stop_unit),
            (r.valid_from is None or r.valid_from <= today)
            and (r.valid_until is None or r.valid_until >= today),
        )
        for r in rows
    ]


async def _focal_points(session: AsyncSession) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The agencies where an active account is a focal point, and those of them where the
    assignment covers the sub-agencies too."""
    rows = await session.execute(
        select(StaffAssignment.agency_id, StaffAssignment.include_sub_agencies)
        .join(Account, Account.id == StaffAssignment.account_id)
        .where(
            StaffAssignment.role == StaffRole.FEEDBACK_FOCAL_POINT.value,
            StaffAssignment.ended_at.is_(None),
            StaffAssignment.agency_id.is_not(None),
            Account.status == AccountStatus.ACTIVE,
        )
    )
    here: set[uuid.UUID] = set()
    below: set[uuid.UUID] = set()
    for agency_id, include_sub in rows:
        if agency_id is None:
            continue
        here.add(agency_id)
        if include_sub:
            below.add(agency_id)
    return here, below
