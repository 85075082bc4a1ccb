"""Sign in as a citizen with a password, list my dossiers (every page), refresh the session.

    DVC_URL=http://127.0.0.1:8000/graphql DVC_IDENTIFIER=025190000123 DVC_PASSWORD=… \
        python docs/examples/citizen_my_dossiers.py

`DVC_IDENTIFIER` is an e-mail, a phone number, a citizen ID or a tax code. Needs `gql` and
`httpx` (pip install "gql[httpx]").
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport

URL = os.environ.get("DVC_URL", "http://127.0.0.1:8000/graphql")

SIGN_IN = gql(
    """
    mutation SignIn($identifier: String!, $password: String!) {
      signIn(identifier: $identifier, password: $password) {
        __typename
        ... on SignedIn { session { accessToken refreshToken account { displayName } } }
        ... on UserError { code message }
      }
    }
    """
)
REFRESH = gql(
    """
    mutation Refresh($token: String!) {
      tokenRefresh(refreshToken: $token) {
        __typename
        ... on SignedIn { session { accessToken refreshToken } }
        ... on UserError { code message }
      }
    }
    """
)
MY_DOSSIERS = gql(
    """
    query MyDossiers($after: String) {
      dossiers(first: 20, after: $after) {
        edges { node { id code status appointmentAt procedure { name } } }
        pageInfo { hasNextPage endCursor }
      }
    }
    """
)


def client(token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(transport=HTTPXAsyncTransport(url=URL, headers=headers, timeout=20))


async def main() -> int:
    async with client() as anonymous:
        answer: dict[str, Any] = await anonymous.execute(
            SIGN_IN,
            variable_values={
                "identifier": os.environ["DVC_IDENTIFIER"],
                "password": os.environ["DVC_PASSWORD"],
            },
        )
    result = answer["signIn"]
    if result["__typename"] != "SignedIn":
        # Typed errors: ValidationFailed (wrong identifier or password), Refused (locked, …).
        print(f"sign-in refused: {result['code']}: {result['message']}", file=sys.stderr)
        return 1
    session = result["session"]
    print(f"signed in: {session['account']['displayName']}")

    async with client(session["accessToken"]) as me:
        after: str | None = None
        count = 0
        while True:  # Relay pagination: follow endCursor while hasNextPage
            page = (await me.execute(MY_DOSSIERS, variable_values={"after": after}))["dossiers"]
            for edge in page["edges"]:
                d = edge["node"]
                name = d["procedure"]["name"] if d["procedure"] else ""
                print(f"dossier\t{d['id']}\t{d['code'] or '-'}\t{d['status']}\t{name}")
                count += 1
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    print(f"total: {count}")

    # Access tokens live 15 minutes; the refresh token gives a new pair (and is spent).
    async with client() as anonymous:
        renewed = (await anonymous.execute(REFRESH, variable_values={"token": session["refreshToken"]}))[
            "tokenRefresh"
        ]
    print(f"refreshed: {renewed['__typename'] == 'SignedIn'}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
