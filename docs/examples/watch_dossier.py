"""Follow a dossier's status live over websockets (graphql-transport-ws).

    DVC_WS_URL=ws://127.0.0.1:8000/graphql DVC_TOKEN=… DOSSIER_ID=… \
        python docs/examples/watch_dossier.py [how many updates, default: until Ctrl-C]

The subscription first answers the dossier's current state, then every committed change — made
by anyone, through any app process (an officer receiving it, a step forwarded, the result). A
person who does not hold the dossier's token may follow it by code instead, with
`dossierStatusChanged(code: …, idNumber: …)` or the receipt QR's `secret`. Needs `gql` and
`websockets` (pip install "gql[websockets]").
"""

from __future__ import annotations

import asyncio
import os
import sys

from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

URL = os.environ.get("DVC_WS_URL", "ws://127.0.0.1:8000/graphql")

STATUS = gql(
    """
    subscription Watch($id: ID!) {
      dossierStatusChanged(id: $id) { code status version currentStep appointmentAt }
    }
    """
)


async def main() -> int:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else None
    transport = WebsocketsTransport(
        url=URL,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],  # graphql-transport-ws
        init_payload={"Authorization": f"Bearer {os.environ['DVC_TOKEN']}"},  # in connection_init
    )
    seen = 0
    async with Client(transport=transport, execute_timeout=None) as live:
        async for update in live.subscribe(STATUS, variable_values={"id": os.environ["DOSSIER_ID"]}):
            d = update["dossierStatusChanged"]
            print(
                f"status\t{d['version']}\t{d['status']}\t{d['code'] or '-'}\t{d['currentStep'] or '-'}",
                flush=True,
            )
            seen += 1
            if limit is not None and seen >= limit:
                break
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
