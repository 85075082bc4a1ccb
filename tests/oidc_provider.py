"""A real, small OpenID Connect provider for tests, speaking HTTP on 127.0.0.1.

It stands in for the national e-identity (VNeID / the national public-service portal): discovery,
``/authorize`` (authorisation code + PKCE S256 only), ``/token`` (client_secret_basic or
client_secret_post), ``/jwks`` and ``/userinfo``. It is built from authlib primitives (authlib.jose
for signing and the key set, authlib's PKCE helper) on starlette, and served by uvicorn in a
background thread. Nothing in it knows about the relying party in ``auth.oidc``.

``/authorize`` has no login page: it "logs in" ``Provider.user`` at once and redirects back with a
code. Tests follow the authorisation URL with httpx *without* following redirects and read
``code`` and ``state`` from the ``Location`` header.

Using the fixture — import it into the test module (the function is ``oidc_provider_fixture``, the
fixture is named ``oidc_provider``; importing a function literally called ``oidc_provider`` would make
ruff report F811 on every test that takes the fixture as a parameter)::

    from tests.oidc_provider import Provider, oidc_provider_fixture  # noqa: F401


    async def test_sign_in(oidc_provider: Provider) -> None: ...

``oidc_provider`` is function-scoped and hands every test a provider in its default state (default
user, well-behaved, real clock); a test changes it freely (``.user[...] = …``, ``.misbehave(...)``,
``.now = …``) and it is reset afterwards. Behind it, one server runs for the whole test session: it
is started by the first test that asks for it, whatever the module, and stopped when the session
ends.

Alternatively ``pytest_plugins = ["tests.oidc_provider"]`` in the top-level ``tests/conftest.py``
registers the fixture for every test without an import. Not in a test module, though, if that module
also imports anything from here: pytest then fails with "Module already imported so cannot be
rewritten" (a PytestAssertRewriteWarning, an error under ``filterwarnings = error``).

Outside pytest, ``with running_provider() as provider: ...`` gives the same thing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypedDict, Unpack
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

# authlib 1.9.10 warns (AuthlibDeprecationWarning) when authlib.jose is imported, and importing
# authlib.deprecate adds a global "always" filter for it; see auth/oidc.py.
with warnings.catch_warnings():
    from authlib.deprecate import AuthlibDeprecationWarning  # type: ignore[import-untyped]

    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken, OctKey  # type: ignore[import-untyped]
    from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

__all__ = [
    "CLIENT_ID",
    "DEFAULT_USER",
    "Misbehaviour",
    "Provider",
    "oidc_provider_fixture",
    "running_provider",
]

CLIENT_ID = "dvc-one-stop-test"
REDIRECT_URI = "https://dichvucong.example.gov.vn/dang-nhap/vneid/callback"
CODE_LIFETIME = timedelta(seconds=60)
TOKEN_LIFETIME = timedelta(minutes=5)

DEFAULT_USER: dict[str, Any] = {
    "sub": "vneid-5c2e9a0f-8d41-4b7e-a3c6-1f0d2b9e7a54",
    "citizen_id": "001190012345",
    "name": "Trần Thị Thu Hà",
    "birthdate": "1990-05-17",
    "email": "thuha.tran@example.vn",
    "phone_number": "+84912345678",
}

# Which user claims each scope releases (OpenID Connect Core §5.4). Claims in none of these sets
# (citizen_id, …) are always released, as the national e-identity does.
SCOPE_CLAIMS: dict[str, frozenset[str]] = {
    "profile": frozenset(
        {
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        }
    ),
    "email": frozenset({"email", "email_verified"}),
    "phone": frozenset({"phone_number", "phone_number_verified"}),
    "address": frozenset({"address"}),
}
_SCOPED = frozenset().union(*SCOPE_CLAIMS.values())
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1 / §4.2


class Misbehaviour(TypedDict, total=False):
    """Ways the provider can be made to lie, each one something a relying party must refuse."""

    wrong_key: bool  # sign the ID token with a key that /jwks does not publish (own "kid")
    forge_kid: bool  # with wrong_key: put the published signing key's "kid" in the header
    alg: Literal["none", "HS256"]  # unsigned, or HMAC-signed with the client secret as the key
    iss: str  # the ID token's "iss"
    aud: str | list[str]  # the ID token's "aud"
    azp: str  # add an "azp"
    expired: bool  # "exp" one minute in the past
    iat_skew: int  # seconds added to "iat" (positive: issued in the future)
    nonce: str  # the ID token's "nonce", instead of the one from the authorisation request
    omit_citizen_id: bool  # no citizen_id, neither in the ID token nor from userinfo
    metadata_issuer: str  # the "issuer" in the discovery document
    userinfo_sub: str  # the "sub" that /userinfo answers with
    deny_login: bool  # the user cancels: /authorize redirects back with error=access_denied


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    nonce: str | None
    code_challenge: str
    user: dict[str, Any]
    auth_time: int
    expires_at: datetime
    used: bool = False
    access_tokens: list[str] = field(default_factory=list)


@dataclass
class _AccessToken:
    user: dict[str, Any]
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class _SigningKeys:
    rsa: Any  # authlib.jose RSAKey (private)
    ec: Any  # authlib.jose ECKey (private), P-256

    @staticmethod
    def generate(label: str) -> _SigningKeys:
        return _SigningKeys(
            rsa=JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": f"rsa-{label}"}),
            ec=JsonWebKey.generate_key("EC", "P-256", is_private=True, options={"kid": f"ec-{label}"}),
        )

    def public_jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                self.rsa.as_dict(is_private=False, use="sig", alg="RS256"),
                self.ec.as_dict(is_private=False, use="sig", alg="ES256"),
            ]
        }


class _OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


_SIGNER = JsonWebToken(["RS256", "ES256", "HS256", "none"])


class Provider:
    """The provider's state. Attributes tests may change: ``user``, ``id_token_user_claims``,
    ``signing_alg``, ``now``; and ``misbehave(...)``. ``reset()`` puts everything back.

    ``user`` is copied when ``/authorize`` "logs in", so later changes do not reach codes already
    given; misbehaviours act when the ID token is made (at ``/token``) or the document is served."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.client_id = CLIENT_ID
        self.client_secret = secrets.token_urlsafe(24)  # URL-safe: see client_secret_basic below
        self.redirect_uri = REDIRECT_URI
        self._initial_keys = _SigningKeys.generate("1")
        self._keys = self._initial_keys
        # Never published: what a forger would sign with.
        self._rogue_keys = _SigningKeys.generate("rogue")
        self._rotations = 1
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, _AccessToken] = {}
        self.user: dict[str, Any] = {}
        self.id_token_user_claims: set[str] | None = None
        self.signing_alg: Literal["RS256", "ES256"] = "RS256"
        self.now: datetime | None = None
        self.jwks_requests = 0
        self.token_auth_methods: list[str] = []
        self._misbehaviour: Misbehaviour = {}
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery, methods=["GET"]),
                Route("/authorize", self._authorize, methods=["GET"]),
                Route("/token", self._token, methods=["POST"]),
                Route("/jwks", self._jwks, methods=["GET"]),
                Route("/userinfo", self._userinfo, methods=["GET", "POST"]),
            ]
        )

    # -- what tests use ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the default: default user, all its claims in the ID token, RS256, the real clock,
        the original keys, no misbehaviour, no outstanding codes or tokens, counters at zero."""
        with self._lock:
            self.user = dict(DEFAULT_USER)
            self.id_token_user_claims = None  # None: every released claim goes into the ID token
            self.signing_alg = "RS256"
            self.now = None  # None: the real clock
            self._keys = self._initial_keys
            self._misbehaviour = {}
            self._codes.clear()
            self._tokens.clear()
            self.jwks_requests = 0
            self.token_auth_methods = []

    def misbehave(self, **changes: Unpack[Misbehaviour]) -> None:
        """Turn on misbehaviours (they add up until ``reset()``), e.g. ``misbehave(alg="none")``."""
        self._misbehaviour.update(changes)

    def rotate_keys(self) -> None:
        """Start signing with new keys (new "kid"s); the old ones disappear from /jwks."""
        self._rotations += 1
        self._keys = _SigningKeys.generate(str(self._rotations))

    @property
    def jwks(self) -> dict[str, Any]:
        return self._keys.public_jwks()

    def clock(self) -> datetime:
        return self.now if self.now is not None else datetime.now(UTC)

    # -- endpoints -----------------------------------------------------------------------------------

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self._misbehaviour.get("metadata_issuer", self.issuer),
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "scopes_supported": ["openid", *SCOPE_CLAIMS],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "citizen_id", *_SCOPED],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        return JSONResponse(self.jwks)

    async def _authorize(self, request: Request) -> Response:
        """RFC 6749 §4.1.1 with OpenID Connect Core §3.1.2; errors per RFC 6749 §4.1.2.1."""
        params, repeated = _single_valued(request.query_params.multi_items())
        client_id = params.get("client_id")
        redirect_uri = params.get("redirect_uri")
        # Never redirect to an address that is not registered for a known client: show an error.
        if "client_id" in repeated or client_id != self.client_id:
            return _error_page("invalid_request", "unknown or missing client_id")
        if "redirect_uri" in repeated or redirect_uri != self.redirect_uri:
            return _error_page("invalid_request", "redirect_uri is missing or not registered")

        state = params.get("state")

        def back(**answer: str) -> Response:
            if state is not None:
                answer["state"] = state
            separator = "&" if urlsplit(self.redirect_uri).query else "?"
            return RedirectResponse(f"{self.redirect_uri}{separator}{urlencode(answer)}", status_code=302)

        if repeated:
            return back(error="invalid_request", error_description=f"repeated {sorted(repeated)[0]}")
        response_type = params.get("response_type")
        if not response_type:
            return back(error="invalid_request", error_description="response_type is required")
        if response_type != "code":
            return back(error="unsupported_response_type", error_description="only code is supported")
        scopes = tuple(params.get("scope", "").split())
        if "openid" not in scopes:
            return back(error="invalid_scope", error_description="scope must include openid")
        challenge = params.get("code_challenge")
        if not challenge:
            return back(error="invalid_request", error_description="code challenge required")
        if params.get("code_challenge_method") != "S256":
            return back(error="invalid_request", error_description="transform algorithm not supported")
        if not _PKCE_VALUE.fullmatch(challenge):
            return back(error="invalid_request", error_description="malformed code_challenge")
        if self._misbehaviour.get("deny_login"):
            return back(error="access_denied", error_description="the user cancelled the sign-in")

        now = self.clock()
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Grant(
                client_id=self.client_id,
                redirect_uri=self.redirect_uri,
                scopes=scopes,
                nonce=params.get("nonce"),
                code_challenge=challenge,
                user=dict(self.user),
                auth_time=int(now.timestamp()),
                expires_at=now + CODE_LIFETIME,
            )
        return back(code=code)

    async def _token(self, request: Request) -> Response:
        try:
            return _no_store(JSONResponse(await self._token_answer(request)))
        except _OAuthError as exc:
            headers = {"WWW-Authenticate": 'Basic realm="oidc-test-provider"'} if exc.status == 401 else {}
            answer = JSONResponse(
                {"error": exc.error, "error_description": exc.description}, exc.status, headers
            )
            return _no_store(answer)

    async def _token_answer(self, request: Request) -> dict[str, Any]:
        """RFC 6749 §4.1.3 and §3.2.1, RFC 7636 §4.6; errors per RFC 6749 §5.2."""
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/x-www-form-urlencoded":
            raise _OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
        try:
            body = (await request.body()).decode("utf-8")
            pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _OAuthError("invalid_request", "malformed body") from exc
        form, repeated = _single_valued(pairs)
        if repeated:
            raise _OAuthError("invalid_request", f"repeated {sorted(repeated)[0]}")

        client_id = self._authenticate_client(request, form)

        grant_type = form.get("grant_type")
        if not grant_type:
            raise _OAuthError("invalid_request", "grant_type is required")
        if grant_type != "authorization_code":
            raise _OAuthError("unsupported_grant_type", f"{grant_type} is not supported")
        code = form.get("code")
        if not code:
            raise _OAuthError("invalid_request", "code is required")

        now = self.clock()
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant.client_id != client_id:
                raise _OAuthError("invalid_grant", "unknown code")
            if grant.used:
                # RFC 6749 §4.1.2: deny, and revoke what the first use obtained.
                for token in grant.access_tokens:
                    self._tokens.pop(token, None)
                raise _OAuthError("invalid_grant", "the code has already been used")
            grant.used = True  # any attempt consumes it, right or wrong
        if now >= grant.expires_at:
            raise _OAuthError("invalid_grant", "the code has expired")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _OAuthError("invalid_grant", "redirect_uri does not match the authorisation request")
        verifier = form.get("code_verifier")
        if not verifier:
            raise _OAuthError("invalid_request", "code_verifier is required")
        if not _PKCE_VALUE.fullmatch(verifier) or not hmac.compare_digest(
            create_s256_code_challenge(verifier), grant.code_challenge
        ):
            raise _OAuthError("invalid_grant", "code_verifier does not match the code challenge")

        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access_token] = _AccessToken(grant.user, grant.scopes, now + TOKEN_LIFETIME)
            grant.access_tokens.append(access_token)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
            "scope": " ".join(grant.scopes),
            "id_token": self._id_token(grant, access_token, now),
        }

    def _authenticate_client(self, request: Request, form: dict[str, str]) -> str:
        authorization = request.headers.get("authorization", "")
        if authorization[:6].lower() == "basic ":
            if "client_secret" in form:
                raise _OAuthError("invalid_request", "more than one client authentication method")
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
                raw_id, raw_secret = decoded.split(":", 1)
            except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
                raise _OAuthError("invalid_client", "malformed Basic credentials", 401) from exc
            # RFC 6749 §2.3.1: both parts are form-urlencoded before base64. (authlib's client does
            # not encode them, which only matters for secrets outside [A-Za-z0-9_-].)
            client_id, secret, method = unquote_plus(raw_id), unquote_plus(raw_secret), "client_secret_basic"
            if "client_id" in form and form["client_id"] != client_id:
                raise _OAuthError("invalid_request", "client_id in the body differs from the credentials")
        elif "client_secret" in form:
            client_id, secret, method = form.get("client_id", ""), form["client_secret"], "client_secret_post"
        else:
            raise _OAuthError("invalid_client", "client authentication is required", 401)
        if client_id != self.client_id or not hmac.compare_digest(
            secret.encode("utf-8"), self.client_secret.encode("utf-8")
        ):
            raise _OAuthError("invalid_client", "unknown client or wrong secret", 401)
        self.token_auth_methods.append(method)
        return client_id

    async def _userinfo(self, request: Request) -> Response:
        """OpenID Connect Core §5.3 with an RFC 6750 bearer token in the Authorization header."""
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() != "bearer ":
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        with self._lock:
            token = self._tokens.get(authorization[7:].strip())
        if token is None or self.clock() >= token.expires_at:
            return Response(
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        claims = self._released(token.user, token.scopes)
        claims["sub"] = self._misbehaviour.get("userinfo_sub", token.user["sub"])
        return _no_store(JSONResponse(claims))

    # -- the ID token --------------------------------------------------------------------------------

    def _released(self, user: dict[str, Any], scopes: tuple[str, ...]) -> dict[str, Any]:
        allowed = frozenset().union(*(SCOPE_CLAIMS.get(s, frozenset()) for s in scopes))
        released = {k: v for k, v in user.items() if k != "sub" and (k not in _SCOPED or k in allowed)}
        if self._misbehaviour.get("omit_citizen_id"):
            released.pop("citizen_id", None)
        return released

    def _id_token(self, grant: _Grant, access_token: str, now: datetime) -> str:
        m = self._misbehaviour
        issued_at = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": m.get("iss", self.issuer),
            "sub": grant.user["sub"],
            "aud": m.get("aud", grant.client_id),
            "exp": issued_at - 60 if m.get("expired") else issued_at + int(TOKEN_LIFETIME.total_seconds()),
            "iat": issued_at + m.get("iat_skew", 0),
            "auth_time": grant.auth_time,
            "at_hash": _half_hash(access_token),
        }
        if "azp" in m:
            claims["azp"] = m["azp"]
        nonce = m.get("nonce", grant.nonce)
        if nonce is not None:
            claims["nonce"] = nonce
        for name, value in self._released(grant.user, grant.scopes).items():
            if self.id_token_user_claims is None or name in self.id_token_user_claims:
                claims[name] = value
        return self._sign(claims)

    def _sign(self, claims: dict[str, Any]) -> str:
        m = self._misbehaviour
        keys = self._rogue_keys if m.get("wrong_key") else self._keys
        alg = m.get("alg", self.signing_alg)
        key: Any
        header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
        if alg == "none":
            key = None
        elif alg == "HS256":
            # The classic confusion: the client secret as an HMAC key, with a published key's kid.
            key = OctKey.import_key(self.client_secret)
            header["kid"] = self._keys.rsa.kid
        else:
            key = keys.rsa if alg == "RS256" else keys.ec
            if m.get("forge_kid"):
                # authlib's encode() overwrites the header's "kid" with the signing key's own, so the
                # forged kid has to be put on (a copy of) the key itself.
                published = self._keys.rsa if alg == "RS256" else self._keys.ec
                key = JsonWebKey.import_key({**key.as_dict(is_private=True), "kid": published.kid})
        # check=False: authlib otherwise refuses claims that merely look sensitive (names like
        # "token", values like card numbers), which is not a provider's business.
        token: bytes = _SIGNER.encode(header, claims, key, check=False)
        return token.decode("ascii")


def _half_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def _single_valued(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], set[str]]:
    """RFC 6749 §3.1 / §3.2: parameters must not be repeated. Empty values count as absent."""
    values: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if name in values:
            repeated.add(name)
        elif value != "":
            values[name] = value
    return values, repeated


def _error_page(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@contextmanager
def running_provider() -> Iterator[Provider]:
    """A provider served by uvicorn on a free loopback port, in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # bound here and handed to uvicorn: no race for the port
    port = sock.getsockname()[1]
    provider = Provider(issuer=f"http://127.0.0.1:{port}")
    config = uvicorn.Config(
        provider.app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        ws="none",
        log_config=None,  # leave the test session's logging alone
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="oidc-test-provider", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the OIDC test provider did not start")
            time.sleep(0.005)
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


_RUNNING = pytest.StashKey[Provider]()


@pytest.fixture(name="oidc_provider")
def oidc_provider_fixture(request: pytest.FixtureRequest) -> Iterator[Provider]:
    """The running provider, in its default state; reset after the test."""
    provider = request.config.stash.get(_RUNNING, None)
    if provider is None:
        stack = ExitStack()
        provider = stack.enter_context(running_provider())
        request.config.stash[_RUNNING] = provider

        def stop() -> None:
            del request.config.stash[_RUNNING]
            stack.close()

        # One server for the whole session, stopped when the session is torn down.
        request.session.addfinalizer(stop)
    provider.reset()
    yield provider
    provider.reset()
