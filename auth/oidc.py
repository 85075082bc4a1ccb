"""Sign-in with the national e-identity (VNeID / the national public-service portal) over OpenID Connect.

This is the relying party: the authorisation code flow with PKCE (S256) and a confidential client
(``client_secret_basic``). The flow, from the application's point of view:

1. ``authorization_request()`` gives a fresh ``state``, ``nonce`` and PKCE ``code_verifier`` and the
   URL to send the browser to. The caller keeps the three secrets server-side (bound to the browser
   session) and never shows ``nonce`` or ``code_verifier`` to anybody.
2. The provider sends the browser back to ``redirect_uri?code=…&state=…``. The caller checks that
   ``state`` is the one it stored (this module cannot: it keeps no per-login state) and calls
   ``complete(code=…, code_verifier=…, nonce=…, now=…)``.
3. ``complete`` exchanges the code, validates the ID token against the provider's published keys and
   returns the citizen's identity, or raises ``OidcError`` with a stable ``code``.

The module never reads the clock: ``now`` is passed in. It keeps two caches, both for the life of the
``OidcClient``: the discovery document and the provider's signing keys (refetched once when an ID token
names a key that is not known yet, which is how key rotation is picked up).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import ssl
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import httpx

# authlib 1.9.10 emits an AuthlibDeprecationWarning when `authlib.jose` is imported (it points to
# joserfc) and when its httpx integration is imported without the `httpx2` package. Importing
# `authlib.deprecate` also *adds* a global "always" filter for that category. Both would turn into
# errors under the test suite's `filterwarnings = error`, so the imports are done with the warning
# silenced and the warning filters restored afterwards.
with warnings.catch_warnings():
    from authlib.deprecate import AuthlibDeprecationWarning  # type: ignore[import-untyped]

    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.common.errors import AuthlibBaseError  # type: ignore[import-untyped]
    from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]
    from authlib.jose import JsonWebKey, JsonWebToken  # type: ignore[import-untyped]
    from authlib.jose.errors import JoseError  # type: ignore[import-untyped]
    from authlib.oauth2.rfc6749.parameters import prepare_grant_uri  # type: ignore[import-untyped]
    from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

__all__ = [
    "AuthorizationRequest",
    "IdentityClaims",
    "OidcClient",
    "OidcConfig",
    "OidcError",
    "OidcErrorCode",
]

OidcErrorCode = Literal[
    "DISCOVERY_FAILED",  # the discovery document is unreachable, malformed, or names another issuer
    "TOKEN_EXCHANGE_FAILED",  # the token endpoint refused the code (or was unreachable / malformed)
    "JWKS_FAILED",  # the provider's key set could not be fetched or read
    "INVALID_ID_TOKEN",  # signature, algorithm, key, iss, aud/azp, exp, iat, nbf or at_hash is wrong
    "NONCE_MISMATCH",  # the ID token is not the answer to this login (replay or mix-up)
    "USERINFO_FAILED",  # the userinfo endpoint failed or answered for another subject
    "MISSING_CITIZEN_ID",  # the identity carries no citizen ID number
    "INVALID_CITIZEN_ID",  # the citizen ID claim is not 12 ASCII digits
]

# Only asymmetric signatures by the provider: never "none", never HS* (whose key would be the
# client secret, i.e. something the relying party itself knows).
_ALGORITHMS: Final = ("RS256", "ES256")
_KEY_TYPES: Final = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}
_IAT_LEEWAY_SECONDS: Final = 60
_CLIENT_AUTHENTICATION: Final = "client_secret_basic"
_CITIZEN_ID = re.compile(r"[0-9]{12}")
_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_REQUIRED_ENDPOINTS: Final = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True)
class OidcConfig:
    issuer: str  # e.g. "http://127.0.0.1:PORT"; compared exactly with the discovery document and "iss"
    client_id: str
    client_secret: str
    redirect_uri: str  # where the provider sends the browser back (the front end's URL)
    scopes: tuple[str, ...] = ("openid", "profile")
    citizen_id_claim: str = "citizen_id"  # claim carrying the 12-digit citizen ID number
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if "openid" not in self.scopes:
            raise ValueError('OidcConfig.scopes must include "openid"')
        if self.timeout <= 0:
            raise ValueError("OidcConfig.timeout must be positive")


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str  # full authorisation URL to send the browser to
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class IdentityClaims:
    subject: str
    citizen_id: str
    full_name: str | None
    birth_date: date | None  # from "birthdate" (YYYY-MM-DD) if present
    email: str | None
    phone: str | None
    raw: dict[str, Any]  # the validated ID token claims, completed by userinfo claims when fetched


class OidcError(Exception):
    """A sign-in that must not go through. ``code`` is stable and safe to show or log; ``message`` is
    for the logs (it never contains tokens or secrets)."""

    def __init__(self, code: OidcErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: OidcErrorCode = code
        self.message = message


@dataclass(frozen=True)
class _Jwk:
    kid: str | None
    kty: str
    crv: str | None
    alg: str | None
    use: str | None
    key: Any  # an authlib.jose key


class _UnknownKey(Exception):  # an internal signal, never seen by callers
    """The ID token names a key that is not in the key set we hold."""


class _BorrowedTransport(httpx.AsyncBaseTransport):
    """Lends the caller's transport to short-lived clients without letting them close it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


_JWT: Final = JsonWebToken(list(_ALGORITHMS))
# An `AsyncOAuth2Client`: an httpx.AsyncClient whose `request()` (not `get()`: httpx's shortcuts do not
# pass it on) takes `withhold_token=True` so as not to attach and "refresh" the access token.
_OAuthSession = Any


class OidcClient:
    """The relying party for one provider and one registered client. Safe to share across requests."""

    def __init__(self, config: OidcConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._config = config
        self._transport = transport
        self._metadata: dict[str, Any] | None = None
        self._keys: list[_Jwk] | None = None
        self._ssl_context: ssl.SSLContext | None = None

    @property
    def config(self) -> OidcConfig:
        return self._config

    # -- discovery ---------------------------------------------------------------------------------

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, fetched once and checked to be about our issuer."""
        if self._metadata is None:
            self._metadata = await self._discover()
        return dict(self._metadata)

    async def _discover(self) -> dict[str, Any]:
        url = self._config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            async with self._http() as http:
                response = await http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OidcError("DISCOVERY_FAILED", f"cannot fetch {url}: {exc!r}") from exc
        if response.status_code != 200:
            raise OidcError("DISCOVERY_FAILED", f"{url} answered HTTP {response.status_code}")
        document = _json_object(response)
        if document is None:
            raise OidcError("DISCOVERY_FAILED", f"{url} did not answer with a JSON object")
        if document.get("issuer") != self._config.issuer:
            raise OidcError(
                "DISCOVERY_FAILED",
                f"the discovery document names issuer {document.get('issuer')!r}, "
                f"expected exactly {self._config.issuer!r}",
            )
        for name in (*_REQUIRED_ENDPOINTS, "userinfo_endpoint"):
            value = document.get(name)
            if value is None and name == "userinfo_endpoint":
                continue
            if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http"):
                raise OidcError("DISCOVERY_FAILED", f"the discovery document has no usable {name}")
        methods = document.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise OidcError("DISCOVERY_FAILED", "the provider does not support PKCE with S256")
        return document

    # -- step 1: where to send the browser ---------------------------------------------------------

    async def authorization_request(self) -> AuthorizationRequest:
        metadata = await self.metadata()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        # 64 random bytes -> 86 characters of [A-Za-z0-9_-], within RFC 7636's 43..128.
        code_verifier = secrets.token_urlsafe(64)
        url: str = prepare_grant_uri(
            metadata["authorization_endpoint"],
            client_id=self._config.client_id,
            response_type="code",
            redirect_uri=self._config.redirect_uri,
            scope=" ".join(self._config.scopes),
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )
        return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=code_verifier)

    # -- step 2: the browser came back with a code -------------------------------------------------

    async def complete(self, *, code: str, code_verifier: str, nonce: str, now: datetime) -> IdentityClaims:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        if not code:
            raise OidcError("TOKEN_EXCHANGE_FAILED", "no authorisation code")
        if not code_verifier or not nonce:
            raise ValueError("code_verifier and nonce come from authorization_request() and must be given")
        metadata = await self.metadata()
        config = self._config
        async with AsyncOAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret,
            token_endpoint_auth_method=_CLIENT_AUTHENTICATION,
            redirect_uri=config.redirect_uri,
            code_challenge_method="S256",
            **self._http_options(),
        ) as oauth:
            token = await self._exchange(oauth, metadata["token_endpoint"], code, code_verifier)
            id_token = token.get("id_token")
            if not isinstance(id_token, str) or not id_token:
                raise OidcError("TOKEN_EXCHANGE_FAILED", "the token response has no id_token")
            access_token = token.get("access_token")
            claims = await self._verified_claims(oauth, metadata["jwks_uri"], id_token)
            _check_claims(claims, config=config, nonce=nonce, now=now, access_token=access_token)

            userinfo_endpoint = metadata.get("userinfo_endpoint")
            if "name" not in claims and isinstance(userinfo_endpoint, str) and isinstance(access_token, str):
                userinfo = await self._userinfo(oauth, userinfo_endpoint, access_token, claims["sub"])
                # The ID token is authoritative; userinfo only fills in what it lacks.
                claims = {**userinfo, **claims}

        return _identity(claims, config.citizen_id_claim)

    async def _exchange(
        self, oauth: _OAuthSession, token_endpoint: str, code: str, code_verifier: str
    ) -> dict[str, Any]:
        try:
            token = await oauth.fetch_token(
                token_endpoint, grant_type="authorization_code", code=code, code_verifier=code_verifier
            )
        except AuthlibBaseError as exc:  # the provider's RFC 6749 §5.2 error answer
            raise OidcError("TOKEN_EXCHANGE_FAILED", f"{exc.error}: {exc.description}") from exc
        except httpx.HTTPError as exc:
            raise OidcError("TOKEN_EXCHANGE_FAILED", f"token endpoint: {exc!r}") from exc
        except ValueError as exc:  # a body that is not a JSON object
            raise OidcError("TOKEN_EXCHANGE_FAILED", f"token endpoint: {exc}") from exc
        return dict(token)

    # -- the ID token --------------------------------------------------------------------------------

    async def _verified_claims(self, http: _OAuthSession, jwks_uri: str, id_token: str) -> dict[str, Any]:
        if id_token.count(".") != 2:  # JWS compact serialisation only (no JWE, no JSON serialisation)
            raise OidcError("INVALID_ID_TOKEN", "the ID token is not a compact JWS")
        fresh = self._keys is None
        if self._keys is None:
            self._keys = await self._fetch_keys(http, jwks_uri)
        unpublished = "the ID token is signed with a key the provider does not publish"
        try:
            return _decode(id_token, self._keys)
        except _UnknownKey:
            if fresh:
                raise OidcError("INVALID_ID_TOKEN", unpublished) from None
        # The provider may have rotated its keys since we cached them: look once more.
        self._keys = await self._fetch_keys(http, jwks_uri)
        try:
            return _decode(id_token, self._keys)
        except _UnknownKey:
            raise OidcError("INVALID_ID_TOKEN", unpublished) from None

    async def _fetch_keys(self, http: _OAuthSession, jwks_uri: str) -> list[_Jwk]:
        try:
            response = await http.request(
                "GET", jwks_uri, headers={"Accept": "application/json"}, withhold_token=True
            )
        except httpx.HTTPError as exc:
            raise OidcError("JWKS_FAILED", f"cannot fetch {jwks_uri}: {exc!r}") from exc
        if response.status_code != 200:
            raise OidcError("JWKS_FAILED", f"{jwks_uri} answered HTTP {response.status_code}")
        document = _json_object(response)
        entries = document.get("keys") if document is not None else None
        if not isinstance(entries, list):
            raise OidcError("JWKS_FAILED", f"{jwks_uri} is not a JSON Web Key Set")
        keys: list[_Jwk] = []
        for entry in entries:
            # Skip what we cannot use (unknown key types, malformed entries) rather than fail on it:
            # a provider may publish keys for other purposes next to its signing keys.
            if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
                continue
            try:
                key = JsonWebKey.import_key(entry)
            except (JoseError, ValueError, TypeError, KeyError):
                continue
            keys.append(
                _Jwk(
                    kid=_str_or_none(entry.get("kid")),
                    kty=entry["kty"],
                    crv=_str_or_none(entry.get("crv")),
                    alg=_str_or_none(entry.get("alg")),
                    use=_str_or_none(entry.get("use")),
                    key=key,
                )
            )
        return keys

    # -- userinfo ------------------------------------------------------------------------------------

    async def _userinfo(
        self, http: _OAuthSession, endpoint: str, access_token: str, subject: str
    ) -> dict[str, Any]:
        try:
            response = await http.request(
                "GET",
                endpoint,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                withhold_token=True,
            )
        except httpx.HTTPError as exc:
            raise OidcError("USERINFO_FAILED", f"cannot fetch {endpoint}: {exc!r}") from exc
        if response.status_code != 200:
            raise OidcError("USERINFO_FAILED", f"{endpoint} answered HTTP {response.status_code}")
        document = _json_object(response)
        if document is None:
            raise OidcError("USERINFO_FAILED", f"{endpoint} did not answer with a JSON object")
        # OpenID Connect Core §5.3.2: a userinfo answer about someone else must not be used.
        if document.get("sub") != subject:
            raise OidcError("USERINFO_FAILED", "userinfo is about another subject than the ID token")
        return document

    # -- plumbing ------------------------------------------------------------------------------------

    def _http_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"timeout": self._config.timeout}
        if self._transport is not None:
            options["transport"] = _BorrowedTransport(self._transport)
        else:
            # Each call uses a short-lived client; loading the CA bundle is most of what that costs.
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()
            options["verify"] = self._ssl_context
        return options

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._http_options())


def _decode(id_token: str, keys: list[_Jwk]) -> dict[str, Any]:
    """Check the signature with one of the provider's keys; return the (not yet validated) claims."""

    def load_key(header: dict[str, Any], payload: Any) -> Any:
        # authlib has already refused any "alg" outside _ALGORITHMS before it asks for the key.
        return _select_key(keys, header)

    try:
        claims = _JWT.decode(id_token, load_key)
    except (_UnknownKey, OidcError):
        raise
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise OidcError("INVALID_ID_TOKEN", f"the ID token signature does not verify: {exc!r}") from exc
    return dict(claims)


def _select_key(keys: list[_Jwk], header: dict[str, Any]) -> Any:
    alg = header.get("alg")
    if alg not in _KEY_TYPES:
        raise OidcError("INVALID_ID_TOKEN", f"algorithm {alg!r} is not accepted")
    kty, crv = _KEY_TYPES[alg]
    candidates = [
        k
        for k in keys
        if k.kty == kty and (crv is None or k.crv == crv) and k.use in (None, "sig") and k.alg in (None, alg)
    ]
    kid = header.get("kid")
    if kid is not None:
        matching = [k for k in candidates if k.kid == kid]
        if not matching:
            raise _UnknownKey(kid)
        return matching[0].key
    # Without "kid" the key set must leave no choice (OpenID Connect Core §10.1).
    if len(candidates) == 1:
        return candidates[0].key
    if not candidates:
        raise _UnknownKey(None)
    raise OidcError("INVALID_ID_TOKEN", "the ID token names no key and the provider publishes several")


def _check_claims(
    claims: dict[str, Any], *, config: OidcConfig, nonce: str, now: datetime, access_token: Any
) -> None:
    """OpenID Connect Core §3.1.3.7, with the project's exact rules on time."""

    def invalid(reason: str) -> OidcError:
        return OidcError("INVALID_ID_TOKEN", reason)

    if claims.get("iss") != config.issuer:
        raise invalid(f"iss is {claims.get('iss')!r}, expected {config.issuer!r}")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise invalid("sub is missing")

    aud = claims.get("aud")
    if isinstance(aud, str):
        audiences = [aud]
    elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        audiences = aud
    else:
        raise invalid("aud is missing or malformed")
    if config.client_id not in audiences:
        raise invalid("the ID token is not meant for this client (aud)")
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        raise invalid("the ID token has several audiences and no azp")
    if azp is not None and azp != config.client_id:
        raise invalid("the ID token was issued to another party (azp)")

    timestamp = now.timestamp()
    exp = _numeric_date(claims, "exp", required=True)
    if exp is None or exp <= timestamp:
        raise invalid("the ID token has expired")
    iat = _numeric_date(claims, "iat", required=True)
    if iat is None or iat > timestamp + _IAT_LEEWAY_SECONDS:
        raise invalid("the ID token is issued in the future")
    nbf = _numeric_date(claims, "nbf", required=False)
    if nbf is not None and nbf > timestamp + _IAT_LEEWAY_SECONDS:
        raise invalid("the ID token is not valid yet")

    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(
        token_nonce.encode("utf-8"), nonce.encode("utf-8")
    ):
        raise OidcError("NONCE_MISMATCH", "the ID token's nonce is not the one of this login")

    at_hash = claims.get("at_hash")
    if at_hash is not None and isinstance(access_token, str):
        # RS256 and ES256 both hash with SHA-256: the left half, base64url without padding.
        digest = hashlib.sha256(access_token.encode("ascii", "replace")).digest()
        expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
        if not isinstance(at_hash, str) or not hmac.compare_digest(at_hash, expected):
            raise invalid("at_hash does not match the access token")


def _identity(claims: dict[str, Any], citizen_id_claim: str) -> IdentityClaims:
    citizen_id = claims.get(citizen_id_claim)
    if citizen_id is None or citizen_id == "":
        raise OidcError("MISSING_CITIZEN_ID", f"the identity has no {citizen_id_claim!r} claim")
    if not isinstance(citizen_id, str) or not _CITIZEN_ID.fullmatch(citizen_id):
        raise OidcError("INVALID_CITIZEN_ID", f"the {citizen_id_claim!r} claim is not 12 digits")
    return IdentityClaims(
        subject=claims["sub"],
        citizen_id=citizen_id,
        full_name=_full_name(claims),
        birth_date=_birth_date(claims.get("birthdate")),
        email=_str_or_none(claims.get("email")),
        phone=_str_or_none(claims.get("phone_number")),
        raw=claims,
    )


def _full_name(claims: dict[str, Any]) -> str | None:
    name = _str_or_none(claims.get("name"))
    if name:
        return name
    # Vietnamese order: family, middle, given ("Nguyễn Văn An").
    parts = [_str_or_none(claims.get(k)) for k in ("family_name", "middle_name", "given_name")]
    joined = " ".join(p.strip() for p in parts if p and p.strip())
    return joined or None


def _birth_date(value: Any) -> date | None:
    # OpenID Connect allows "YYYY" or "0000-MM-DD" for a partly known date: those give None.
    if not isinstance(value, str) or not _FULL_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _numeric_date(claims: dict[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise OidcError("INVALID_ID_TOKEN", f"{name} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OidcError("INVALID_ID_TOKEN", f"{name} is not a number")
    return float(value)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        document = response.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
