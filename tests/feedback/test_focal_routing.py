"""Feedback about nothing named lands on a unit able to act on it (services/feedback/routing.py):
a one-stop unit in force with a focal point, the nearest to the top of the tree — even when the
top (the provincial People's Committee) is no one-stop unit."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.catalog import Agency
from services.feedback.routing import default_focal
from tests.accounts.helpers import make_staff
from tests.conftest import gql
from tests.feedback.test_inquiries import QUESTION, SUBMIT, citizen_token, run

TODAY = date(2026, 11, 26)


async def _tree(session: AsyncSession) -> None:
    """T9 (the committee: no one-stop unit) → T9.01 (one-stop, nobody to classify), T9.02 (a focal
    point, but no one-stop unit), T9.03 → T9.03.01 (one-stop with a focal point), T9.04 (one-stop
    with a focal point, dissolved)."""
    ids: dict[str, uuid.UUID] = {}
    for code, parent, one_stop, until in (
        ("T9", None, False, None),
        ("T9.01", "T9", True, None),
        ("T9.02", "T9", False, None),
        ("T9.03", "T9", False, None),
        ("T9.04", "T9", True, date(2026, 6, 30)),
        ("T9.03.01", "T9.03", True, None),
    ):
        ids[code] = uuid.uuid4()
        session.add(
            Agency(
                id=ids[code],
                code=code,
                name=f"Đơn vị {code}",
                level_code="province",
                parent_id=ids[parent] if parent else None,
                is_one_stop_unit=one_stop,
                valid_until=until,
            )
        )
        await session.flush()
    await session.commit()


async def _focal(session: AsyncSession) -> str | None:
    agency = await default_focal(session, "T9", today=TODAY)
    return agency.code if agency else None


async def test_the_nearest_one_stop_unit_with_a_focal_point_below_a_top_that_is_none(
    session: AsyncSession,
) -> None:
    await _tree(session)
    # Nobody can classify anywhere yet: the nearest one-stop unit in force (admins act there).
    assert await _focal(session) == "T9.01"
    for code in ("T9.02", "T9.04", "T9.03.01"):
        await make_staff(session, f"daumoi-{code.lower()}@example.vn", ("FEEDBACK_FOCAL_POINT", code, False))
    # T9.02 has a focal point but is no one-stop unit; T9.04 is dissolved; T9.01 has nobody.
    assert await _focal(session) == "T9.03.01"
    # A focal point at the top with its sub-agencies covers T9.01, the nearest one-stop unit.
    await make_staff(session, "daumoi-t9@example.vn", ("FEEDBACK_FOCAL_POINT", "T9", True))
    assert await _focal(session) == "T9.01"


async def test_a_configured_one_stop_unit_with_a_focal_point_is_itself(session: AsyncSession) -> None:
    await _tree(session)
    await make_staff(session, "daumoi-9301@example.vn", ("FEEDBACK_FOCAL_POINT", "T9.03.01", False))
    agency = await default_focal(session, "T9.03.01", today=TODAY)
    assert agency is not None
    assert agency.code == "T9.03.01"
    assert await default_focal(session, "KHONG-CO", today=TODAY) is None


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"feedback_focal_agency": None})


async def test_unset_on_the_demo_tree_a_question_reaches_a_focal_point(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The demo province's top (H44, UBND tỉnh) is no one-stop unit: a question about nothing
    named goes to the nearest one-stop unit where someone classifies."""
    top = await session.scalar(select(Agency).where(Agency.code == "H44"))
    assert top is not None
    assert top.parent_id is None
    assert not top.is_one_stop_unit
    _, focal_token = await make_staff(
        session, "daumoi@phutho.gov.vn", ("FEEDBACK_FOCAL_POINT", "H44.99", False)
    )
    await session.commit()
    citizen = await citizen_token(client, session)
    submitted = await run(client, SUBMIT, citizen, i=QUESTION, k="hoi-dap-routing-1")
    assert submitted["__typename"] == "InquiryChanged", submitted
    code = submitted["inquiry"]["focalAgency"]["code"]
    # H44.01, H44.03 and H44.07 are nearer the top, but nobody classifies there.
    assert code == "H44.99"
    seen = await gql(
        client,
        "query($id: ID!) { inquiry(id: $id) { code } }",
        {"id": submitted["inquiry"]["id"]},
        token=focal_token,
    )
    assert seen["data"]["inquiry"]["code"] == submitted["inquiry"]["code"]  # the focal point has it
