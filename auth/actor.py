"""Who is calling. Every permission decision is made from an `Actor`, never from raw headers."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from auth.roles import StaffRole
from auth.tokens import AccessClaims


class ActorKind(enum.Enum):
    ANONYMOUS = "ANONYMOUS"
    CITIZEN = "CITIZEN"
    ORGANISATION = "ORGANISATION"
    STAFF = "STAFF"
    APP = "APP"  # third-party application with OAuth client credentials
    SYSTEM = "SYSTEM"  # the service itself: jobs, imports, the command line


EVERYWHERE = None  # a role held without agency limit (system admin)


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: uuid.UUID | None = None
    name: str | None = None
    client_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # For each role held: the agencies where it applies (sub-agencies already expanded), or
    # EVERYWHERE.
    roles: Mapping[StaffRole, frozenset[uuid.UUID] | None] = field(default_factory=dict)
    # The verified access token the actor came with (None: anonymous, system, tests): a long-lived
    # websocket re-checks it before each event (revoked sessions, locked accounts, revoked apps).
    credential: AccessClaims | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """How the actor is named in audit and process records."""
        ident = self.client_id or (str(self.id) if self.id else None)
        return f"{self.kind.value.lower()}:{ident}" if ident else self.kind.value.lower()

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not ActorKind.ANONYMOUS

    @property
    def is_person(self) -> bool:
        return self.kind in (ActorKind.CITIZEN, ActorKind.ORGANISATION, ActorKind.STAFF)

    def has_role(self, role: StaffRole, agency_id: uuid.UUID | None = None) -> bool:
        """Holds `role`, at `agency_id` when given (anywhere when not)."""
        if role not in self.roles:
            return False
        agencies = self.roles[role]
        return agencies is EVERYWHERE or agency_id is None or agency_id in agencies

    def agencies_with(self, role: StaffRole) -> frozenset[uuid.UUID] | None:
        """Agencies where the role applies; None means everywhere; empty means nowhere."""
        if role not in self.roles:
            return frozenset()
        return self.roles[role]

    @property
    def is_system_admin(self) -> bool:
        return self.has_role(StaffRole.SYSTEM_ADMIN)

    @property
    def can_manage_catalog(self) -> bool:
        return self.kind is ActorKind.SYSTEM or self.is_system_admin

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


ANONYMOUS = Actor(ActorKind.ANONYMOUS)
SYSTEM = Actor(ActorKind.SYSTEM, name="system")
