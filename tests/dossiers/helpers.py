"""A scene for dossier tests: a procedure with an inter-agency workflow, staff at each step,
a verified citizen, and files in the real object store."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.tokens import TokenConfig, issue_access
from models.catalog import Procedure, ProcedureComponent
from services.files import store_bytes
from storage.s3 import ObjectStore
from tests.accounts.helpers import make_staff, token_for
from tests.catalog.factories import CREATE, PUBLISH, procedure_input
from tests.conftest import JWT_SECRET, NOW, admin_gql, gql

LONG = TokenConfig(JWT_SECRET, access_ttl=timedelta(days=365))

# A minimal valid one-page PDF (a paper conversion prints its pages: tests/test_paper_conversion.py).
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\nxref\n0 4\n0000000000 65535 f \n"
    b"0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\n"
    b"startxref\n164\n%%EOF\n"
)

DOSSIER_FIELDS = """
  id code status version paymentStatus deliveryStatus syncStatus channel countsFrom submittedAt receivedAt
  appointmentAt dueAt deadlineAt pausedAt apologised resultAt finishedAt punctuality currentStep overdue lookupSecret
  availableActions
  feesDue { total reduction lines { kind name amount ordinaryAmount } }
  applicant { name idNumber }
  steps { position name role days assigneeId dueAt finishedAt punctuality agency { code } }
  attachments { kind filename }
  trail { action fromStatus toStatus fromStep toStep actor comment punctuality data }
  trailCheck { valid events brokenAtSeq }
"""

DRAFT_RESULT = (
    """
  __typename
  ... on DossierChanged { replayed dossier { %s } }
  ... on UserError { message code field }
  ... on ValidationFailed { errors { field code message } }
"""
    % DOSSIER_FIELDS
)
RESULT = DRAFT_RESULT + "  ... on InvalidTransition { status action }\n"


@dataclass
class Scene:
    citizen: str
    citizen_id: uuid.UUID
    reception: str
    specialist: str
    tax: str
    leader: str
    specialist_id: uuid.UUID
    components: dict[str, str]  # name -> component id
    code: str = "9.999001"


async def scene(client: httpx.AsyncClient, session: AsyncSession) -> Scene:
    """The factory procedure (receive ½ day, examine 3, tax office 1, approve ½; online: 4 days)."""
    assert (await admin_gql(client, CREATE, {"input": procedure_input()}))["procedureCreate"][
        "__typename"
    ] == "ProcedureSaved"
    published = await admin_gql(
        client, PUBLISH, {"code": "9.999001", "number": "1/QĐ-UBND", "date": "2026-11-01"}
    )
    assert published["procedurePublish"]["__typename"] == "ProcedurePublished"
    signed_in = await token_for(client, session)
    citizen_id = (await gql(client, "{ me { id } }", token=signed_in))["data"]["me"]["id"]
    citizen = long_token(uuid.UUID(citizen_id))
    reception_id, _ = await make_staff(
        session, "motcua@phutho.gov.vn", ("RECEPTION_OFFICER", "H44.99", False)
    )
    specialist_id, _ = await make_staff(session, "chuyenvien@phutho.gov.vn", ("SPECIALIST", "H44.19", False))
    tax_id, _ = await make_staff(session, "thue@phutho.gov.vn", ("SPECIALIST", "H44.96", False))
    leader_id, _ = await make_staff(session, "lanhdao@phutho.gov.vn", ("LEADER", "H44.19", False))
    reception, specialist, tax, leader = (
        long_token(i) for i in (reception_id, specialist_id, tax_id, leader_id)
    )
    procedure = await session.scalar(select(Procedure).where(Procedure.code == "9.999001"))
    assert procedure is not None
    components = {
        c.name: str(c.id)
        for c in await session.scalars(
            select(ProcedureComponent).where(ProcedureComponent.version_id == procedure.published_version_id)
        )
    }
    return Scene(
        citizen, uuid.UUID(citizen_id), reception, specialist, tax, leader, specialist_id, components
    )


def long_token(account_id: uuid.UUID, version: int = 1) -> str:
    """Tests move the clock by days; their tokens must outlive that."""
    return issue_access(LONG, account_id=account_id, token_version=version, now=NOW)


async def upload(
    session: AsyncSession, store: ObjectStore, owner: uuid.UUID | None, name: str = "to-khai.pdf"
) -> str:
    row = await store_bytes(
        session, store, owner_id=owner, filename=name, content_type="application/pdf", data=PDF, now=NOW
    )
    await session.commit()
    return str(row.id)


async def act(
    client: httpx.AsyncClient, token: str, mutation: str, args: str = "", **variables: Any
) -> dict[str, Any]:
    """Run `dossier<Mutation>(id: $id, <args>)` and return its result."""
    declared = ", ".join(f"${k}: {t}" for k, t in _TYPES.items() if k in variables)
    query = f"mutation({declared}) {{ r: {mutation}(id: $id{', ' + args if args else ''}) {{ {RESULT} }} }}"
    body = await gql(client, query, variables, token=token)
    result: dict[str, Any] = body["data"]["r"]
    return result


_TYPES = {
    "id": "ID!",
    "v": "Int",
    "key": "String",
    "items": "[String!]!",
    "reasons": "[String!]!",
    "components": "[ComponentFilesInput!]!",
    "files": "[ID!]!",
    "when": "DateTime!",
    "reason": "String!",
    "method": "DeliveryMethod!",
    "comment": "String",
    "assignee": "ID!",
}
