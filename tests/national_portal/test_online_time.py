"""The reduced online time for every online dossier (issue 16 item 2): a dossier submitted on the
national portal gets the catalog decision's shorter online time, as it gets the online fee."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from tests.conftest import CALENDAR
from tests.dossiers.helpers import act, scene
from tests.national_portal.portal import SIGNING_SECRET
from tests.national_portal.test_inbound import post, submission


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return Settings(**{**settings.model_dump(), "national_portal_signing_secret": SIGNING_SECRET})


async def test_national_portal_dossiers_get_the_reduced_online_time(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Decree 45/2020 and the catalog decision (seed 003: the reduced time of 152 procedures when
    submitted online): the reduced time applies to an online dossier whatever portal it came
    through. The procedure takes 5 working days, 4 online; the national portal's dossier is due 4
    working days after it counts, its steps share those 4 days, and it owes the online fee."""
    s = await scene(client, session)
    answer = (await post(client, submission(s))).json()
    received = (await act(client, s.reception, "dossierReceive", id=answer["IdHoSo"]))["dossier"]
    assert received["channel"] == "NATIONAL_PORTAL"
    counts_from = datetime.fromisoformat(received["countsFrom"])
    assert datetime.fromisoformat(received["appointmentAt"]) == CALENDAR.add_working_days(
        counts_from, Decimal(4)
    )
    assert [st["days"] for st in received["steps"]] == [0.5, 2.5, 0.5, 0.5]
    assert sum(st["days"] for st in received["steps"]) == 4
    assert received["feesDue"]["total"] == 50000
