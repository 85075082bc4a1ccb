"""Row visibility (`services.visibility`) on real rows: one table of callers against A's dossier
(received, so it passes through H44.19 and H44.96), its attached form, a vault document shared with
H44.99, a payment and an inquiry. Each row kind's SQL predicate is checked against the table, and
the Python twins (`sees_agency_dossiers`, `download_basis`) against the SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import ColumnElement, SQLColumnExpression, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import ANONYMOUS, SYSTEM, Actor, ActorKind
from models.catalog import Agency
from models.dossiers import Dossier, DossierStep, StoredFile, VaultDocument
from models.feedback import Inquiry, InquiryChannel, InquiryKind, InquiryStatus
from models.payments import Payment, PaymentState
from services import vault, visibility
from services.accounts.actors import roles_of
from storage.s3 import ObjectStore
from tests.accounts.helpers import make_staff
from tests.conftest import NOW
from tests.dossiers.helpers import act, upload
from tests.dossiers.test_access_and_integrity import submitted


@dataclass(frozen=True)
class Sees:
    """What one caller reads of A's rows."""

    dossier: bool  # and its payment
    form: bool  # the form file attached to the dossier
    vault_file: bool  # the file of A's vault document shared with H44.99
    vault_document: bool
    inquiry: bool


NOTHING = Sees(False, False, False, False, False)
# (caller, staff assignments as (role, agency, with sub-agencies) or None, what it reads)
TABLE: list[tuple[str, tuple[tuple[str, str | None, bool], ...] | None, Sees]] = [
    ("citizen owner", None, Sees(True, True, True, True, True)),
    ("other citizen", None, NOTHING),
    ("specialist of a step agency", (("SPECIALIST", "H44.19", False),), Sees(True, True, False, False, True)),
    (
        "reception of the receiving unit",
        (("RECEPTION_OFFICER", "H44.99", False),),
        Sees(True, True, True, False, False),
    ),
    (
        "parent agency with sub-agencies",
        (("SPECIALIST", "H44.01", True),),
        Sees(True, True, True, False, False),
    ),
    ("parent agency without sub-agencies", (("SPECIALIST", "H44.01", False),), NOTHING),
    ("staff elsewhere", (("SPECIALIST", "H44.07", False), ("LEADER", "H44.07", False)), NOTHING),
    (
        "focal point of the competent agency",
        (("FEEDBACK_FOCAL_POINT", "H44.19", False),),
        Sees(False, False, False, False, True),
    ),
    (
        "statistics viewer of a step agency",
        (("STATISTICS_VIEWER", "H44.96", False),),
        Sees(True, True, False, False, False),
    ),
    ("system admin", (("SYSTEM_ADMIN", None, False),), Sees(True, True, False, False, True)),
    ("app with scope", None, NOTHING),
    ("app without scope", None, NOTHING),
    ("anonymous", None, NOTHING),
    ("system", None, Sees(False, False, False, False, True)),
]


@dataclass(frozen=True)
class Rows:
    dossier: uuid.UUID
    form: uuid.UUID
    vault_file: uuid.UUID
    vault_document: uuid.UUID
    payment: uuid.UUID
    inquiry: uuid.UUID
    agencies: frozenset[uuid.UUID]  # the dossier's receiving and step agencies


async def _agency(session: AsyncSession, code: str) -> uuid.UUID:
    found = await session.scalar(select(Agency.id).where(Agency.code == code))
    assert found is not None
    return found


async def _rows(client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore) -> tuple[Actor, Rows]:
    s, dossier_id = await submitted(client, session, store)
    assert (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"][
        "status"
    ] == "IN_PROGRESS"
    owner = Actor(ActorKind.CITIZEN, s.citizen_id)
    dossier = await session.get_one(Dossier, uuid.UUID(dossier_id))
    form = await session.scalar(select(StoredFile.id).where(StoredFile.owner_account_id == s.citizen_id))
    assert form is not None
    scan = uuid.UUID(await upload(session, store, s.citizen_id, "cccd.pdf"))
    document = await vault.add_document(session, owner, scan, vault.DocumentData("Căn cước"), now=NOW)
    await vault.grant(
        session,
        owner,
        agency_code="H44.99",
        document_ids=None,
        purpose="Đối chiếu",
        expires_at=NOW + timedelta(days=30),
        now=NOW,
    )
    payment = Payment(
        dossier_id=dossier.id,
        gateway="VNPAY",
        merchant="PTHO0001",
        txn_ref=f"T{uuid.uuid4().hex[:12]}",
        amount=50_000,
        state=PaymentState.PENDING,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=15),
    )
    inquiry = _inquiry(s.citizen_id, await _agency(session, "H44.99"), await _agency(session, "H44.19"))
    session.add_all([payment, inquiry])
    await session.flush()
    steps = set(
        await session.scalars(select(DossierStep.agency_id).where(DossierStep.dossier_id == dossier.id))
    )
    agencies = frozenset({dossier.receiving_agency_id, *steps})
    return owner, Rows(dossier.id, form, scan, document.id, payment.id, inquiry.id, agencies)


def _inquiry(submitter: uuid.UUID, focal: uuid.UUID, competent: uuid.UUID) -> Inquiry:
    return Inquiry(
        code=f"PA{uuid.uuid4().hex[:10].upper()}",
        kind=InquiryKind.FEEDBACK,
        channel=InquiryChannel.ONLINE,
        status=InquiryStatus.FORWARDED,
        title="Chậm trả kết quả",
        content="Hồ sơ của tôi quá hạn.",
        submitter_account_id=submitter,
        submitter_name="Nguyễn Thị Lan",
        focal_agency_id=focal,
        competent_agency_id=competent,
        received_at=NOW,
        classify_due_at=NOW + timedelta(days=3),
        answer_due_at=NOW + timedelta(days=10),
    )


async def _actor(
    session: AsyncSession,
    owner: Actor,
    name: str,
    assignments: tuple[tuple[str, str | None, bool], ...] | None,
) -> Actor:
    if assignments is not None:
        account_id, _ = await make_staff(session, f"{uuid.uuid4().hex[:8]}@phutho.gov.vn", *assignments)
        return Actor(ActorKind.STAFF, account_id, roles=await roles_of(session, account_id))
    return {
        "citizen owner": owner,
        "other citizen": Actor(ActorKind.CITIZEN, uuid.uuid4()),
        "app with scope": Actor(ActorKind.APP, client_id="app-1", scopes=frozenset({"dossier-status:read"})),
        "app without scope": Actor(ActorKind.APP, client_id="app-2"),
        "anonymous": ANONYMOUS,
        "system": SYSTEM,
    }[name]


async def _sees(
    session: AsyncSession, column: SQLColumnExpression[uuid.UUID], ident: uuid.UUID, rule: ColumnElement[bool]
) -> bool:
    return await session.scalar(select(column).where(column == ident, rule)) is not None


async def test_each_caller_reads_exactly_the_rows_of_the_table(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    owner, rows = await _rows(client, session, store)
    found: dict[str, Sees] = {}
    expected: dict[str, Sees] = {}
    for name, assignments, sees in TABLE:
        actor = await _actor(session, owner, name, assignments)
        found[name] = Sees(
            await _sees(session, Dossier.id, rows.dossier, visibility.dossiers(actor)),
            await _sees(session, StoredFile.id, rows.form, visibility.files(actor, NOW)),
            await _sees(session, StoredFile.id, rows.vault_file, visibility.files(actor, NOW)),
            await _sees(session, VaultDocument.id, rows.vault_document, visibility.vault_documents(actor)),
            await _sees(session, Inquiry.id, rows.inquiry, visibility.inquiries(actor)),
        )
        expected[name] = sees
        # A payment is read with its dossier.
        assert await _sees(session, Payment.id, rows.payment, visibility.payments(actor)) is sees.dossier, (
            name
        )
        # The Python twins agree with the SQL predicates.
        if actor.kind is ActorKind.STAFF:
            twin = any(visibility.sees_agency_dossiers(actor, agency) for agency in rows.agencies)
            assert twin is found[name].dossier, name
        for file_id, readable in ((rows.form, found[name].form), (rows.vault_file, found[name].vault_file)):
            basis = await vault.download_basis(
                session, actor, await session.get_one(StoredFile, file_id), now=NOW
            )
            assert (basis is not None) is readable, (name, basis)
    assert found == expected


async def test_a_grant_stops_counting_once_expired_or_revoked(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    owner, rows = await _rows(client, session, store)
    reception = await _actor(session, owner, "", (("RECEPTION_OFFICER", "H44.99", False),))
    assert await _sees(session, StoredFile.id, rows.vault_file, visibility.files(reception, NOW))
    later = NOW + timedelta(days=31)
    assert not await _sees(session, StoredFile.id, rows.vault_file, visibility.files(reception, later))
    for grant in await vault.grants_of(session, owner):
        await vault.revoke_grant(session, owner, grant.id, now=NOW)
    assert not await _sees(session, StoredFile.id, rows.vault_file, visibility.files(reception, NOW))
