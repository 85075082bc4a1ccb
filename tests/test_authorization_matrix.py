"""The authorisation proof: every root query, mutation and subscription of the schema × every
foreign caller kind, sent against citizen A's things on a live app process with committed data —
on both read paths: each case is sent to the app as deployed (compiled reads on) and to the same
app with compiled reads off (the executor alone), with the same expectations; every read the
compiled app answers is also compared with the executor's answer, key order included.

Each operation has an entry (who legitimately may call it, and which of A's things it aims at);
a new operation without an entry fails `test_every_operation_is_classified`. For each operation
and each caller kind that is not legitimate for it, the test sends the operation and asserts:

- the answer is a refusal: a top-level UNAUTHENTICATED / FORBIDDEN error or a typed NotFound /
  Refused result for mutations (a caller who reads A's dossier by design may get InvalidTransition
  from the guard, but only its "you may not" answer, never the one about the status); for reads, whatever comes back (null, an empty or the caller's own
  list) holds none of A's identifiers, names, codes or titles (checked in the whole response text);
- nothing changed: a digest (row count and a hash of every row) of every table of the database
  but the rate-limit buckets is identical before and after the call.

Subscriptions are opened over graphql-transport-ws by every foreign caller; each one's first
answer (a refusal) is awaited, and only then is A's dossier moved on by its officer: no foreign
subscriber receives anything of A's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as connect_ws
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from resolvers.root import schema
from storage.s3 import ObjectStore
from tests.authz_scene import LiveSite, Scene, build, changed, digest, live_site, post
from tests.catalog.factories import CREATE, procedure_input
from tests.conftest import Servers

# -- caller kinds ----------------------------------------------------------------------------------

ANONYMOUS = "anonymous"
CITIZEN_B = "citizen_b"  # another citizen
OTHER_AGENCY = "other_agency"  # staff of H44.07 holding every role there but system admin
WRONG_ROLE = "wrong_role"  # STATISTICS_VIEWER at A's agencies H44.99, H44.19 and H44.96
APP_UNSCOPED = "app_unscoped"  # third-party app with catalog:read only
APP_SCOPED = "app_scoped"  # third-party app with every scope (none of which grants the operation)
CALLERS = (ANONYMOUS, CITIZEN_B, OTHER_AGENCY, WRONG_ROLE, APP_UNSCOPED, APP_SCOPED)

NOBODY: frozenset[str] = frozenset()  # none of the foreign callers (only A, A's officers, admins)
PERSONS = frozenset({CITIZEN_B, OTHER_AGENCY, WRONG_ROLE})  # any signed-in person, on their own
EVERYONE = frozenset(CALLERS)
# Staff read the dossiers received by, or passing through, the agencies where they hold any
# dossier role, STATISTICS_VIEWER included (services/visibility.py `dossiers`).
DOSSIER_READERS = frozenset({WRONG_ROLE})


@dataclass(frozen=True)
class Op:
    """`allowed`: the foreign caller kinds that may legitimately call it (they are not sent);
    `target`: which of A's things it aims at; `document`: the operation, with `<name>`
    placeholders filled from the scene's targets."""

    allowed: frozenset[str]
    target: str
    document: str
    variables: dict[str, Any] | None = None


OUTCOME = "__typename ... on UserError { code message } ... on ValidationFailed { errors { field code } }"
SHORT_OUTCOME = "__typename ... on UserError { code message }"


def m(allowed: frozenset[str], target: str, call: str) -> Op:
    return Op(allowed, target, f"mutation {{ {call} {{ {OUTCOME} }} }}")


def q(allowed: frozenset[str], target: str, document: str) -> Op:
    return Op(allowed, target, document)


D = "<dossier>"
MUTATIONS: dict[str, Op] = {
    # catalog: catalog administrators only
    "procedureCreate": Op(NOBODY, "a procedure", CREATE, {"input": procedure_input("9.999002")}),
    "procedureAmend": m(
        NOBODY,
        "A's procedure 9.999001",
        'procedureAmend(code: "9.999001", input: {code: "9.999001", name: "x", fieldCode: "HOTICH", '
        'levels: ["commune"], onlineMode: PARTIAL, processingDays: 1, resultName: "x", deliveryMethods: [COUNTER], '
        "components: [], workflow: []})",
    ),
    "procedurePublish": m(
        NOBODY,
        "procedure 9.999001",
        'procedurePublish(code: "9.999001", decision: {number: "2", date: "2026-11-20"})',
    ),
    "procedureSuspend": m(NOBODY, "procedure 9.999001", 'procedureSuspend(code: "9.999001", reason: "x")'),
    "procedureResume": m(NOBODY, "procedure 9.999001", 'procedureResume(code: "9.999001")'),
    "procedureAbolish": m(
        NOBODY,
        "procedure 9.999001",
        'procedureAbolish(code: "9.999001", decision: {number: "1", date: "2026-11-20"})',
    ),
    "agencyCreate": m(
        NOBODY, "the agency tree", 'agencyCreate(input: {code: "X1", name: "X", levelCode: "commune"})'
    ),
    "agencyUpdate": m(
        NOBODY,
        "agency H44.99",
        'agencyUpdate(id: "<agency_x>", input: {code: "H44.99", name: "X", levelCode: "commune"})',
    ),
    "agencyMerge": m(
        NOBODY,
        "agencies H44.99 → H44.19",
        'agencyMerge(sourceCodes: ["H44.99"], targetCode: "H44.19", effectiveDate: "2026-12-01")',
    ),
    "fieldCreate": m(NOBODY, "the fields", 'fieldCreate(input: {code: "XX", name: "X"})'),
    "administrativeLevelCreate": m(
        NOBODY, "the levels", 'administrativeLevelCreate(input: {code: "ward", name: "X", rank: 4})'
    ),
    "administrativeLevelRetire": m(
        NOBODY, "level commune", 'administrativeLevelRetire(code: "commune", retiredOn: "2026-01-01")'
    ),
    "fieldUpdate": m(
        NOBODY, "field HOTICH", 'fieldUpdate(id: "<field>", input: {code: "HOTICH", name: "X"})'
    ),
    # sign-up, sign-in, recovery: public by nature (rate-limited and proven in tests/accounts)
    "citizenRegister": m(EVERYONE, "-", "citizenRegister"),
    "organisationRegister": m(EVERYONE, "-", "organisationRegister"),
    "contactVerify": m(EVERYONE, "-", "contactVerify"),
    "contactVerificationResend": m(EVERYONE, "-", "contactVerificationResend"),
    "signIn": m(EVERYONE, "-", "signIn"),
    "tokenRefresh": m(EVERYONE, "-", "tokenRefresh"),
    "signOut": m(EVERYONE, "-", "signOut"),
    "passwordResetRequest": m(EVERYONE, "-", "passwordResetRequest"),
    "passwordReset": m(EVERYONE, "-", "passwordReset"),
    # the owner lifts a lock for wrong passwords: the code goes to the account's verified contacts
    "accountUnlockCodeRequest": m(EVERYONE, "-", "accountUnlockCodeRequest"),
    "accountUnlockWithCode": m(EVERYONE, "-", "accountUnlockWithCode"),
    "nationalIdentitySignInStart": m(EVERYONE, "-", "nationalIdentitySignInStart"),
    "nationalIdentitySignInComplete": m(EVERYONE, "-", "nationalIdentitySignInComplete"),
    # the caller's own account
    "signOutEverywhere": m(PERSONS, "the caller's sessions", "signOutEverywhere"),
    "passwordChange": m(
        PERSONS, "the caller's password", 'passwordChange(currentPassword: "x", newPassword: "y")'
    ),
    "accountLockRequest": m(PERSONS, "the caller's account", "accountLockRequest"),
    "notificationPreferencesSet": m(
        PERSONS, "the caller's preferences", "notificationPreferencesSet(email: true, sms: false)"
    ),
    # accounts of others: system admin, or the agency admin of their agency
    "staffCreate": m(
        NOBODY,
        "staff of H44.19",
        'staffCreate(input: {fullName: "X", email: "x@y.vn", assignments: [{role: LEADER, agencyCode: "H44.19"}]})',
    ),
    "staffAssign": m(
        NOBODY,
        "A's specialist at H44.19",
        'staffAssign(accountId: "<specialist_id>", assignment: {role: LEADER, agencyCode: "H44.19"})',
    ),
    "staffUnassign": m(
        NOBODY, "the specialist's assignment at H44.19", 'staffUnassign(assignmentId: "<assignment>")'
    ),
    "staffHandOver": m(
        NOBODY,
        "the specialist's work at H44.19",
        'staffHandOver(fromAccountId: "<specialist_id>", toAccountId: "<other_agency_id>")',
    ),
    "accountLock": m(NOBODY, "A's account", 'accountLock(accountId: "<citizen>", reason: ADMIN)'),
    "accountUnlock": m(NOBODY, "A's account", 'accountUnlock(accountId: "<citizen>")'),
    "accountVaultHandOver": m(
        NOBODY,
        "A's account",
        'accountVaultHandOver(accountId: "<citizen>", recipientName: "x", recipientIdNumber: "x", '
        'basis: "x", reason: "x")',
    ),
    "accountPasswordReset": m(NOBODY, "A's account", 'accountPasswordReset(accountId: "<citizen>")'),
    "accountDelete": m(NOBODY, "A's account", 'accountDelete(accountId: "<citizen>", reason: "x")'),
    # system administration
    "appRegister": m(
        NOBODY,
        "the apps",
        'appRegister(input: {name: "x", contactEmail: "a@b.vn", scopes: ["catalog:read"]})',
    ),
    "appRevoke": m(NOBODY, "the registered app", 'appRevoke(clientId: "<app>")'),
    "holidayOverrideSet": m(
        NOBODY, "the calendar", 'holidayOverrideSet(day: "2026-12-08", isWorkingDay: false, name: "x")'
    ),
    # An admin of another agency (OTHER_AGENCY holds AGENCY_ADMIN at H44.07) cannot set H44.99's hours.
    "unitCalendarSet": m(
        NOBODY,
        "H44.99's office hours",
        'unitCalendarSet(agencyCode: "H44.99", hours: {morningStart: "07:00", morningEnd: "11:00", '
        'afternoonStart: "13:00", afternoonEnd: "17:00"})',
    ),
    "unitCalendarRemove": m(NOBODY, "H44.99's office hours", 'unitCalendarRemove(agencyCode: "H44.99")'),
    "holidayOverrideRemove": m(NOBODY, "the calendar's override", 'holidayOverrideRemove(day: "2026-12-07")'),
    "eventConsumerRegister": m(
        NOBODY, "the consumers", 'eventConsumerRegister(name: "x", url: "https://x.example")'
    ),
    "eventConsumerSetActive": m(
        NOBODY, "the consumer", 'eventConsumerSetActive(name: "<consumer>", active: true)'
    ),
    "eventConsumerRotateSecret": m(NOBODY, "the consumer", 'eventConsumerRotateSecret(name: "<consumer>")'),
    "eventConsumerSetActions": m(
        NOBODY, "the consumer", 'eventConsumerSetActions(name: "<consumer>", actions: ["RECEIVE"])'
    ),
    "eventConsumerRemove": m(NOBODY, "the consumer", 'eventConsumerRemove(name: "<consumer>")'),
    # files and the vault: A's own
    "fileUploadStart": m(
        PERSONS,
        "the caller's upload",
        'fileUploadStart(filename: "a.pdf", contentType: "application/pdf", size: 1, sha256: "x")',
    ),
    "fileUploadComplete": m(NOBODY, "A's file", 'fileUploadComplete(fileId: "<file>")'),
    "fileDownload": m(NOBODY, "A's file", 'fileDownload(fileId: "<file>")'),
    "vaultDocumentAdd": m(
        NOBODY, "A's file into the caller's vault", 'vaultDocumentAdd(fileId: "<file>", title: "x")'
    ),
    "vaultDocumentRename": m(
        NOBODY, "A's vault document", 'vaultDocumentRename(id: "<vault_document>", title: "x")'
    ),
    "vaultDocumentNewVersion": m(
        NOBODY, "A's vault document", 'vaultDocumentNewVersion(id: "<vault_document>", fileId: "<file>")'
    ),
    "vaultDocumentDelete": m(NOBODY, "A's vault document", 'vaultDocumentDelete(id: "<vault_document>")'),
    "vaultGrantCreate": m(
        NOBODY,
        "A's vault document in the caller's grant",
        'vaultGrantCreate(agencyCode: "H44.07", purpose: "x", expiresAt: "2030-01-01T00:00:00+00:00", '
        'documentIds: ["<vault_document>"])',
    ),
    "vaultGrantRevoke": m(NOBODY, "A's grant", 'vaultGrantRevoke(id: "<grant>")'),
    "paperConvert": m(NOBODY, "A's file", 'paperConvert(fileId: "<file>")'),
    "dossierDigitiseToVault": m(
        NOBODY,
        "A's dossier and file",
        f'dossierDigitiseToVault(dossierId: "{D}", fileId: "<file>", title: "x", consent: true)',
    ),
    # A's dossier, received at H44.99 and at the specialist step of H44.19
    "dossierSlip": m(DOSSIER_READERS, "A's dossier", f'dossierSlip(id: "{D}", form: RECEIPT)'),
    "dossierPay": m(NOBODY, "A's dossier's payment", f'dossierPay(id: "{D}")'),
    "dossierRefund": m(NOBODY, "A's dossier's payment", f'dossierRefund(id: "{D}", reason: WITHDRAWN)'),
    "dossierRate": m(
        NOBODY,
        "A's dossier",
        f'dossierRate(id: "{D}", scores: [{{criterion: "OVERALL", score: 1}}], comment: "x")',
    ),
    "dossierSaveDraft": m(
        PERSONS,
        "the caller's own draft",
        'dossierSaveDraft(input: {procedureCode: "9.999001", receivingAgencyCode: "H44.99", formData: {}})',
    ),
    "dossierRegisterAtCounter": m(
        NOBODY,
        "the one-stop desk of H44.99",
        'dossierRegisterAtCounter(procedureCode: "9.999001", receivingAgencyCode: "H44.99", '
        'applicant: {name: "x"}, formData: {hoTen: "x"}, components: [])',
    ),
    "dossierSubmit": m(NOBODY, "A's dossier", f'dossierSubmit(id: "{D}")'),
    "dossierReceive": m(NOBODY, "A's dossier", f'dossierReceive(id: "{D}")'),
    "dossierRequestCompletion": m(
        NOBODY, "A's dossier", f'dossierRequestCompletion(id: "{D}", items: ["x"])'
    ),
    "dossierRefuseReceipt": m(NOBODY, "A's dossier", f'dossierRefuseReceipt(id: "{D}", reasons: ["x"])'),
    "dossierResubmit": m(NOBODY, "A's dossier", f'dossierResubmit(id: "{D}", components: [])'),
    "dossierAssign": m(NOBODY, "A's dossier", f'dossierAssign(id: "{D}", assigneeId: "<other_agency_id>")'),
    "dossierForward": m(NOBODY, "A's dossier", f'dossierForward(id: "{D}")'),
    "dossierSendBack": m(NOBODY, "A's dossier", f'dossierSendBack(id: "{D}", comment: "x")'),
    "dossierRequestSupplement": m(
        NOBODY, "A's dossier", f'dossierRequestSupplement(id: "{D}", items: ["x"])'
    ),
    "dossierSupplement": m(
        NOBODY,
        "A's dossier",
        f'dossierSupplement(id: "{D}", components: [{{componentId: "<component>", fileIds: ["<file>"]}}])',
    ),
    "dossierApologize": m(
        NOBODY,
        "A's dossier",
        f'dossierApologize(id: "{D}", newAppointment: "2027-01-01T00:00:00+00:00", reason: "x")',
    ),
    "dossierApprove": m(NOBODY, "A's dossier", f'dossierApprove(id: "{D}", resultFileIds: [])'),
    "dossierRefuse": m(NOBODY, "A's dossier", f'dossierRefuse(id: "{D}", reasons: ["x"])'),
    "dossierReturn": m(NOBODY, "A's dossier", f'dossierReturn(id: "{D}", method: ONLINE)'),
    "dossierWithdraw": m(NOBODY, "A's dossier", f'dossierWithdraw(id: "{D}")'),
    "trackingBook": m(
        DOSSIER_READERS,  # a register of the agency's dossiers, for its staff
        "H44.99's tracking book (A's dossier in it)",
        'trackingBook(agencyCode: "H44.99", start: "2026-01-01T00:00:00+00:00", end: "2026-12-31T00:00:00+00:00")',
    ),
    "archiveExport": m(
        NOBODY,
        "H44.99's closed dossiers",
        'archiveExport(agencyCode: "H44.99", closedBefore: "2026-12-31T00:00:00+00:00")',
    ),
    # A's question at the focal agency H44.99
    "inquirySubmit": m(
        PERSONS,  # persons only: apps submit feedback over Open311 with feedback:submit
        "the caller's own question",
        'inquirySubmit(input: {kind: QUESTION, title: "x", content: "xxxxxxxxxxxx"})',
    ),
    "inquiryRecord": m(
        NOBODY,
        "the focal agency H44.99",
        'inquiryRecord(input: {kind: FEEDBACK, channel: LETTER, receivingAgencyCode: "H44.99", name: "x", '
        'title: "x", content: "xxxxxxxxxxxx"})',
    ),
    "inquiryForward": m(
        NOBODY, "A's question", 'inquiryForward(id: "<inquiry>", competentAgencyCode: "H44.07")'
    ),
    "inquiryDecline": m(NOBODY, "A's question", 'inquiryDecline(id: "<inquiry>", reason: "xxxxx")'),
    "inquiryAnswer": m(NOBODY, "A's question", 'inquiryAnswer(id: "<inquiry>", text: "xxxxxxxxxxxx")'),
    "inquiryReview": m(NOBODY, "A's question", 'inquiryReview(id: "<inquiry>", publish: true)'),
}


def _may_fail_validation(name: str) -> bool:
    result = schema._schema.type_map["Mutation"].fields[name].type.of_type  # type: ignore[attr-defined]
    return any(t.name == "ValidationFailed" for t in getattr(result, "types", []))


MUTATIONS = {
    name: op
    if _may_fail_validation(name)
    else Op(op.allowed, op.target, op.document.replace(OUTCOME, SHORT_OUTCOME))
    for name, op in MUTATIONS.items()
}

LOWERING = "indicators { code lowering(first: 50) { edges { node { id code status } } } }"
QUERIES: dict[str, Op] = {
    # public reads: any caller, and nothing of A's comes back
    "procedures": q(NOBODY, "-", '{ procedures(first: 50, search: "Lan") { edges { node { code } } } }'),
    "procedure": q(NOBODY, "procedure 9.999001", '{ procedure(code: "9.999001") { code name } }'),
    "agencyTree": q(NOBODY, "-", "{ agencyTree { code name } }"),
    "agency": q(NOBODY, "agency H44.99", '{ agency(code: "H44.99") { code name } }'),
    "fields": q(NOBODY, "-", "{ fields { code name } }"),
    "administrativeLevels": q(NOBODY, "-", "{ administrativeLevels { code name } }"),
    "me": q(NOBODY, "the caller", "{ me { id displayName email } }"),
    "workingCalendar": q(NOBODY, "-", "{ workingCalendar(year: 2026) { year } }"),
    "unitCalendar": q(NOBODY, "-", '{ unitCalendar(agencyCode: "H44.99") { own } }'),
    "legalTexts": q(NOBODY, "-", "{ legalTexts { key inForce } }"),
    "conversionVerify": q(NOBODY, "-", '{ conversionVerify(code: "<dossier_code>") { __typename } }'),
    "satisfaction": q(
        NOBODY, "H44.99's ratings", '{ satisfaction(agencyCode: "H44.99") { ratings overall byCriterion } }'
    ),
    "publishedAnswers": q(
        NOBODY,
        "the published answers",
        '{ publishedAnswers(first: 50, search: "Lan") { edges { node { code title question answer } } } }',
    ),
    "inquiryTracking": q(
        NOBODY,
        "A's question, by code (public status only)",
        '{ inquiryTracking(code: "<inquiry_code>") { code status statusLabel } }',
    ),
    "dossierStatus": q(
        NOBODY,
        "A's dossier, by code without the second factor",
        '{ dossierStatus(code: "<dossier_code>") { public { __typename } dossier { id code applicant { name idNumber } } } }',
    ),
    # statistics: figures are public; the dossiers behind them (drill-down) are for the agency's staff
    "statistics": q(
        NOBODY,
        "H44.99's figures",
        '{ statistics(filter: {from: "2026-01-01", to: "2026-12-31", agencyCode: "H44.99"}, groupBy: AGENCY) '
        "{ total { received } } }",
    ),
    "serviceIndex": q(
        frozenset({WRONG_ROLE}),  # any role at the agency in scope reaches its drill-down
        "drill-down of H44.99's index",
        '{ serviceIndex(filter: {from: "2026-01-01", to: "2026-12-31", agencyCode: "H44.99"}) '
        f"{{ score groups {{ code {LOWERING} }} }} }}",
    ),
    # A's things
    "accounts": q(
        NOBODY,
        "A's account in the list",
        '{ accounts(search: "Lan", offset: 0, limit: 50) { items { id email } } }',
    ),
    "account": q(NOBODY, "A's account", '{ account(id: "<citizen>") { id email displayName } }'),
    "securityEvents": q(
        NOBODY,
        "A's security events",
        '{ securityEvents(accountId: "<citizen>", limit: 50) { items { seq subjectId } } }',
    ),
    "apps": q(NOBODY, "the registered apps", "{ apps { clientId name } }"),
    "dossier": q(
        DOSSIER_READERS, "A's dossier", '{ dossier(id: "<dossier>") { id code applicant { name idNumber } } }'
    ),
    "dossiers": q(
        DOSSIER_READERS, "A's dossier in a list", "{ dossiers(first: 50) { edges { node { id code } } } }"
    ),
    "inbox": q(NOBODY, "A's dossier in an inbox", "{ inbox(first: 50) { edges { node { id code } } } }"),
    "outboxBacklog": q(NOBODY, "the consumers' backlog", "{ outboxBacklog { name } }"),
    "eventConsumers": q(NOBODY, "the consumers", "{ eventConsumers { name url } }"),
    "vaultDocuments": q(
        NOBODY, "A's vault", "{ vaultDocuments(offset: 0, limit: 50) { items { id title } } }"
    ),
    "vaultSuggestions": q(
        NOBODY, "A's vault", '{ vaultSuggestions(procedureCode: "9.999001") { componentId } }'
    ),
    "vaultGrants": q(NOBODY, "A's grants", "{ vaultGrants { id purpose } }"),
    "vaultAccesses": q(NOBODY, "A's vault accesses", "{ vaultAccesses { at } }"),
    "inquiry": q(NOBODY, "A's question", '{ inquiry(id: "<inquiry>") { id code title submitterName } }'),
    "myInquiries": q(
        NOBODY, "A's questions", "{ myInquiries(first: 50) { edges { node { id code title } } } }"
    ),
    "inquiryInbox": q(
        NOBODY, "A's question in an inbox", "{ inquiryInbox(first: 50) { edges { node { id code title } } } }"
    ),
}

DOSSIER_SELECTION = "{ id code status applicant { name idNumber } }"
SUBSCRIPTIONS: dict[str, Op] = {
    "procedureChanged": q(
        EVERYONE,
        "procedure 9.999001 (public)",
        'subscription { procedureChanged(code: "9.999001") { code } }',
    ),
    "dossierStatusChanged": q(
        DOSSIER_READERS,
        "A's dossier by id",
        f'subscription {{ dossierStatusChanged(id: "<dossier>") {DOSSIER_SELECTION} }}',
    ),
    "inboxChanged": q(
        DOSSIER_READERS,  # any role at the agency, as for reading its dossiers
        "the inbox of H44.19 (A's dossier)",
        f'subscription {{ inboxChanged(agencyCode: "H44.19") {DOSSIER_SELECTION} }}',
    ),
}
# More ways in to the same subscriptions.
SUBSCRIPTION_VARIANTS: dict[str, str] = {
    "dossierStatusChanged-by-code": 'subscription { dossierStatusChanged(code: "<dossier_code>") '
    + DOSSIER_SELECTION
    + " }",
    "dossierStatusChanged-by-code-wrong-number": 'subscription { dossierStatusChanged(code: "<dossier_code>", '
    'idNumber: "025190000002") ' + DOSSIER_SELECTION + " }",
    "inboxChanged-reception": 'subscription { inboxChanged(agencyCode: "H44.99") ' + DOSSIER_SELECTION + " }",
    "inboxChanged-tax": 'subscription { inboxChanged(agencyCode: "H44.96") ' + DOSSIER_SELECTION + " }",
}


def _root_fields(type_name: str) -> set[str]:
    return set(schema._schema.type_map[type_name].fields)  # type: ignore[attr-defined]


def test_every_operation_is_classified() -> None:
    """A new query, mutation or subscription fails here until it has an entry above."""
    assert _root_fields("Mutation") == set(MUTATIONS)
    assert _root_fields("Query") == set(QUERIES)
    assert _root_fields("Subscription") == set(SUBSCRIPTIONS)


# Both read paths of the same app: compiled reads on (as deployed) and off (the executor alone).
# Every case runs on each, with the same expectations.
PATHS = ("compiled", "executor")


def base_of(scene: Scene, path: str) -> str:
    return scene.site.base if path == "compiled" else scene.site.executor_base


def _cases(ops: dict[str, Op]) -> list[Any]:
    return [
        pytest.param(name, caller, path, id=f"{name}-{caller}-{path}")
        for name, op in ops.items()
        for caller in CALLERS
        if caller not in op.allowed
        for path in PATHS
    ]


# -- the scene -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(servers: Servers, demo_catalog: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    yield from live_site(servers, tmp_path_factory.mktemp("authz-logs"))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scene(site: LiveSite, store: ObjectStore) -> Scene:
    return await build(site, store)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def db(site: LiveSite) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(site.dsn)
    yield conn
    await conn.close()


def fill(document: str, scene: Scene) -> str:
    def one(match: re.Match[str]) -> str:
        return scene.target[match.group(1)]

    return re.sub(r"<([a-z_]+)>", one, document)


def leaked(text: str, scene: Scene, document: str) -> list[str]:
    """A's private strings in the response (but those the caller itself sent)."""
    return sorted(s for s in scene.secrets if s in text and s not in document)


REFUSALS = {"NotFound", "Refused"}
# A reference the caller may not use, refused on its field like an unknown one.
REFUSING_CODES = {"UNKNOWN", "NOT_YOUR_UNIT", "NOT_YOURS", "NOT_ALLOWED"}


def assert_refused(body: dict[str, Any], name: str, caller: str) -> None:
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
    if codes & {"UNAUTHENTICATED", "FORBIDDEN"}:
        assert body.get("data") is None or set(body["data"].values()) == {None}, body
        return
    assert not body.get("errors"), body
    result = body["data"][name]
    if result["__typename"] == "ValidationFailed":
        assert {e["code"] for e in result["errors"]} <= REFUSING_CODES, body
        return
    if caller in DOSSIER_READERS and result["__typename"] == "InvalidTransition":
        # The caller reads the dossier by design; acting on it is refused by the guard for who
        # they are, before (and whatever) the status: not a refusal the status alone would give.
        assert result["message"].startswith("Bạn không được "), body
        return
    assert result["__typename"] in REFUSALS, body


async def _send(scene: Scene, caller: str, op: Op, path: str = "compiled") -> tuple[str, str]:
    document = fill(op.document, scene)
    response = await post(base_of(scene, path), scene.tokens[caller], document, op.variables)
    assert response.status_code in (200, 401, 403), response.text
    return document, response.text


@pytest.mark.parametrize(("name", "caller", "path"), _cases(MUTATIONS))
async def test_a_foreign_mutation_is_refused_and_changes_nothing(
    name: str, caller: str, path: str, scene: Scene, db: asyncpg.Connection
) -> None:
    op = MUTATIONS[name]
    before = await digest(db)
    document, text = await _send(scene, caller, op, path)
    assert not leaked(text, scene, document), text
    assert_refused(json.loads(text), name, caller)
    assert changed(before, await digest(db)) == [], text


@pytest.mark.parametrize(("name", "caller", "path"), _cases(QUERIES))
async def test_a_foreign_read_shows_nothing_of_a_and_changes_nothing(
    name: str, caller: str, path: str, scene: Scene, db: asyncpg.Connection
) -> None:
    op = QUERIES[name]
    before = await digest(db)
    document, text = await _send(scene, caller, op, path)
    assert not leaked(text, scene, document), text
    body = json.loads(text)
    assert "data" in body, body
    assert changed(before, await digest(db)) == [], text
    if path == "compiled":
        await _same_on_the_executor(scene, caller, document, op, text)


async def _same_on_the_executor(scene: Scene, caller: str, document: str, op: Op, text: str) -> None:
    """Both read paths answer alike: the executor (compiled reads off) gives the same JSON, keys
    in the same order (the compiled path's JSON text is PostgreSQL's: spaced otherwise)."""
    response = await post(scene.site.executor_base, scene.tokens[caller], document, op.variables)
    assert json.dumps(json.loads(response.text)) == json.dumps(json.loads(text)), (response.text, text)


@pytest.mark.parametrize("path", PATHS)
async def test_the_owner_sees_the_targets(path: str, scene: Scene) -> None:
    """The matrix aims at real things: A (the owner) reads them with the same documents."""
    for name in ("dossier", "inquiry", "vaultDocuments", "vaultGrants", "myInquiries", "dossiers"):
        document, text = await _send(scene, "owner", QUERIES[name], path)
        assert leaked(text, scene, document), (name, text)
        if path == "compiled":
            await _same_on_the_executor(scene, "owner", document, QUERIES[name], text)


# -- subscriptions ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def subscribed(base: str, token: str | None, document: str) -> AsyncIterator[ClientConnection]:
    async with connect_ws(
        base.replace("http://", "ws://", 1) + "/graphql", subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}}))
        yield ws


async def _drain(ws: ClientConnection, seconds: float) -> list[str]:
    """Every message received within `seconds` (until the server closes the socket)."""
    messages: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            message = await asyncio.wait_for(ws.recv(), timeout=left)
        except (TimeoutError, ConnectionClosed):
            break
        messages.append(message if isinstance(message, str) else message.decode())
    return messages


async def _first(ws: ClientConnection, seconds: float) -> dict[str, Any] | None:
    """The subscription's first answer (its acknowledgement), None if none within `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
        except (TimeoutError, ConnectionClosed):
            return None
        if message.get("type") in ("next", "error", "complete"):
            return dict(message)
    return None


def _refusal(message: dict[str, Any] | None) -> bool:
    if message is None:
        return False
    if message["type"] in ("error", "complete"):
        return True
    return message["payload"].get("data") is None and bool(message["payload"].get("errors"))


SUBSCRIPTION_CASES = [
    (label, caller)
    for label, allowed in [
        *((name, op.allowed) for name, op in SUBSCRIPTIONS.items()),
        *((name, DOSSIER_READERS) for name in SUBSCRIPTION_VARIANTS),
    ]
    for caller in CALLERS
    if caller not in allowed
]


async def test_foreign_subscribers_receive_nothing_of_a(scene: Scene) -> None:
    """Every foreign caller subscribes every way to A's dossier and the inboxes it passes
    through, and each one's first answer — its refusal — is awaited (a subscription not yet in
    place when the dossier moves would pass untested); then A's officer moves the dossier on
    (H44.19 → the tax office H44.96). Nobody receives A's data."""
    documents = {
        **{name: op.document for name, op in SUBSCRIPTIONS.items()},
        **SUBSCRIPTION_VARIANTS,
    }
    async with contextlib.AsyncExitStack() as stack:
        sockets = {
            (label, caller): await stack.enter_async_context(
                subscribed(scene.site.base, scene.tokens[caller], fill(documents[label], scene))
            )
            for label, caller in SUBSCRIPTION_CASES
        }
        # The owner's subscription proves events do flow.
        owner = await stack.enter_async_context(
            subscribed(scene.site.base, scene.tokens["owner"], fill(documents["dossierStatusChanged"], scene))
        )
        firsts = await asyncio.gather(*(_first(ws, 15.0) for ws in sockets.values()))
        for (label, caller), first in zip(sockets, firsts, strict=True):
            assert _refusal(first), (label, caller, first)
            assert not leaked(json.dumps(first), scene, fill(documents[label], scene)), (label, caller, first)
        owner_first = await _first(owner, 15.0)
        assert owner_first is not None, "the owner's subscription did not answer"
        assert owner_first["type"] == "next", owner_first
        assert owner_first["payload"]["data"]["dossierStatusChanged"]["code"] == scene.target["dossier_code"]
        moved = await post(
            scene.site.base,
            scene.tokens["specialist"],
            'mutation { r: dossierForward(id: "%s") { __typename } }' % scene.target["dossier"],
        )
        assert moved.json()["data"]["r"]["__typename"] == "DossierChanged", moved.text
        heard = await asyncio.gather(*(_drain(ws, 3.0) for ws in sockets.values()))
        for (label, caller), messages in zip(sockets, heard, strict=True):
            text = "\n".join(messages)
            assert not leaked(text, scene, fill(documents[label], scene)), (label, caller, text)
            for message in map(json.loads, messages):  # at most a refusal: an error, no data
                if message.get("type") == "next":
                    assert message["payload"].get("data") is None, (label, caller, text)
                    assert message["payload"]["errors"], (label, caller, text)
        # The owner hears the move (the current state came before it): events do flow.
        owner_heard = [json.loads(m) for m in await _drain(owner, 5.0)]
        codes = [
            m["payload"]["data"]["dossierStatusChanged"]["code"]
            for m in owner_heard
            if m.get("type") == "next"
        ]
        assert scene.target["dossier_code"] in codes, owner_heard


# -- app scopes ------------------------------------------------------------------------------------

# Public operations an app may call only with a scope; APP_UNSCOPED (catalog:read only) lacks
# it, APP_SCOPED holds it. (`feedback:submit` is checked on Open311's REST path:
# tests/feedback/test_open311.py; `inquirySubmit` is for persons only.)
APP_SCOPE_NEEDED: dict[str, str] = {
    "dossierStatus": QUERIES["dossierStatus"].document,
    "dossierStatusChanged-by-code": SUBSCRIPTION_VARIANTS["dossierStatusChanged-by-code"],
}


def _codes(errors: list[dict[str, Any]]) -> list[str | None]:
    return [e.get("extensions", {}).get("code") for e in errors]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", sorted(APP_SCOPE_NEEDED))
async def test_an_app_without_the_scope_is_forbidden_and_with_it_is_answered(
    name: str, path: str, scene: Scene
) -> None:
    """The token of an app lacking the operation's scope is refused (FORBIDDEN) even where an
    anonymous caller is answered; the token of an app holding it is not refused."""
    document = fill(APP_SCOPE_NEEDED[name], scene)
    if document.startswith("subscription"):
        for caller, forbidden in ((APP_UNSCOPED, True), (APP_SCOPED, False), (ANONYMOUS, False)):
            async with subscribed(base_of(scene, path), scene.tokens[caller], document) as ws:
                messages = [json.loads(m) for m in await _drain(ws, 2.0)]
            first = next(m for m in messages if m["type"] in ("next", "error"))
            errors = first["payload"] if first["type"] == "error" else first["payload"].get("errors") or []
            assert ("FORBIDDEN" in _codes(errors)) is forbidden, (caller, first)
        return
    refused = (await post(base_of(scene, path), scene.tokens[APP_UNSCOPED], document)).json()
    assert _codes(refused.get("errors", [])) == ["FORBIDDEN"], refused
    assert refused["errors"][0]["message"] == "Ứng dụng chưa được cấp phạm vi dossier-status:read."
    for caller in (APP_SCOPED, ANONYMOUS):
        answered = (await post(base_of(scene, path), scene.tokens[caller], document)).json()
        assert "FORBIDDEN" not in _codes(answered.get("errors", [])), (caller, answered)
        assert answered["data"][name] is not None, (caller, answered)
