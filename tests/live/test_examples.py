"""The example clients of docs/examples/ (the `gql` library) run as real processes against live
app processes: a citizen signs in and lists their dossiers, an app reads the catalog with client
credentials, and a subscriber on one app process sees a change another client makes through the
other process."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from tests.conftest import ADMIN_TOKEN, CALENDAR, Servers
from tests.dossiers.helpers import long_token
from tests.live.conftest import LiveSite

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
CITIZEN_ID = "025190000777"
PASSWORD = "Mat-khau-cong-dan-2026"


@dataclass(frozen=True)
class People:
    dossier_ids: list[str]
    citizen_token: str
    officer_token: str
    client_id: str
    client_secret: str


def graphql(base: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=20,
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


@pytest.fixture(scope="module")
def people(live_site: LiveSite, servers: Servers) -> People:
    """A citizen with a password and two dossiers registered for them at the counter, a one-stop
    officer of the receiving unit, and an app registered by the system admin."""

    async def make() -> tuple[list[str], uuid.UUID, uuid.UUID]:
        from models.dossiers import Channel
        from services.dossiers import acts, generator, submission
        from services.files import store_bytes
        from storage.s3 import ObjectStore
        from tests.accounts.helpers import add_citizen, make_staff

        store = ObjectStore(servers.s3)
        await store.ensure_bucket()
        engine = create_async_engine(live_site.database_url)
        now = datetime.now(UTC)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                citizen = await add_citizen(session, "Trần Văn Bảy", CITIZEN_ID, "bay@example.vn", PASSWORD)
                officer_id, _ = await make_staff(
                    session, "motcua@phutho.gov.vn", ("RECEPTION_OFFICER", "H44.99", False)
                )
                rng = random.Random(5)
                choice = next(c for c in await generator.choices(session, rng) if "H44.99" in c.agencies)
                ids = []
                for _ in range(2):
                    scan = await store_bytes(
                        session,
                        store,
                        owner_id=None,
                        filename="ban-quet.pdf",
                        content_type="application/pdf",
                        data=generator.SCAN,
                        now=now,
                    )
                    dossier = await submission.register_at_counter(
                        session,
                        generator.GENERATOR,
                        procedure_code=choice.code,
                        agency_code="H44.99",
                        applicant=submission.Applicant(name="Trần Văn Bảy", id_number=CITIZEN_ID),
                        form_data=generator.fill_form(rng, choice.version.form_schema) or {},
                        components=[acts.ComponentFiles(c, (scan.id,)) for c in choice.required],
                        channel=Channel.COUNTER,
                        now=now,
                        calendar=CALENDAR,
                    )
                    ids.append(str(dossier.id))
                await session.commit()
                return ids, citizen.id, officer_id
        finally:
            await engine.dispose()

    ids, citizen_id, officer_id = asyncio.run(make())
    registered = graphql(
        live_site.bases[0],
        ADMIN_TOKEN,
        """mutation($input: AppRegisterInput!) { appRegister(input: $input) {
            __typename ... on AppRegistered { clientSecret app { clientId } } } }""",
        {"input": {"name": "Ứng dụng tra cứu", "contactEmail": "app@example.vn", "scopes": ["catalog:read"]}},
    )["appRegister"]
    assert registered["__typename"] == "AppRegistered"
    return People(
        dossier_ids=ids,
        citizen_token=long_token(citizen_id),
        officer_token=long_token(officer_id),
        client_id=registered["app"]["clientId"],
        client_secret=registered["clientSecret"],
    )


def run_example(name: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_citizen_signs_in_and_lists_their_dossiers(live_site: LiveSite, people: People) -> None:
    result = run_example(
        "citizen_my_dossiers.py",
        {"DVC_URL": f"{live_site.bases[0]}/graphql", "DVC_IDENTIFIER": CITIZEN_ID, "DVC_PASSWORD": PASSWORD},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "signed in: Trần Văn Bảy"
    listed = [line.split("\t") for line in lines if line.startswith("dossier\t")]
    assert sorted(row[1] for row in listed) == sorted(people.dossier_ids)
    assert {row[3] for row in listed} == {"SUBMITTED"}
    assert "total: 2" in lines
    assert lines[-1] == "refreshed: True"

    wrong = run_example(
        "citizen_my_dossiers.py",
        {
            "DVC_URL": f"{live_site.bases[0]}/graphql",
            "DVC_IDENTIFIER": CITIZEN_ID,
            "DVC_PASSWORD": "sai-mat-khau",
        },
    )
    assert wrong.returncode == 1
    assert "sign-in refused" in wrong.stderr


def test_app_reads_the_catalog_with_client_credentials(live_site: LiveSite, people: People) -> None:
    env = {
        "DVC_BASE": live_site.bases[1],
        "DVC_CLIENT_ID": people.client_id,
        "DVC_CLIENT_SECRET": people.client_secret,
    }
    result = run_example("app_catalog.py", env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "token: scope=catalog:read expires_in=900"
    rows = [line.split("\t") for line in lines if line.startswith("procedure\t")]
    assert len(rows) == 73  # the demo catalog, over two pages of 50
    assert lines[-1] == "total: 73 of 73"
    searched = run_example("app_catalog.py", env, "dang ky khai sinh")
    assert searched.returncode == 0, searched.stderr
    first = next(line for line in searched.stdout.splitlines() if line.startswith("procedure\t"))
    assert "khai sinh" in first

    refused = run_example("app_catalog.py", {**env, "DVC_CLIENT_SECRET": "not-the-secret"})
    assert refused.returncode == 1
    assert "token refused: HTTP 401" in refused.stderr


def test_subscriber_sees_a_change_another_client_makes(live_site: LiveSite, people: People) -> None:
    dossier_id = people.dossier_ids[0]
    ws_url = live_site.bases[1].replace("http://", "ws://") + "/graphql"
    watcher = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "watch_dossier.py"), "2"],
        cwd=ROOT,
        env={**os.environ, "DVC_WS_URL": ws_url, "DVC_TOKEN": people.citizen_token, "DOSSIER_ID": dossier_id},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        first = watcher.stdout.readline()  # the current state, once subscribed
        assert first.startswith("status\t1\tSUBMITTED\t-"), first
        # Another client — the one-stop officer, through the other app process — receives it.
        received = graphql(
            live_site.bases[0],
            people.officer_token,
            """mutation($id: ID!) { dossierReceive(id: $id) { __typename
                ... on DossierChanged { dossier { code status } } } }""",
            {"id": dossier_id},
        )["dossierReceive"]
        assert received["__typename"] == "DossierChanged"
        deadline = time.monotonic() + 30
        second = watcher.stdout.readline()
        assert time.monotonic() < deadline
        fields = second.rstrip("\n").split("\t")
        assert fields[:3] == ["status", "2", "IN_PROGRESS"], second
        assert fields[3] == received["dossier"]["code"]
        assert watcher.wait(timeout=20) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
        if watcher.stderr is not None:
            watcher.stderr.close()
        if watcher.stdout is not None:
            watcher.stdout.close()
