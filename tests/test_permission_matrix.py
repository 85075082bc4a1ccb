"""Who may call what: every mutation and every protected query, read from the schema itself,
against an anonymous caller, a forged token, and a signed-in citizen. A refused call changes
nothing. (Row-level rules — another citizen's or another agency's records — are tested with
the features: tests/accounts/test_staff.py and friends.) "Nothing changes" is checked on a digest
(row count and a hash of every row) of every table but the rate-limit buckets, as in
tests/test_authorization_matrix.py."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords
from auth.tokens import TokenConfig, issue_access
from models.accounts import (
    Account,
    AccountKind,
    AccountStatus,
    CitizenProfile,
    SecurityEvent,
)
from resolvers.root import schema
from tests.authz_scene import changed, digest_session
from tests.catalog.factories import CREATE, procedure_input
from tests.conftest import ADMIN_ID, NOW, TOKENS, gql

ZERO = "00000000-0000-0000-0000-000000000000"
PUBLIC, PERSON, ACCOUNT_ADMIN, SYSTEM_ADMIN, CATALOG_ADMIN = (
    "public",
    "person",
    "account",
    "system",
    "catalog",
)

MUTATIONS: dict[str, tuple[str, str]] = {
    "procedureCreate": (CATALOG_ADMIN, CREATE),
    "procedureAmend": (
        CATALOG_ADMIN,
        'mutation { procedureAmend(code: "1.001193", input: {code: "1.001193", name: "x", fieldCode: "HOTICH", '
        'levels: ["commune"], onlineMode: PARTIAL, processingDays: 1, resultName: "x", deliveryMethods: [COUNTER], '
        "components: [], workflow: []}) { __typename } }",
    ),
    "procedurePublish": (
        CATALOG_ADMIN,
        'mutation { procedurePublish(code: "1.001193", decision: {number: "1", date: "2026-01-01"}) { __typename } }',
    ),
    "procedureSuspend": (
        CATALOG_ADMIN,
        'mutation { procedureSuspend(code: "1.001193", reason: "x") { __typename } }',
    ),
    "procedureResume": (CATALOG_ADMIN, 'mutation { procedureResume(code: "1.001193") { __typename } }'),
    "procedureAbolish": (
        CATALOG_ADMIN,
        'mutation { procedureAbolish(code: "1.001193", decision: {number: "1", date: "2026-01-01"}) { __typename } }',
    ),
    "agencyCreate": (
        CATALOG_ADMIN,
        'mutation { agencyCreate(input: {code: "X1", name: "X", levelCode: "commune"}) { __typename } }',
    ),
    "agencyUpdate": (
        CATALOG_ADMIN,
        f'mutation {{ agencyUpdate(id: "{ZERO}", input: {{code: "X1", name: "X", levelCode: "commune"}}) '
        "{ __typename } }",
    ),
    "agencyMerge": (
        CATALOG_ADMIN,
        'mutation { agencyMerge(sourceCodes: ["H44.100"], targetCode: "H44.101", effectiveDate: "2026-01-01") '
        "{ __typename } }",
    ),
    "fieldCreate": (CATALOG_ADMIN, 'mutation { fieldCreate(input: {code: "XX", name: "X"}) { __typename } }'),
    "administrativeLevelCreate": (
        CATALOG_ADMIN,
        'mutation { administrativeLevelCreate(input: {code: "ward", name: "X", rank: 4}) { __typename } }',
    ),
    "administrativeLevelRetire": (
        CATALOG_ADMIN,
        'mutation { administrativeLevelRetire(code: "commune", retiredOn: "2026-01-01") { __typename } }',
    ),
    "fieldUpdate": (
        CATALOG_ADMIN,
        f'mutation {{ fieldUpdate(id: "{ZERO}", input: {{code: "XX", name: "X"}}) {{ __typename }} }}',
    ),
    "citizenRegister": (
        PUBLIC,
        'mutation { citizenRegister(input: {citizenId: "x", fullName: "x", birthDate: "2000-01-01", password: "x"}) '
        "{ __typename } }",
    ),
    "organisationRegister": (
        PUBLIC,
        'mutation { organisationRegister(input: {taxCode: "x", name: "x", representativeName: "x", password: "x"}) '
        "{ __typename } }",
    ),
    "contactVerify": (PUBLIC, 'mutation { contactVerify(destination: "a@b.vn", code: "1") { __typename } }'),
    "contactVerificationResend": (
        PUBLIC,
        'mutation { contactVerificationResend(destination: "a@b.vn") { __typename } }',
    ),
    "signIn": (PUBLIC, 'mutation { signIn(identifier: "a@b.vn", password: "x") { __typename } }'),
    "tokenRefresh": (PUBLIC, 'mutation { tokenRefresh(refreshToken: "x") { __typename } }'),
    "signOut": (PUBLIC, 'mutation { signOut(refreshToken: "x") { __typename } }'),
    "signOutEverywhere": (PERSON, "mutation { signOutEverywhere { __typename } }"),
    "passwordChange": (
        PERSON,
        'mutation { passwordChange(currentPassword: "x", newPassword: "y") { __typename } }',
    ),
    "passwordResetRequest": (
        PUBLIC,
        'mutation { passwordResetRequest(destination: "a@b.vn") { __typename } }',
    ),
    "passwordReset": (
        PUBLIC,
        'mutation { passwordReset(destination: "a@b.vn", code: "1", newPassword: "x") { __typename } }',
    ),
    "accountLockRequest": (PERSON, "mutation { accountLockRequest { __typename } }"),
    "accountUnlockCodeRequest": (
        PUBLIC,
        'mutation { accountUnlockCodeRequest(identifier: "a@b.vn") { __typename } }',
    ),
    "accountUnlockWithCode": (
        PUBLIC,
        'mutation { accountUnlockWithCode(identifier: "a@b.vn", code: "1") { __typename } }',
    ),
    "nationalIdentitySignInStart": (PUBLIC, "mutation { nationalIdentitySignInStart { __typename } }"),
    "nationalIdentitySignInComplete": (
        PUBLIC,
        'mutation { nationalIdentitySignInComplete(state: "x", code: "y") { __typename } }',
    ),
    "staffCreate": (
        ACCOUNT_ADMIN,
        'mutation { staffCreate(input: {fullName: "X", email: "x@y.vn", '
        'assignments: [{role: SPECIALIST, agencyCode: "H44.19"}]}) { __typename } }',
    ),
    "staffAssign": (
        ACCOUNT_ADMIN,
        f'mutation {{ staffAssign(accountId: "{ADMIN_ID}", assignment: {{role: LEADER, agencyCode: "H44.19"}}) '
        "{ __typename } }",
    ),
    "staffUnassign": (
        ACCOUNT_ADMIN,
        f'mutation {{ staffUnassign(assignmentId: "{ZERO}") {{ __typename }} }}',
    ),
    "staffHandOver": (
        ACCOUNT_ADMIN,
        f'mutation {{ staffHandOver(fromAccountId: "{ZERO}", toAccountId: "{ADMIN_ID}") {{ __typename }} }}',
    ),
    "accountLock": (
        ACCOUNT_ADMIN,
        f'mutation {{ accountLock(accountId: "{ADMIN_ID}", reason: ADMIN) {{ __typename }} }}',
    ),
    "accountUnlock": (
        ACCOUNT_ADMIN,
        f'mutation {{ accountUnlock(accountId: "{ADMIN_ID}") {{ __typename }} }}',
    ),
    "accountVaultHandOver": (
        SYSTEM_ADMIN,
        f'mutation {{ accountVaultHandOver(accountId: "{ADMIN_ID}", recipientName: "x", '
        'recipientIdNumber: "x", basis: "x", reason: "x") { __typename } }',
    ),
    "accountPasswordReset": (
        ACCOUNT_ADMIN,
        f'mutation {{ accountPasswordReset(accountId: "{ADMIN_ID}") {{ __typename }} }}',
    ),
    "accountDelete": (
        SYSTEM_ADMIN,
        f'mutation {{ accountDelete(accountId: "{ADMIN_ID}", reason: "x") {{ __typename }} }}',
    ),
    "appRegister": (
        SYSTEM_ADMIN,
        'mutation { appRegister(input: {name: "x", contactEmail: "a@b.vn", scopes: ["catalog:read"]}) '
        "{ __typename } }",
    ),
    "appRevoke": (SYSTEM_ADMIN, 'mutation { appRevoke(clientId: "x") { __typename } }'),
    "holidayOverrideSet": (
        SYSTEM_ADMIN,
        'mutation { holidayOverrideSet(day: "2026-12-07", isWorkingDay: false, name: "x") { __typename } }',
    ),
    "unitCalendarSet": (
        ACCOUNT_ADMIN,
        'mutation { unitCalendarSet(agencyCode: "H44.19", hours: {morningStart: "07:30", morningEnd: "11:30", '
        'afternoonStart: "13:00", afternoonEnd: "17:00"}) { __typename } }',
    ),
    "unitCalendarRemove": (
        ACCOUNT_ADMIN,
        'mutation { unitCalendarRemove(agencyCode: "H44.19") { __typename } }',
    ),
    "holidayOverrideRemove": (
        SYSTEM_ADMIN,
        'mutation { holidayOverrideRemove(day: "2026-12-07") { __typename } }',
    ),
    "eventConsumerRegister": (
        SYSTEM_ADMIN,
        'mutation { eventConsumerRegister(name: "x", url: "https://x.example") { __typename } }',
    ),
    "eventConsumerSetActive": (
        SYSTEM_ADMIN,
        'mutation { eventConsumerSetActive(name: "x", active: false) { __typename } }',
    ),
    "eventConsumerRotateSecret": (
        SYSTEM_ADMIN,
        'mutation { eventConsumerRotateSecret(name: "x") { __typename } }',
    ),
    "eventConsumerSetActions": (
        SYSTEM_ADMIN,
        'mutation { eventConsumerSetActions(name: "x", actions: ["RECEIVE"]) { __typename } }',
    ),
    "eventConsumerRemove": (
        SYSTEM_ADMIN,
        'mutation { eventConsumerRemove(name: "x") { __typename } }',
    ),
    "fileUploadStart": (
        PERSON,
        'mutation { fileUploadStart(filename: "a.pdf", contentType: "application/pdf", size: 1, sha256: "x") '
        "{ __typename } }",
    ),
    "fileUploadComplete": (PERSON, f'mutation {{ fileUploadComplete(fileId: "{ZERO}") {{ __typename }} }}'),
    "fileDownload": (PERSON, f'mutation {{ fileDownload(fileId: "{ZERO}") {{ __typename }} }}'),
    "vaultDocumentAdd": (
        PERSON,
        f'mutation {{ vaultDocumentAdd(fileId: "{ZERO}", title: "x") {{ __typename }} }}',
    ),
    "vaultDocumentRename": (
        PERSON,
        f'mutation {{ vaultDocumentRename(id: "{ZERO}", title: "x") {{ __typename }} }}',
    ),
    "vaultDocumentNewVersion": (
        PERSON,
        f'mutation {{ vaultDocumentNewVersion(id: "{ZERO}", fileId: "{ZERO}") {{ __typename }} }}',
    ),
    "vaultDocumentDelete": (PERSON, f'mutation {{ vaultDocumentDelete(id: "{ZERO}") {{ __typename }} }}'),
    "vaultGrantCreate": (
        PERSON,
        'mutation { vaultGrantCreate(agencyCode: "H44.19", purpose: "x", expiresAt: "2030-01-01T00:00:00+00:00") '
        "{ __typename } }",
    ),
    "vaultGrantRevoke": (PERSON, f'mutation {{ vaultGrantRevoke(id: "{ZERO}") {{ __typename }} }}'),
    "dossierSlip": (PERSON, f'mutation {{ dossierSlip(id: "{ZERO}", form: RECEIPT) {{ __typename }} }}'),
    "paperConvert": (PERSON, f'mutation {{ paperConvert(fileId: "{ZERO}") {{ __typename }} }}'),
    "dossierDigitiseToVault": (
        PERSON,
        f'mutation {{ dossierDigitiseToVault(dossierId: "{ZERO}", fileId: "{ZERO}", title: "x", consent: true) '
        "{ __typename } }",
    ),
    "trackingBook": (
        PERSON,
        'mutation { trackingBook(agencyCode: "H44.99", start: "2026-01-01T00:00:00+00:00", '
        'end: "2026-12-31T00:00:00+00:00") { __typename } }',
    ),
    "archiveExport": (
        PERSON,
        'mutation { archiveExport(agencyCode: "H44.99", closedBefore: "2026-12-01T00:00:00+00:00") { __typename } }',
    ),
    "notificationPreferencesSet": (
        PERSON,
        "mutation { notificationPreferencesSet(email: true, sms: false) { __typename } }",
    ),
    "dossierPay": (PERSON, f'mutation {{ dossierPay(id: "{ZERO}") {{ __typename }} }}'),
    "dossierRefund": (
        PERSON,
        f'mutation {{ dossierRefund(id: "{ZERO}", reason: WITHDRAWN) {{ __typename }} }}',
    ),
    "dossierRate": (
        PERSON,
        f'mutation {{ dossierRate(id: "{ZERO}", scores: []) {{ __typename }} }}',
    ),
    "dossierSaveDraft": (
        PERSON,
        'mutation { dossierSaveDraft(input: {procedureCode: "1.001193", receivingAgencyCode: "H44.100", '
        "formData: {}}) { __typename } }",
    ),
    "dossierRegisterAtCounter": (
        PERSON,
        'mutation { dossierRegisterAtCounter(procedureCode: "1.001193", receivingAgencyCode: "H44.100", '
        'applicant: {name: "x"}, formData: {}, components: []) { __typename } }',
    ),
    "dossierSubmit": (PERSON, f'mutation {{ dossierSubmit(id: "{ZERO}") {{ __typename }} }}'),
    "dossierReceive": (PERSON, f'mutation {{ dossierReceive(id: "{ZERO}") {{ __typename }} }}'),
    "dossierRequestCompletion": (
        PERSON,
        f'mutation {{ dossierRequestCompletion(id: "{ZERO}", items: ["x"]) {{ __typename }} }}',
    ),
    "dossierRefuseReceipt": (
        PERSON,
        f'mutation {{ dossierRefuseReceipt(id: "{ZERO}", reasons: ["x"]) {{ __typename }} }}',
    ),
    "dossierResubmit": (
        PERSON,
        f'mutation {{ dossierResubmit(id: "{ZERO}", components: []) {{ __typename }} }}',
    ),
    "dossierAssign": (
        PERSON,
        f'mutation {{ dossierAssign(id: "{ZERO}", assigneeId: "{ZERO}") {{ __typename }} }}',
    ),
    "dossierForward": (PERSON, f'mutation {{ dossierForward(id: "{ZERO}") {{ __typename }} }}'),
    "dossierSendBack": (
        PERSON,
        f'mutation {{ dossierSendBack(id: "{ZERO}", comment: "x") {{ __typename }} }}',
    ),
    "dossierRequestSupplement": (
        PERSON,
        f'mutation {{ dossierRequestSupplement(id: "{ZERO}", items: ["x"]) {{ __typename }} }}',
    ),
    "dossierSupplement": (
        PERSON,
        f'mutation {{ dossierSupplement(id: "{ZERO}", components: []) {{ __typename }} }}',
    ),
    "dossierApologize": (
        PERSON,
        f'mutation {{ dossierApologize(id: "{ZERO}", newAppointment: "2027-01-01T00:00:00+00:00", reason: "x") {{ __typename }} }}',
    ),
    "dossierApprove": (
        PERSON,
        f'mutation {{ dossierApprove(id: "{ZERO}", resultFileIds: []) {{ __typename }} }}',
    ),
    "dossierRefuse": (PERSON, f'mutation {{ dossierRefuse(id: "{ZERO}", reasons: ["x"]) {{ __typename }} }}'),
    "dossierReturn": (
        PERSON,
        f'mutation {{ dossierReturn(id: "{ZERO}", method: ONLINE) {{ __typename }} }}',
    ),
    "dossierWithdraw": (PERSON, f'mutation {{ dossierWithdraw(id: "{ZERO}") {{ __typename }} }}'),
    "inquirySubmit": (
        PERSON,
        'mutation { inquirySubmit(input: {kind: QUESTION, title: "x", content: "xxxxxxxxxxxx"}) { __typename } }',
    ),
    "inquiryRecord": (
        PERSON,
        'mutation { inquiryRecord(input: {kind: FEEDBACK, channel: LETTER, receivingAgencyCode: "H44.99", '
        'name: "x", title: "x", content: "xxxxxxxxxxxx"}) { __typename } }',
    ),
    "inquiryForward": (
        PERSON,
        f'mutation {{ inquiryForward(id: "{ZERO}", competentAgencyCode: "H44.19") {{ __typename }} }}',
    ),
    "inquiryDecline": (
        PERSON,
        f'mutation {{ inquiryDecline(id: "{ZERO}", reason: "xxxxx") {{ __typename }} }}',
    ),
    "inquiryAnswer": (
        PERSON,
        f'mutation {{ inquiryAnswer(id: "{ZERO}", text: "xxxxxxxxxxxx") {{ __typename }} }}',
    ),
    "inquiryReview": (PERSON, f'mutation {{ inquiryReview(id: "{ZERO}", publish: true) {{ __typename }} }}'),
}

PROTECTED_QUERIES: dict[str, tuple[str, str]] = {
    "accounts": (ACCOUNT_ADMIN, "{ accounts { items { id } } }"),
    "account": (PERSON, f'{{ account(id: "{ADMIN_ID}") {{ id }} }}'),
    "securityEvents": (PERSON, "{ securityEvents { items { seq } } }"),
    "apps": (SYSTEM_ADMIN, "{ apps { clientId } }"),
    "dossier": (PERSON, f'{{ dossier(id: "{ZERO}") {{ id }} }}'),
    "dossiers": (PERSON, "{ dossiers { edges { cursor } } }"),
    "inbox": (PERSON, "{ inbox { edges { cursor } } }"),
    "outboxBacklog": (SYSTEM_ADMIN, "{ outboxBacklog { name } }"),
    "eventConsumers": (SYSTEM_ADMIN, "{ eventConsumers { name url } }"),
    "vaultDocuments": (PERSON, "{ vaultDocuments { items { id } } }"),
    "vaultSuggestions": (PERSON, '{ vaultSuggestions(procedureCode: "1.001193") { componentId } }'),
    "vaultGrants": (PERSON, "{ vaultGrants { id } }"),
    "vaultAccesses": (PERSON, "{ vaultAccesses { at } }"),
    "inquiry": (PERSON, f'{{ inquiry(id: "{ZERO}") {{ id }} }}'),
    "myInquiries": (PERSON, "{ myInquiries { edges { cursor } } }"),
    "inquiryInbox": (PERSON, "{ inquiryInbox { edges { cursor } } }"),
}
PUBLIC_QUERIES = {
    "procedures",
    "procedure",
    "agencyTree",
    "agency",
    "fields",
    "administrativeLevels",
    "legalTexts",
    "me",
    "dossierStatus",
    "workingCalendar",
    "unitCalendar",
    "conversionVerify",
    "satisfaction",
    "inquiryTracking",
    "publishedAnswers",
    "statistics",  # aggregated figures are public disclosure; drill-down is guarded per field
    "serviceIndex",
}


def _root_fields(type_name: str) -> set[str]:
    graphql_type = schema._schema.type_map[type_name]
    return set(graphql_type.fields)  # type: ignore[attr-defined]


def test_every_mutation_is_in_the_matrix() -> None:
    assert _root_fields("Mutation") == set(MUTATIONS)


def test_every_query_is_public_or_in_the_matrix() -> None:
    assert _root_fields("Query") == PUBLIC_QUERIES | set(PROTECTED_QUERIES)


@pytest_asyncio.fixture
async def citizen_token(session: AsyncSession) -> str:
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.CITIZEN,
        status=AccountStatus.ACTIVE,
        display_name="Công dân Khác",
        email="khac@example.vn",
        email_verified_at=NOW,
        password_hash=passwords.hash_password("Mat-khau-123"),
        failed_sign_ins=0,
        token_version=1,
    )
    session.add(account)
    await session.flush()
    session.add(
        CitizenProfile(
            account_id=account.id,
            citizen_id="001099000777",
            full_name="Công dân Khác",
            birth_date=date(1999, 1, 1),
        )
    )
    await session.commit()
    return issue_access(TOKENS, account_id=account.id, token_version=1, now=NOW)


Digest = Callable[[], Awaitable[dict[str, tuple[int, str]]]]


@pytest.fixture
def digest(session: AsyncSession) -> Digest:
    async def run() -> dict[str, tuple[int, str]]:
        return await digest_session(session)

    return run


CASES = [
    (name, level, query)
    for name, (level, query) in {**MUTATIONS, **PROTECTED_QUERIES}.items()
    if level != PUBLIC
]
ADMIN_CASES = [case for case in CASES if case[1] != PERSON]


@pytest.mark.parametrize(("name", "level", "query"), CASES, ids=[c[0] for c in CASES])
async def test_anonymous_is_refused_and_nothing_changes(
    name: str, level: str, query: str, client: httpx.AsyncClient, digest: Digest
) -> None:
    before = await digest()
    variables = {"input": procedure_input()} if name == "procedureCreate" else {}
    body = await gql(client, query, variables, expect_errors=True)
    assert body["data"] is None or set(body["data"].values()) == {None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "đăng nhập" in body["errors"][0]["message"]
    assert changed(before, await digest()) == []


@pytest.mark.parametrize(("name", "level", "query"), ADMIN_CASES, ids=[c[0] for c in ADMIN_CASES])
async def test_a_citizen_is_refused_admin_acts(
    name: str, level: str, query: str, client: httpx.AsyncClient, citizen_token: str, digest: Digest
) -> None:
    before = await digest()
    variables = {"input": procedure_input()} if name == "procedureCreate" else {}
    body = await gql(client, query, variables, token=citizen_token, expect_errors=True)
    assert body["data"] is None or set(body["data"].values()) == {None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert changed(before, await digest()) == []


@pytest.mark.parametrize(("name", "level", "query"), CASES, ids=[c[0] for c in CASES])
async def test_forged_token_is_refused(name: str, level: str, query: str, client: httpx.AsyncClient) -> None:
    forged = issue_access(
        TokenConfig("another-secret-0123456789abcdef0123456789"),
        account_id=ADMIN_ID,
        token_version=1,
        now=NOW,
    )
    response = await client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


async def test_a_citizen_cannot_read_another_account(client: httpx.AsyncClient, citizen_token: str) -> None:
    body = await gql(client, f'{{ account(id: "{ADMIN_ID}") {{ id email }} }}', token=citizen_token)
    assert body["data"]["account"] is None
    query = f'{{ securityEvents(accountId: "{ADMIN_ID}") {{ items {{ seq }} }} }}'
    events = await gql(client, query, token=citizen_token)
    assert events["data"]["securityEvents"]["items"] == []


async def test_security_events_of_a_citizen_are_their_own(
    client: httpx.AsyncClient, citizen_token: str, session: AsyncSession
) -> None:
    assert await session.scalar(select(func.count()).select_from(SecurityEvent))  # there are others' events
    body = await gql(client, "{ securityEvents { items { subjectId } } }", token=citizen_token)
    subjects = {e["subjectId"] for e in body["data"]["securityEvents"]["items"]}
    me = (await gql(client, "{ me { id } }", token=citizen_token))["data"]["me"]["id"]
    assert subjects <= {me}
