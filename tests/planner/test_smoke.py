from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from storage.s3 import ObjectStore
from tests.conftest import gql
from tests.dossiers.test_access_and_integrity import submitted
from tests.planner.conftest import Paths


async def test_smoke(
    client: httpx.AsyncClient, paths: Paths, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    code = await gql(
        client, "query($id: ID!) { dossier(id: $id) { code } }", {"id": dossier_id}, token=s.citizen
    )
    print(code)
    q = """query($id: ID!) { dossier(id: $id) { id code status paymentStatus channel version submittedAt receivedAt dueAt overdue
      applicant { name idNumber } procedure { code name version } receivingAgency { code name } steps { position name role dueAt assigneeId agency { code } } } }"""
    print(await paths.same(q, {"id": dossier_id}, token=s.citizen))
    inbox = """{ inbox(first: 5) { edges { cursor node { id code status overdue } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    print(await paths.same(inbox, token=s.reception))


async def test_lookup(
    client: httpx.AsyncClient, paths: Paths, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    from tests.dossiers.helpers import act

    received = await act(client, s.reception, "dossierReceive", id=dossier_id)
    code = received["dossier"]["code"] if "dossier" in received else None
    print(received)
    q = "query($code: String!) { dossierStatus(code: $code) { public { code status statusLabel procedureName agencyName receivedAt appointmentAt finishedAt } } }"
    print(await paths.same(q, {"code": code}))
    print(await paths.same(q, {"code": code.lower()}))
    print(await paths.same(q, {"code": "KHONG-CO"}))
