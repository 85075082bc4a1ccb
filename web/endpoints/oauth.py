"""`POST /oauth/token`: the client credentials grant (RFC 6749 §4.4) for registered third-party
applications, answered in OAuth's JSON."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.accounts import apps
from services.accounts.journal import Journal
from web.authentication import request_meta
from web.runtime import Runtime


async def oauth_token(rt: Runtime, request: Request) -> Response:
    """RFC 6749 §4.4 client credentials grant for registered third-party applications."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    if form.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", "Only client_credentials is supported.")
    credentials = _client_auth(request, form)
    if any("\x00" in value for value in (*form.keys(), *form.values(), *(credentials or ()))):
        return _oauth_error("invalid_request", "A parameter holds a NUL character (U+0000).")
    if credentials is None:
        return _oauth_error("invalid_client", "Client authentication is required.", 401)
    scopes = form["scope"].split() if form.get("scope") else None
    journal = Journal(rt.session_factory, request_meta(request), rt.clock.now())
    async with rt.session_factory() as session:
        try:
            token = await apps.client_credentials(
                session, credentials[0], credentials[1], scopes, journal=journal, policy=rt.policy
            )
        except apps.OAuthError as error:
            return _oauth_error(error.error, error.description, error.status)
    return JSONResponse(
        {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": token.expires_in,
            "scope": " ".join(token.scopes),
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _client_auth(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
    """client_secret_basic (preferred) or client_secret_post (RFC 6749 §2.3.1)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = raw.partition(":")
        return (unquote(client_id), unquote(secret)) if sep else None
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="dvc"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )
