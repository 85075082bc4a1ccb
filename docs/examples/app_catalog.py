"""A third-party app reads the procedure catalog with OAuth 2 client credentials.

    DVC_BASE=http://127.0.0.1:8000 DVC_CLIENT_ID=… DVC_CLIENT_SECRET=… \
        python docs/examples/app_catalog.py [search words]

The credentials come from a system admin (`appRegister`, with the `catalog:read` scope). Needs
`gql` and `httpx` (pip install "gql[httpx]").
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx
from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport

BASE = os.environ.get("DVC_BASE", "http://127.0.0.1:8000").rstrip("/")

PROCEDURES = gql(
    """
    query Catalog($after: String, $search: String) {
      procedures(first: 50, after: $after, search: $search) {
        totalCount
        edges { node { code name onlineMode processingDays field { name } } }
        pageInfo { hasNextPage endCursor }
      }
    }
    """
)


async def app_token() -> str:
    """The client-credentials grant at /oauth/token (HTTP Basic with the app's id and secret)."""
    async with httpx.AsyncClient(timeout=20) as http:
        response = await http.post(
            f"{BASE}/oauth/token",
            auth=(os.environ["DVC_CLIENT_ID"], os.environ["DVC_CLIENT_SECRET"]),
            data={"grant_type": "client_credentials", "scope": "catalog:read"},
        )
    if response.status_code != 200:
        raise SystemExit(f"token refused: HTTP {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    print(f"token: scope={body['scope']} expires_in={body['expires_in']}")
    return str(body["access_token"])


async def main() -> int:
    token = await app_token()
    search = " ".join(sys.argv[1:]) or None
    transport = HTTPXAsyncTransport(
        url=f"{BASE}/graphql", headers={"Authorization": f"Bearer {token}"}, timeout=20
    )
    async with Client(transport=transport) as catalog:
        after: str | None = None
        seen = 0
        while True:
            page = (await catalog.execute(PROCEDURES, variable_values={"after": after, "search": search}))[
                "procedures"
            ]
            for edge in page["edges"]:
                p = edge["node"]
                print(f"procedure\t{p['code']}\t{p['onlineMode']}\t{p['processingDays']}\t{p['name']}")
                seen += 1
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    print(f"total: {seen} of {page['totalCount']}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
