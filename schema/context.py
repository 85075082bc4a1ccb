"""The per-request context: one actor, one session, one set of loaders, one `now`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from auth.actor import Actor
from auth.oidc import OidcClient
from core.broker import Broker
from core.db import RequestDb, SessionFactory
from core.settings import Settings
from schema.loaders import Loaders
from services.accounts.journal import Journal, RequestMeta
from services.accounts.policy import AccountPolicy
from services.calendar import WorkingCalendar
from services.lookup_limits import LookupLimiter
from services.uploads import Scanner
from storage.s3 import ObjectStore


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    actor: Actor
    db: RequestDb
    loaders: Loaders
    now: datetime
    session_factory: SessionFactory
    policy: AccountPolicy
    meta: RequestMeta
    calendar: WorkingCalendar
    store: ObjectStore | None = None
    scanner: Scanner | None = None
    broker: Broker | None = None
    oidc: OidcClient | None = None
    lookups: LookupLimiter | None = None  # the process's lookup rate leases (None: count each)
    # graphql-transport-ws `connection_init` payload (websockets only)
    connection_params: dict[str, object] | None = None
    # Set by a mutation that answered with an error: nothing it wrote may be committed.
    rollback_only: bool = field(default=False)

    @property
    def journal(self) -> Journal:
        """Records that must outlive this request's transaction (failures, counters)."""
        return Journal(self.session_factory, self.meta, self.now)

    @property
    def today(self) -> date:
        """The province's calendar date now (deadlines and decisions are local dates)."""
        return self.now.astimezone(self.settings.zone).date()
