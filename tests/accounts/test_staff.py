"""Staff accounts and roles: who creates whom, where a role applies, what an agency admin may
see and change (nothing outside their agencies), and what ending the last role does."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Account, AccountStatus, LockReason
from tests.accounts.helpers import PASSWORD, REFRESH, last_code, make_staff, messages_to, sign_in
from tests.conftest import admin_gql, gql

CREATE = """mutation($input: StaffCreateInput!) { staffCreate(input: $input) {
  __typename
  ... on AccountSaved { account { id status kind email assignments { id role includeSubAgencies agency { code } } vault { id } } }
  ... on ValidationFailed { errors { field code } }
} }"""


def staff(
    email: str = "chuyenvien@phutho.gov.vn", agency: str = "H44.19", role: str = "SPECIALIST"
) -> dict[str, object]:
    return {
        "fullName": "Lê Văn Chuyên",
        "email": email,
        "assignments": [{"role": role, "agencyCode": agency}],
    }


async def test_system_admin_creates_staff_who_sets_a_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    result = (await admin_gql(client, CREATE, {"input": staff()}))["staffCreate"]
    account = result["account"]
    assert (account["status"], account["kind"]) == ("PENDING", "STAFF")
    assert account["assignments"][0]["role"] == "SPECIALIST"
    assert account["assignments"][0]["agency"] == {"code": "H44.19"}
    assert account["vault"]["id"]
    [welcome] = await messages_to(session, "chuyenvien@phutho.gov.vn")
    assert welcome.template == "reset_password_welcome"
    code = await last_code(session, "chuyenvien@phutho.gov.vn")
    reset = """mutation($c: String!) { passwordReset(destination: "chuyenvien@phutho.gov.vn", code: $c,
        newPassword: "Can-bo-2026-moi") { __typename } }"""
    assert (await gql(client, reset, {"c": code}))["data"]["passwordReset"]["__typename"] == "AccountSaved"
    signed = await sign_in(client, "chuyenvien@phutho.gov.vn", "Can-bo-2026-moi")
    me = await gql(client, "{ me { status assignments { role } } }", token=signed["session"]["accessToken"])
    assert me["data"]["me"] == {"status": "ACTIVE", "assignments": [{"role": "SPECIALIST"}]}


async def test_staff_validation(client: httpx.AsyncClient) -> None:
    result = (
        await admin_gql(
            client,
            CREATE,
            {
                "input": {
                    "fullName": "",
                    "email": "x",
                    "assignments": [{"role": "LEADER", "agencyCode": "NOPE"}, {"role": "LEADER"}],
                }
            },
        )
    )["staffCreate"]
    assert {tuple(e["field"]): e["code"] for e in result["errors"]} == {
        ("fullName",): "REQUIRED",
        ("email",): "BAD_FORMAT",
        ("assignments", "0", "agencyCode"): "UNKNOWN",
        ("assignments", "1", "agencyCode"): "REQUIRED",
    }


async def test_agency_admin_manages_only_their_agency(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, justice_admin = await make_staff(session, "qt-tuphap@phutho.gov.vn", ("AGENCY_ADMIN", "H44.19", False))
    other_id, _ = await make_staff(session, "cv-nongnghiep@phutho.gov.vn", ("SPECIALIST", "H44.45", False))
    own_id, _ = await make_staff(session, "cv-tuphap@phutho.gov.vn", ("SPECIALIST", "H44.19", False))

    created = await gql(client, CREATE, {"input": staff("moi@phutho.gov.vn")}, token=justice_admin)
    assert created["data"]["staffCreate"]["__typename"] == "AccountSaved"
    elsewhere = await gql(
        client, CREATE, {"input": staff("x@phutho.gov.vn", "H44.45")}, token=justice_admin, expect_errors=True
    )
    assert elsewhere["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    promote = await gql(
        client,
        CREATE,
        {"input": staff("y@phutho.gov.vn", "H44.19", "AGENCY_ADMIN")},
        token=justice_admin,
        expect_errors=True,
    )
    assert promote["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    listed = await gql(client, "{ accounts(limit: 100) { items { email } } }", token=justice_admin)
    emails = {a["email"] for a in listed["data"]["accounts"]["items"]}
    assert {"cv-tuphap@phutho.gov.vn", "moi@phutho.gov.vn", "qt-tuphap@phutho.gov.vn"} <= emails
    assert "cv-nongnghiep@phutho.gov.vn" not in emails
    assert not any(e and e.endswith("@example.vn") for e in emails)  # no citizens

    read_other = await gql(client, f'{{ account(id: "{other_id}") {{ email }} }}', token=justice_admin)
    assert read_other["data"]["account"] is None
    lock = "mutation($id: ID!) { accountLock(accountId: $id, reason: ADMIN) { __typename } }"
    assert (await gql(client, lock, {"id": str(other_id)}, token=justice_admin))["data"]["accountLock"][
        "__typename"
    ] == "NotFound"
    assert (await gql(client, lock, {"id": str(own_id)}, token=justice_admin))["data"]["accountLock"][
        "__typename"
    ] == "AccountSaved"
    session.expire_all()
    assert (await session.get_one(Account, other_id)).status is AccountStatus.ACTIVE


async def test_a_role_over_sub_agencies(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, province_admin = await make_staff(session, "qt-tinh@phutho.gov.vn", ("AGENCY_ADMIN", "H44", True))
    _, narrow_admin = await make_staff(session, "qt-hep@phutho.gov.vn", ("AGENCY_ADMIN", "H44", False))
    created = await gql(
        client, CREATE, {"input": staff("duoi@phutho.gov.vn", "H44.45")}, token=province_admin
    )
    assert created["data"]["staffCreate"]["__typename"] == "AccountSaved"
    refused = await gql(
        client,
        CREATE,
        {"input": staff("duoi2@phutho.gov.vn", "H44.45")},
        token=narrow_admin,
        expect_errors=True,
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_specialist_cannot_administer(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, token = await make_staff(session, "cv@phutho.gov.vn", ("SPECIALIST", "H44.19", False))
    body = await gql(client, CREATE, {"input": staff("z@phutho.gov.vn")}, token=token, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_ending_the_last_role_locks_the_account(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    staff_id, token = await make_staff(
        session, "roi@phutho.gov.vn", ("SPECIALIST", "H44.19", False), ("LEADER", "H44.19", False)
    )
    me = (await gql(client, "{ me { assignments { id role } } }", token=token))["data"]["me"]["assignments"]
    unassign = """mutation($id: ID!) { staffUnassign(assignmentId: $id) {
        ... on AccountSaved { account { status lockReason assignments { role } } } } }"""
    first = await admin_gql(client, unassign, {"id": me[0]["id"]})
    assert first["staffUnassign"]["account"]["status"] == "ACTIVE"
    # Losing a role invalidates tokens that may carry it.
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    second = await admin_gql(client, unassign, {"id": me[1]["id"]})
    assert second["staffUnassign"]["account"] == {
        "status": "LOCKED",
        "lockReason": "UNASSIGNED",
        "assignments": [],
    }
    session.expire_all()
    account = await session.scalar(select(Account).where(Account.id == staff_id))
    assert account is not None
    assert account.lock_reason is LockReason.UNASSIGNED
    assert (await messages_to(session, "roi@phutho.gov.vn"))[-1].template == "account_locked"
    assert (await sign_in(client, "roi@phutho.gov.vn", PASSWORD))["code"] == "ACCOUNT_LOCKED"


async def test_removing_a_role_signs_the_staff_member_out_of_every_device(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """What `staffUnassign`'s description promises: every issued access token dies at once; with
    roles left, a session refreshes into a token carrying only those; the last role ends them."""
    await make_staff(
        session, "ba@phutho.gov.vn", ("SPECIALIST", "H44.19", False), ("LEADER", "H44.19", False)
    )
    devices = [(await sign_in(client, "ba@phutho.gov.vn", PASSWORD))["session"] for _ in range(2)]
    roles = "{ me { assignments { id role } } }"
    assignments = (await gql(client, roles, token=devices[0]["accessToken"]))["data"]["me"]["assignments"]
    unassign = "mutation($id: ID!) { staffUnassign(assignmentId: $id) { __typename } }"
    await admin_gql(client, unassign, {"id": assignments[0]["id"]})
    for device in devices:
        refused = await client.post(
            "/graphql", json={"query": roles}, headers={"Authorization": f"Bearer {device['accessToken']}"}
        )
        assert refused.status_code == 401
    renewed = (await gql(client, REFRESH, {"t": devices[1]["refreshToken"]}))["data"]["tokenRefresh"]
    left = (await gql(client, roles, token=renewed["session"]["accessToken"]))["data"]["me"]["assignments"]
    assert [a["role"] for a in left] == [assignments[1]["role"]]
    await admin_gql(client, unassign, {"id": assignments[1]["id"]})
    ended = (await gql(client, REFRESH, {"t": renewed["session"]["refreshToken"]}))["data"]["tokenRefresh"]
    assert ended["code"] == "INVALID_REFRESH_TOKEN"


async def test_assigning_twice_is_applied_once(client: httpx.AsyncClient, session: AsyncSession) -> None:
    staff_id, _ = await make_staff(session, "hai@phutho.gov.vn", ("SPECIALIST", "H44.19", False))
    assign = """mutation($id: ID!) { staffAssign(accountId: $id, assignment: {role: LEADER, agencyCode: "H44.19"}) {
        ... on AccountSaved { account { assignments { role } } } } }"""
    await admin_gql(client, assign, {"id": str(staff_id)})
    again = await admin_gql(client, assign, {"id": str(staff_id)})
    assert sorted(a["role"] for a in again["staffAssign"]["account"]["assignments"]) == [
        "LEADER",
        "SPECIALIST",
    ]


HAND_OVER = """mutation($a: ID!, $b: ID!) { staffHandOver(fromAccountId: $a, toAccountId: $b) {
  __typename ... on AccountSaved { account { assignments { role agency { code } } } }
  ... on ValidationFailed { errors { field code } } ... on NotFound { code } } }"""


async def test_hand_over_passes_roles_and_locks_the_departing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    departing, token = await make_staff(
        session, "di@phutho.gov.vn", ("SPECIALIST", "H44.19", False), ("LEADER", "H44.19", False)
    )
    successor, _ = await make_staff(session, "den@phutho.gov.vn", ("SPECIALIST", "H44.19", False))
    result = (await admin_gql(client, HAND_OVER, {"a": str(departing), "b": str(successor)}))["staffHandOver"]
    roles = sorted((a["role"], a["agency"]["code"]) for a in result["account"]["assignments"])
    assert roles == [("LEADER", "H44.19"), ("SPECIALIST", "H44.19")]  # no duplicate SPECIALIST
    session.expire_all()
    gone = await session.get_one(Account, departing)
    assert (gone.status, gone.lock_reason) == (AccountStatus.LOCKED, LockReason.UNASSIGNED)
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    same = (await admin_gql(client, HAND_OVER, {"a": str(successor), "b": str(successor)}))["staffHandOver"]
    assert same["errors"] == [{"field": ["toAccountId"], "code": "SAME_ACCOUNT"}]


async def test_agency_admin_cannot_hand_over_across_agencies(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, justice_admin = await make_staff(session, "qt2@phutho.gov.vn", ("AGENCY_ADMIN", "H44.19", False))
    outsider, _ = await make_staff(session, "ngoai@phutho.gov.vn", ("SPECIALIST", "H44.45", False))
    insider, _ = await make_staff(session, "trong@phutho.gov.vn", ("SPECIALIST", "H44.19", False))
    result = await gql(client, HAND_OVER, {"a": str(outsider), "b": str(insider)}, token=justice_admin)
    assert result["data"]["staffHandOver"] == {"__typename": "NotFound", "code": "NOT_FOUND"}
