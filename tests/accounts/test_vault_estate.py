"""The vault of a deceased or missing person (Trà Vinh art. 6.4.b: an account is locked on its
owner's death or declaration as missing; art. 6.4 last paragraph: restoring the account and
handing over its stored data are acts of the administration). See services/accounts/estate.py and
docs/domain.md "Accounts".

The vault is sealed while such a lock lasts: the owner's tokens stop working, a foreign account
still reads nothing, no sharing grant is honoured (a death revokes them, a disappearance suspends
them), lifting a missing person's lock restores everything, and heirs or a court-appointed manager
get the documents only through a system admin's hand-over, written to the account's journal.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Account, AccountStatus, LockReason, SecurityEvent
from models.dossiers import VaultGrant
from tests.accounts.helpers import make_staff, sign_in, token_for
from tests.conftest import ADMIN_TOKEN, NOW, admin_gql, gql
from tests.dossiers.helpers import PDF, long_token
from tests.test_uploads import ADD, DOWNLOAD, complete, send, served

VAULT = "{ vaultDocuments { items { id title } } }"
GRANT = """mutation($d: [ID!], $e: DateTime!) { r: vaultGrantCreate(agencyCode: "H44.19",
  purpose: "Xác minh hồ sơ", expiresAt: $e, documentIds: $d) { ... on VaultGrantSaved { grant { id } } } }"""
LOCK = """mutation($id: ID!, $r: LockReason!) { accountLock(accountId: $id, reason: $r) {
  __typename ... on AccountSaved { account { status lockReason } } ... on ValidationFailed { errors { field code } } } }"""
UNLOCK = (
    """mutation($id: ID!) { accountUnlock(accountId: $id) { ... on AccountSaved { account { status } } } }"""
)
HAND_OVER = """mutation($id: ID!, $n: String!, $i: String!, $b: String!, $r: String!) {
  accountVaultHandOver(accountId: $id, recipientName: $n, recipientIdNumber: $i, basis: $b, reason: $r) {
    __typename ... on VaultHandedOver { documents file { id filename } } ... on Refused { code message }
    ... on ValidationFailed { errors { field code } } } }"""


@dataclass(frozen=True)
class Scene:
    owner: str
    owner_id: uuid.UUID
    file_id: str
    doc_id: str
    staff_id: uuid.UUID
    staff: str
    other: str


async def _scene(client: httpx.AsyncClient, session: AsyncSession) -> Scene:
    """A citizen with a document in the vault shared with an agency; a specialist of that agency;
    another citizen."""
    owner = await token_for(client, session)
    file_id, _ = await send(client, owner, PDF)
    await complete(client, owner, file_id)
    doc = (await gql(client, ADD, {"f": file_id, "t": "Giấy khai sinh"}, token=owner))["data"]["r"][
        "document"
    ]
    made = await gql(
        client, GRANT, {"d": [doc["id"]], "e": (NOW + timedelta(days=30)).isoformat()}, token=owner
    )
    assert made["data"]["r"]["grant"]["id"]
    staff_id, _ = await make_staff(session, "cv-tuphap@phutho.gov.vn", ("SPECIALIST", "H44.19", False))
    other = await token_for(client, session, 2)
    account = await session.scalar(select(Account).where(Account.email == "lan1@example.vn"))
    assert account is not None
    return Scene(owner, account.id, file_id, doc["id"], staff_id, long_token(staff_id), other)


async def _reads(client: httpx.AsyncClient, token: str, file_id: str) -> str:
    typename: str = (await gql(client, DOWNLOAD, {"id": file_id}, token=token))["data"]["r"]["__typename"]
    return typename


async def _owner_status(client: httpx.AsyncClient, token: str) -> int:
    response = await client.post(
        "/graphql", json={"query": VAULT}, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


async def _events(session: AsyncSession, account_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    rows = await session.scalars(
        select(SecurityEvent).where(SecurityEvent.subject_id == account_id).order_by(SecurityEvent.seq)
    )
    return [(e.event, e.detail) for e in rows]


async def test_tra_vinh_art_6_4_b_a_deceased_persons_vault_is_sealed_and_grants_revoked(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Trà Vinh art. 6.4.b (death locks the account); Quảng Ngãi art. 21.5 (sharing only with the
    owner's consent, which ends with the owner): the owner's token stops working, a foreign
    account still reads nothing, the agency's grant is revoked for good, the journal says so."""
    s = await _scene(client, session)
    assert await _reads(client, s.staff, s.file_id) == "DownloadLink"  # the grant works
    assert await _reads(client, s.other, s.file_id) == "NotFound"
    locked = await admin_gql(client, LOCK, {"id": str(s.owner_id), "r": "DECEASED"})
    assert locked["accountLock"]["account"] == {"status": "LOCKED", "lockReason": "DECEASED"}
    assert await _owner_status(client, s.owner) == 401
    assert await _reads(client, s.other, s.file_id) == "NotFound"
    assert await _reads(client, s.staff, s.file_id) == "NotFound"
    session.expire_all()
    grant = await session.scalar(select(VaultGrant))
    assert grant is not None
    assert grant.revoked_at == NOW
    sealed = [d for e, d in await _events(session, s.owner_id) if e == "VAULT_SEALED"]
    assert sealed == [{"reason": "DECEASED", "grantsRevoked": 1, "grantsSuspended": 0}]


async def test_tra_vinh_art_6_4_b_a_missing_persons_vault_is_sealed_and_restored_when_the_lock_is_lifted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Trà Vinh art. 6.4.b (declared missing locks the account): while the lock lasts the owner's
    token is dead, a foreign account reads nothing and the grant is suspended; when a system admin
    lifts the lock (the person is back) the grant works again and the owner signs in to the vault
    as before."""
    s = await _scene(client, session)
    wrong_kind = await admin_gql(client, LOCK, {"id": str(s.staff_id), "r": "MISSING"})
    assert wrong_kind["accountLock"]["errors"] == [{"field": ["reason"], "code": "WRONG_KIND"}]
    locked = await admin_gql(client, LOCK, {"id": str(s.owner_id), "r": "MISSING"})
    assert locked["accountLock"]["account"] == {"status": "LOCKED", "lockReason": "MISSING"}
    assert await _owner_status(client, s.owner) == 401
    assert await _reads(client, s.other, s.file_id) == "NotFound"
    assert await _reads(client, s.staff, s.file_id) == "NotFound"  # suspended
    session.expire_all()
    grant = await session.scalar(select(VaultGrant))
    assert grant is not None
    assert grant.revoked_at is None  # kept, not revoked

    assert (await admin_gql(client, UNLOCK, {"id": str(s.owner_id)}))["accountUnlock"]["account"] == {
        "status": "ACTIVE"
    }
    assert await _reads(client, s.staff, s.file_id) == "DownloadLink"  # restored
    assert await _reads(client, s.other, s.file_id) == "NotFound"
    again = await token_for_signed_in(client)
    items = (await gql(client, VAULT, token=again))["data"]["vaultDocuments"]["items"]
    assert items == [{"id": s.doc_id, "title": "Giấy khai sinh"}]
    events = [(e, d) for e, d in await _events(session, s.owner_id) if e.startswith("VAULT_")]
    assert events == [
        ("VAULT_SEALED", {"reason": "MISSING", "grantsRevoked": 0, "grantsSuspended": 1}),
        ("VAULT_UNSEALED", {"previousReason": "MISSING", "grantsRestored": 1}),
    ]


async def token_for_signed_in(client: httpx.AsyncClient) -> str:
    signed = await sign_in(client, "lan1@example.vn")
    token: str = signed["session"]["accessToken"]
    return token


async def test_tra_vinh_art_6_4_heirs_receive_the_vault_only_through_an_admin_hand_over_in_the_journal(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Trà Vinh art. 6.4 (handing over the data stored in the vault is done by the administration):
    only for a sealed vault, only by a system admin, with the recipient, the legal basis and the
    reason — all written to the account's journal; the zip holds each document with a list of
    titles and checksums."""
    s = await _scene(client, session)
    variables = {
        "id": str(s.owner_id),
        "n": "Nguyễn Văn Bình",
        "i": "025190009999",
        "b": "Văn bản khai nhận di sản số 12/2026, công chứng ngày 20/11/2026",
        "r": "Người thừa kế duy nhất đề nghị nhận giấy tờ của người mất",
    }
    early = (await admin_gql(client, HAND_OVER, variables))["accountVaultHandOver"]
    assert early["__typename"] == "Refused"
    assert early["code"] == "NOT_SEALED"
    await admin_gql(client, LOCK, {"id": str(s.owner_id), "r": "DECEASED"})
    blank = (await admin_gql(client, HAND_OVER, {**variables, "b": " "}))["accountVaultHandOver"]
    assert blank["errors"] == [{"field": ["basis"], "code": "REQUIRED"}]
    done = (await admin_gql(client, HAND_OVER, variables))["accountVaultHandOver"]
    assert done["__typename"] == "VaultHandedOver"
    assert done["documents"] == 1
    packed = zipfile.ZipFile(io.BytesIO(await served(client, ADMIN_TOKEN, done["file"]["id"])))
    listing = json.loads(packed.read("ban-ke.json"))
    assert listing["recipient"] == {"name": "Nguyễn Văn Bình", "idNumber": "025190009999"}
    assert [d["title"] for d in listing["documents"]] == ["Giấy khai sinh"]
    assert packed.read(listing["documents"][0]["file"]) == PDF
    assert await _reads(client, s.other, done["file"]["id"]) == "NotFound"  # the zip is the admin's
    handed = [d for e, d in await _events(session, s.owner_id) if e == "VAULT_HAND_OVER"]
    assert handed == [
        {
            "recipientName": "Nguyễn Văn Bình",
            "recipientIdNumber": "025190009999",
            "basis": variables["b"],
            "reason": variables["r"],
            "documents": 1,
            "fileId": done["file"]["id"],
        }
    ]


async def test_tra_vinh_art_6_4_b_a_death_recorded_on_an_account_locked_for_inactivity_seals_its_vault(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Trà Vinh art. 6.4.b: the dead do not sign in, so their account is often already locked for a
    year without signing in when the death is reported; recording the death replaces that reason
    and seals the vault (the agency's grant stops working)."""
    s = await _scene(client, session)
    account = await session.get_one(Account, s.owner_id)
    account.status, account.lock_reason = AccountStatus.LOCKED, LockReason.INACTIVITY
    await session.flush()
    assert await _reads(client, s.staff, s.file_id) == "DownloadLink"  # not sealed by inactivity
    locked = await admin_gql(client, LOCK, {"id": str(s.owner_id), "r": "DECEASED"})
    assert locked["accountLock"]["account"] == {"status": "LOCKED", "lockReason": "DECEASED"}
    assert await _reads(client, s.staff, s.file_id) == "NotFound"
    again = await admin_gql(client, LOCK, {"id": str(s.owner_id), "r": "ADMIN"})
    assert again["accountLock"]["account"] == {"status": "LOCKED", "lockReason": "DECEASED"}  # kept
