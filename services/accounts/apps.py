"""Third-party applications (ứng dụng bên thứ ba): registered and revoked by a system admin; an
app gets a token for itself with the client-credentials grant (RFC 6749 §4.4).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords, tokens
from auth.actor import Actor, ActorKind
from models.accounts import OAuthClient
from services.accounts import rules
from services.accounts.journal import Journal, security_event
from services.accounts.policy import AccountPolicy
from services.errors import Forbidden, Issues, NotFound


@dataclass(frozen=True)
class RegisteredApp:
    app: OAuthClient
    client_secret: str  # shown once


async def register_app(
    session: AsyncSession,
    actor: Actor,
    name: str,
    contact_email: str,
    scopes: Sequence[str],
    *,
    journal: Journal,
    policy: AccountPolicy,
    rate_limit_per_minute: int = 600,
) -> RegisteredApp:
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được đăng ký ứng dụng.")
    issues = Issues()
    if not name.strip():
        issues.add(("name",), "REQUIRED", "Tên ứng dụng không được để trống.")
    email = rules.normalise_email(contact_email)
    rules.check_email(issues, ("contactEmail",), email)
    if not scopes:
        issues.add(("scopes",), "REQUIRED", "Chọn ít nhất một phạm vi truy cập.")
    for i, scope in enumerate(scopes):
        if scope not in policy.app_scopes:
            issues.add(("scopes", i), "UNKNOWN", f"Phạm vi “{scope}” không tồn tại.")
    if not 1 <= rate_limit_per_minute <= 100_000:
        issues.add(("rateLimitPerMinute",), "OUT_OF_RANGE", "Giới hạn từ 1 đến 100000 lượt mỗi phút.")
    issues.raise_if_any()
    secret = secrets.token_urlsafe(32)
    app = OAuthClient(
        client_id=f"app_{secrets.token_hex(8)}",
        secret_hash=passwords.hash_password(secret),
        name=name.strip(),
        contact_email=email,
        scopes=sorted(set(scopes)),
        rate_limit_per_minute=rate_limit_per_minute,
        created_at=journal.now,
        created_by=actor.label,
    )
    session.add(app)
    session.add(
        security_event(
            "APP_REGISTER",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            detail={"clientId": app.client_id},
        )
    )
    await session.flush()
    return RegisteredApp(app, secret)


async def revoke_app(session: AsyncSession, actor: Actor, client_id: str, *, journal: Journal) -> OAuthClient:
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được thu hồi ứng dụng.")
    app = await session.scalar(
        select(OAuthClient).where(OAuthClient.client_id == client_id).with_for_update()
    )
    if app is None:
        raise NotFound("ứng dụng", client_id)
    if app.revoked_at is None:
        app.revoked_at = journal.now
        session.add(
            security_event(
                "APP_REVOKE",
                "SUCCESS",
                actor=actor,
                now=journal.now,
                meta=journal.meta,
                detail={"clientId": client_id},
            )
        )
    await session.flush()
    return app


@dataclass(frozen=True)
class AppToken:
    access_token: str
    expires_in: int
    scopes: list[str]


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: `error` code, description, HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


async def client_credentials(
    session: AsyncSession,
    client_id: str,
    secret: str,
    requested: Sequence[str] | None,
    *,
    journal: Journal,
    policy: AccountPolicy,
) -> AppToken:
    """RFC 6749 §4.4: a token for the app itself, with at most the scopes it was granted."""
    app = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    valid = passwords.verify_password(app.secret_hash if app else None, secret)
    if app is None or not valid or app.revoked_at is not None:
        session.add(
            security_event(
                "APP_TOKEN",
                "FAILURE",
                actor=Actor(ActorKind.APP, client_id=client_id[:64]),
                now=journal.now,
                meta=journal.meta,
            )
        )
        await session.commit()  # the token endpoint's own transaction: keep the failure on record
        raise OAuthError("invalid_client", "Client authentication failed.", 401)
    granted = set(app.scopes)
    scopes = sorted(set(requested) if requested else granted)
    if not set(scopes) <= granted:
        raise OAuthError("invalid_scope", "The requested scope exceeds what was granted.")
    token = tokens.issue_app_access(policy.tokens, client_id=app.client_id, scopes=scopes, now=journal.now)
    return AppToken(token, int(policy.tokens.access_ttl.total_seconds()), scopes)
