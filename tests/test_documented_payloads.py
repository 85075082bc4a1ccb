"""The payloads of docs/integrations.md against the real ones: the webhook request (delivered to a
real receiver), the statistics CSV header, Open311's discovery, services and errors. The archive
package and the Open311 requests are checked where a test produces them
(tests/dossiers/test_access_and_integrity.py, tests/feedback/test_open311.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from models.dossiers import EventConsumer
from services.statistics.exports import HEADERS
from storage.s3 import ObjectStore
from tests.documented import assert_documented, example, examples, header_names, shape_problems
from tests.dossiers.outbox.support import Receiver, Story, T, add_consumer, deliver, seqs

SIGNED_HEADERS = {"content-type", "user-agent", "x-dvc-event-id", "x-dvc-timestamp", "x-dvc-signature"}


def test_every_example_is_there_and_reads() -> None:
    names = set(examples())
    assert names == {
        "webhook-headers",
        "webhook-body",
        "archive-manifest",
        "archive-dossier",
        "archive-trail",
        "statistics-csv",
        "open311-discovery",
        "open311-service",
        "open311-created",
        "open311-request",
        "open311-error",
    }


def test_the_comparison_sees_a_difference() -> None:
    """The checker itself: a renamed, a missing and a retyped field are each reported."""
    doc = {"a": 1, "b": {"c": "x"}, "d": [{"e": 1}]}
    assert shape_problems(doc, {"a": 2, "b": {"c": "y"}, "d": [{"e": 3}]}) == []
    assert shape_problems(doc, {"a": 2, "b": {"c": "y"}, "d": [{"e": 3}], "f": 0}) == [
        "$.f: produced, not documented"
    ]
    assert shape_problems(doc, {"a": 2, "b": {"c": 1}, "d": []}) == [
        "$.b.c: documented string, produced number"
    ]
    assert set(shape_problems(doc, {"a": 2, "b": {}, "d": [{"e": 1, "g": 2}]})) == {
        "$.b.c: documented, not produced",
        "$.d[0].g: produced, not documented",
    }


@pytest.fixture(name="receiver")
def _receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest_asyncio.fixture(name="http")
async def _http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as c:
        yield c


async def test_the_webhook_request_is_as_documented(
    client: httpx.AsyncClient,
    session: AsyncSession,
    store: ObjectStore,
    clock: FixedClock,
    receiver: Receiver,
    http: httpx.AsyncClient,
) -> None:
    story = await Story(client, session, store, clock).walk(until=4)
    consumer = await add_consumer(session, "tai-lieu", receiver.url)
    # During a rotation, so that the previous key's signature is sent too.
    await session.execute(
        update(EventConsumer)
        .where(EventConsumer.id == consumer)
        .values(previous_secret="old-secret-0123456789", previous_secret_until=T + timedelta(hours=1))
    )
    await session.commit()
    await deliver(session, http, T)
    got = receiver.of(story.id)
    assert [r.id for r in got] == await seqs(session, story.uuid)
    documented = header_names("webhook-headers")
    for request in got:
        assert_documented("webhook-body", request.event)
        sent = {name for name in request.headers if name.startswith("x-dvc-")} | SIGNED_HEADERS
        assert sent <= request.headers.keys()
        assert sent == documented, (sent, documented)
    assert example("webhook-headers").startswith("POST ")


async def test_the_statistics_csv_columns_are_as_documented(client: httpx.AsyncClient) -> None:
    documented = list(csv.reader(io.StringIO(example("statistics-csv"))))
    header, *lines = documented
    assert header == list(HEADERS)
    assert all(len(line) == len(header) for line in lines)
    assert lines[-1][:2] == ["", "Tổng cộng"]
    got = await client.get(
        "/exports/statistics.csv", params={"from": "2026-11-01", "to": "2026-11-30", "groupBy": "AGENCY"}
    )
    assert got.status_code == 200
    real = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert real[0] == header
    assert real[-1][:2] == ["", "Tổng cộng"]
    assert all(len(line) == len(header) for line in real)


async def test_open311_discovery_services_and_errors_are_as_documented(client: httpx.AsyncClient) -> None:
    assert_documented("open311-discovery", (await client.get("/open311/v2/discovery.json")).json())
    services = (await client.get("/open311/v2/services.json")).json()
    assert len(services) > 1
    assert_documented("open311-service", services)
    error = await client.post("/open311/v2/requests.json", data={})
    assert_documented("open311-error", error.json())
