"""The bootstrap admin: a bearer token from configuration with system-admin rights.

It exists so a new installation can be configured before any account does; the accounts work
replaces it with a first-admin command.
"""

from __future__ import annotations

import hmac

from auth.actor import ANONYMOUS, Actor, ActorKind
from auth.roles import StaffRole

BOOTSTRAP_ADMIN = Actor(ActorKind.BOOTSTRAP_ADMIN, "bootstrap", frozenset({StaffRole.SYSTEM_ADMIN}))


class InvalidCredentials(Exception):
    """A credential was presented and is wrong: refuse, do not fall back to anonymous."""


def actor_from_authorization(header: str | None, bootstrap_token: str | None) -> Actor:
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidCredentials
    if bootstrap_token and hmac.compare_digest(token.encode(), bootstrap_token.encode()):
        return BOOTSTRAP_ADMIN
    raise InvalidCredentials
