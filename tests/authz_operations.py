"""The authorisation matrix's table: the foreign caller kinds, and for every root query, mutation
and subscription who legitimately may call it and which of citizen A's things it aims at
(tests/test_authorization_matrix.py sends each; a new operation fails there until it has an entry
here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resolvers.root import schema
from tests.catalog.factories import CREATE, procedure_input

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
