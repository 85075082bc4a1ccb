"""Who is calling. Every permission decision is made from an `Actor`, never from raw headers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from auth.roles import StaffRole


class ActorKind(enum.Enum):
    ANONYMOUS = "ANONYMOUS"
    CITIZEN = "CITIZEN"
    ORGANISATION = "ORGANISATION"
    STAFF = "STAFF"
    APP = "APP"  # third-party application with OAuth client credentials
    BOOTSTRAP_ADMIN = "BOOTSTRAP_ADMIN"  # the configured token, until real accounts exist


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None = None
    roles: frozenset[StaffRole] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        """How the actor is named in audit and process records."""
        return f"{self.kind.value.lower()}:{self.id}" if self.id else self.kind.value.lower()

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not ActorKind.ANONYMOUS

    @property
    def can_manage_catalog(self) -> bool:
        return self.kind is ActorKind.BOOTSTRAP_ADMIN or StaffRole.SYSTEM_ADMIN in self.roles


ANONYMOUS = Actor(ActorKind.ANONYMOUS)
