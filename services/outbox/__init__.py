"""Delivering dossier events to registered consumers: the transactional outbox, drained.

`dossier_events` is both the process control trail and the outbox: every act appends its event in
the same transaction as the change. Those events are pushed to each active `EventConsumer` (the
national portal adapter, webhooks) **at least once, in `seq` order per dossier**, with retries
and exponential backoff. `event_deliveries` holds, per (consumer, dossier), the last `seq` the
consumer acknowledged, how many times the next one has failed in a row, when to try again and the
last error.

The package, by job:

- `delivery` — one round (`deliver_once`): find due work, lock it, send, record progress, mark
  dossiers SYNCED;
- `dispatcher` — the loop (`run_dispatcher`) running rounds, each in its own committed session;
- `transport` — what a transport is given (`Target`, `Outgoing`, `EventFacts`) and must do
  (`Transport`); `webhook` — the generic signed webhook, the default transport;
- `signing` — the HMAC signature headers (`sign`, `verify_signature`, `signed_headers`);
- `consumers` — registering and administering consumers; `operations` — the backlog and replays.

Consumers have a kind. A `WEBHOOK` gets the signed JSON request of `webhook`; another kind gets
its own request from a `Transport` passed to `deliver_once` (the national portal's, in
`services.national_portal.feed`) — same rounds, locks, order and retries.

At least once means duplicates: a request that timed out after the consumer processed it is sent
again. Consumers deduplicate by `X-DVC-Event-Id` (ids only grow within a dossier).

`from services import outbox` gives the administration surface re-exported below (the GraphQL
resolvers and the `dvc outbox` command use it); everything else is imported from its module.
"""

from services.outbox.consumers import (
    Removal,
    list_consumers,
    register_consumer,
    remove_consumer,
    rotate_secret,
    set_actions,
    set_active,
)
from services.outbox.operations import ConsumerBacklog, backlog, replay

__all__ = [
    "ConsumerBacklog",
    "Removal",
    "backlog",
    "list_consumers",
    "register_consumer",
    "remove_consumer",
    "replay",
    "rotate_secret",
    "set_actions",
    "set_active",
]
