"""The per-request context: one actor, one session, one set of loaders, one `now`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession
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
from services.holidays import CalendarCache, calendar_of_unit
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
    calendar: WorkingCalendar  # the province's; a receiving unit's: `calendar_of`
    store: ObjectStore | None = None
    scanner: Scanner | None = None
    broker: Broker | None = None
    oidc: OidcClient | None = None
    calendars: CalendarCache | None = None  # the process's (None: read a unit's hours each time)
    lookups: LookupLimiter | None = None  # the process's lookup rate leases (None: count each)
    # graphql-transport-ws `connection_init` payload (websockets only)
    connection_params: dict[str, object] | None = None
    # Set by a mutation that answered with an error: nothing it wrote may be committed.
    rollback_only: bool = field(default=False)

    async def calendar_of(self, session: AsyncSession, agency_id: uuid.UUID | None) -> WorkingCalendar:
        """The calendar of the receiving unit `agency_id`: its own hours, or the province's."""
        if self.calendars is not None:
            return await self.calendars.for_unit(self.now, agency_id)
        return await calendar_of_unit(session, self.calendar, agency_id)

    @property
    def journal(self) -> Journal:
        """Records that must outlive this request's transaction (failures, counters)."""
        return Journal(self.session_factory, self.meta, self.now)

    @property
    def today(self) -> date:
        """The province's calendar date now (deadlines and decisions are local dates)."""
        return self.now.astimezone(self.settings.zone).date()
