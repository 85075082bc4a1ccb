"""The per-request context: one actor, one session, one set of loaders, one `now`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from auth.actor import Actor
from core.broker import Broker
from core.db import RequestDb, SessionFactory
from core.settings import Settings
from resolvers.loaders import Loaders


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
    broker: Broker | None = None
    # Set by a mutation that answered with an error: nothing it wrote may be committed.
    rollback_only: bool = field(default=False)

    @property
    def today(self) -> date:
        """The province's calendar date now (deadlines and decisions are local dates)."""
        return self.now.astimezone(self.settings.zone).date()
