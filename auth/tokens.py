"""Signed access tokens (JWT) and opaque refresh tokens.

JWTs go through `joserfc`, the JOSE implementation of the authlib project (authlib's own
`authlib.jose` is deprecated in its favour and ships it as a dependency).

Access tokens are short-lived JWTs: HS256 only (the algorithm list is fixed, so `alg: none`
and key-confusion tricks are refused before anything else), with `iss`, `aud`, `exp`, `iat`
and `typ` all checked. Refresh tokens are random strings the server stores as SHA-256 hashes.
A person's access token names (`sid`) the refresh token it was issued with, so revoking that
token's chain (sign-out, reuse of a spent refresh token) stops the access token at once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

ALGORITHM = "HS256"
ALGORITHMS = [ALGORITHM]
AUDIENCE = "dvc-api"
ACCESS_TYP = "access"
APP_TYP = "app"


class InvalidToken(Exception):
    """The token is forged, expired, for someone else, or otherwise unusable."""


@dataclass(frozen=True)
class TokenConfig:
    secret: str
    issuer: str = "dvc"
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class AccessClaims:
    subject: str  # account id, or client id for apps
    typ: str
    token_version: int
    scopes: frozenset[str]
    expires_at: datetime
    session_id: uuid.UUID | None = None  # the refresh token issued with it (None: no session)


def issue_access(
    config: TokenConfig,
    *,
    account_id: uuid.UUID,
    token_version: int,
    now: datetime,
    session_id: uuid.UUID | None = None,
) -> str:
    claims: dict[str, Any] = {"sub": str(account_id), "typ": ACCESS_TYP, "ver": token_version}
    if session_id is not None:
        claims["sid"] = str(session_id)
    return _encode(config, claims, now)


def issue_app_access(config: TokenConfig, *, client_id: str, scopes: list[str], now: datetime) -> str:
    return _encode(config, {"sub": client_id, "typ": APP_TYP, "scope": " ".join(sorted(scopes))}, now)


def _encode(config: TokenConfig, claims: dict[str, Any], now: datetime) -> str:
    payload = {
        **claims,
        "iss": config.issuer,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + config.access_ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode({"alg": ALGORITHM, "typ": "JWT"}, payload, _key(config), algorithms=ALGORITHMS)


def _key(config: TokenConfig) -> OctKey:
    return OctKey.import_key(config.secret.encode())


def verify_access(config: TokenConfig, token: str, *, now: datetime) -> AccessClaims:
    registry = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=0,
        iss={"essential": True, "value": config.issuer},
        aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True},
        sub={"essential": True},
        typ={"essential": True, "values": [ACCESS_TYP, APP_TYP]},
    )
    try:
        decoded = jwt.decode(token, _key(config), algorithms=ALGORITHMS)
        registry.validate(decoded.claims)
        claims = decoded.claims
        session_id = uuid.UUID(str(claims["sid"])) if "sid" in claims else None
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc
    typ = str(claims["typ"])
    scopes = frozenset(str(claims.get("scope", "")).split()) if typ == APP_TYP else frozenset()
    return AccessClaims(
        subject=str(claims["sub"]),
        typ=typ,
        token_version=int(claims.get("ver", 0)),
        scopes=scopes,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo),
        session_id=session_id,
    )


def new_refresh_token() -> tuple[str, str]:
    """A fresh refresh token and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
