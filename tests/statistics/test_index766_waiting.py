"""The 766 formula's dossiers still waiting for the applicant (issue 16 item 1): in the index, a
dossier waiting for a supplement ends at the request date — on time when asked for by its deadline
by law and the first request, late otherwise — and stops counting so once the documents arrive (it
is judged when it is finished). Every dossier made through the real acts over GraphQL."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from storage.s3 import ObjectStore
from tests.conftest import gql
from tests.dossiers.helpers import scene
from tests.dossiers.test_on_time import _ask, _finish, _received, _supplement
from tests.statistics.helpers import at

INDEX = """query($f: StatisticsFilter!) { serviceIndex(filter: $f) {
  groups { indicators { code numerator denominator value
    lowering(first: 20) { totalCount edges { node { id code status } } } } } } }"""
PERIOD = {"from": "2026-11-01", "to": "2026-12-31", "agencyCode": "H44.99"}


async def _indicators(client: httpx.AsyncClient, token: str) -> dict[str, dict[str, Any]]:
    data = (await gql(client, INDEX, {"f": PERIOD}, token=token))["data"]["serviceIndex"]
    return {i["code"]: i for g in data["groups"] for i in g["indicators"]}


def _lowering(indicator: dict[str, Any]) -> set[str]:
    return {e["node"]["id"] for e in indicator["lowering"]["edges"]}


async def test_decision_766_a_dossier_still_waiting_ends_at_the_request_date(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """Decision 766/QĐ-TTg as the national portal scores it (DESIGN.md, "The law since 2025"):
    "a dossier still waiting ends at the request date; more than one supplement request counts as
    late". Four dossiers, each due Wednesday 2/12 09:00: one asked for a supplement on 27/11 and
    still waiting (on time), one asked only on 3/12 (after its deadline: late), one asked twice
    (late), one finished on 1/12 (on time). Progress (2.1) counts 2 of 4, satisfaction with
    procedures (5.3) takes the 2 late ones off; once the first one's documents arrive it no longer
    counts until it is finished."""
    s = await scene(client, session)
    waiting, asked_late, asked_twice, finished = [
        await _received(client, session, store, clock, s) for _ in range(4)
    ]
    await _ask(client, clock, s, waiting, "2026-11-27T09:00:00")
    await _ask(client, clock, s, asked_twice, "2026-11-27T09:30:00")
    await _supplement(client, session, store, clock, s, asked_twice, "2026-11-30T09:00:00")
    await _ask(client, clock, s, asked_twice, "2026-11-30T10:00:00", late=True)
    assert (await _finish(client, session, store, clock, s, finished, "2026-12-01T09:00:00"))[
        "punctuality"
    ] in ("EARLY", "ON_TIME")
    await _ask(client, clock, s, asked_late, "2026-12-03T10:00:00")

    clock.at = at("2026-12-03T11:00:00")
    index = await _indicators(client, s.reception)
    assert (index["2.1"]["numerator"], index["2.1"]["denominator"]) == (2, 4)
    assert index["2.1"]["value"] == 50.0
    assert _lowering(index["2.1"]) == {asked_late, asked_twice}, index["2.1"]["lowering"]
    assert (index["5.3"]["numerator"], index["5.3"]["denominator"]) == (2, 4)  # 100 % − 50 % late
    assert _lowering(index["5.3"]) == {asked_late, asked_twice}

    # The documents arrive: no longer waiting, so not counted until it is finished.
    await _supplement(client, session, store, clock, s, waiting, "2026-12-04T09:00:00")
    index = await _indicators(client, s.reception)
    assert (index["2.1"]["numerator"], index["2.1"]["denominator"]) == (1, 3)
    assert waiting not in _lowering(index["2.1"])
