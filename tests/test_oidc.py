"""The OpenID Connect relying party (auth.oidc) against a real local provider (tests.oidc_provider)."""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from auth.oidc import AuthorizationRequest, IdentityClaims, OidcClient, OidcConfig, OidcError
from tests.oidc_provider import CLIENT_ID, DEFAULT_USER, Misbehaviour, Provider, oidc_provider_fixture  # noqa: F401

# The provider's clock and the relying party's "now" agree on this instant unless a test says otherwise.
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture
def provider(oidc_provider: Provider) -> Provider:
    oidc_provider.now = NOW
    return oidc_provider


def config_for(provider: Provider, **changes: object) -> OidcConfig:
    values: dict[str, object] = {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "redirect_uri": provider.redirect_uri,
    }
    values.update(changes)
    return OidcConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def rp(provider: Provider) -> OidcClient:
    return OidcClient(config_for(provider))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        yield client


async def authorize(rp: OidcClient, http: httpx.AsyncClient) -> tuple[AuthorizationRequest, str]:
    """Play the browser: follow the authorisation URL, get sent back with a code."""
    request = await rp.authorization_request()
    response = await http.get(request.url)
    assert response.status_code == 302, response.text
    location = httpx.URL(response.headers["location"])
    assert str(location.copy_with(query=None)) == rp.config.redirect_uri
    params = dict(location.params)
    assert "error" not in params, params
    assert params["state"] == request.state
    return request, params["code"]


async def sign_in(rp: OidcClient, http: httpx.AsyncClient, now: datetime = NOW) -> IdentityClaims:
    request, code = await authorize(rp, http)
    return await rp.complete(code=code, code_verifier=request.code_verifier, nonce=request.nonce, now=now)


# -- the happy paths -------------------------------------------------------------------------------


async def test_authorization_url_asks_for_a_code_with_pkce_s256_and_a_nonce(
    provider: Provider, rp: OidcClient
) -> None:
    first = await rp.authorization_request()
    second = await rp.authorization_request()
    url = httpx.URL(first.url)
    assert str(url.copy_with(query=None)) == f"{provider.issuer}/authorize"
    params = dict(url.params)
    assert params["response_type"] == "code"
    assert params["client_id"] == provider.client_id
    assert params["redirect_uri"] == provider.redirect_uri
    assert params["scope"].split() == ["openid", "profile"]
    assert params["state"] == first.state
    assert params["nonce"] == first.nonce
    assert params["code_challenge_method"] == "S256"
    assert len(first.code_verifier) >= 43
    assert "code_verifier" not in params
    digest = hashlib.sha256(first.code_verifier.encode("ascii")).digest()
    assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    # Fresh secrets every time.
    assert {first.state, first.nonce, first.code_verifier}.isdisjoint(
        {second.state, second.nonce, second.code_verifier}
    )


async def test_sign_in(provider: Provider, rp: OidcClient, http: httpx.AsyncClient) -> None:
    identity = await sign_in(rp, http)
    assert identity.subject == DEFAULT_USER["sub"]
    assert identity.citizen_id == "001190012345"
    assert identity.full_name == "Trần Thị Thu Hà"
    assert identity.birth_date == date(1990, 5, 17)
    # Only "openid profile" was asked for: no e-mail, no phone.
    assert identity.email is None
    assert identity.phone is None
    assert identity.raw["iss"] == provider.issuer
    assert provider.token_auth_methods == ["client_secret_basic"]


async def test_sign_in_with_es256_and_email_and_phone_scopes(
    provider: Provider, http: httpx.AsyncClient
) -> None:
    provider.signing_alg = "ES256"
    rp = OidcClient(config_for(provider, scopes=("openid", "profile", "email", "phone")))
    identity = await sign_in(rp, http)
    assert identity.email == DEFAULT_USER["email"]
    assert identity.phone == DEFAULT_USER["phone_number"]
    assert identity.citizen_id == DEFAULT_USER["citizen_id"]


async def test_sign_in_on_the_real_clock(oidc_provider: Provider, http: httpx.AsyncClient) -> None:
    rp = OidcClient(config_for(oidc_provider))
    identity = await sign_in(rp, http, now=datetime.now(UTC))
    assert identity.citizen_id == DEFAULT_USER["citizen_id"]


async def test_claims_the_id_token_lacks_come_from_userinfo(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    provider.id_token_user_claims = set()  # the ID token carries only the protocol claims
    identity = await sign_in(rp, http)
    assert identity.full_name == "Trần Thị Thu Hà"
    assert identity.birth_date == date(1990, 5, 17)
    assert identity.citizen_id == DEFAULT_USER["citizen_id"]
    assert identity.raw["iss"] == provider.issuer  # the ID token's claims are kept


async def test_name_is_built_from_its_parts_when_there_is_no_name(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    del provider.user["name"]
    provider.user.update(family_name="Lê", middle_name="Văn", given_name="Tám")
    identity = await sign_in(rp, http)
    assert identity.full_name == "Lê Văn Tám"


async def test_userinfo_about_someone_else_is_refused(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    provider.id_token_user_claims = {"citizen_id"}
    provider.misbehave(userinfo_sub="vneid-somebody-else")
    with pytest.raises(OidcError) as caught:
        await sign_in(rp, http)
    assert caught.value.code == "USERINFO_FAILED"


async def test_a_partial_birthdate_is_not_a_date(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    provider.user["birthdate"] = "0000-05-17"
    identity = await sign_in(rp, http)
    assert identity.birth_date is None
    assert identity.raw["birthdate"] == "0000-05-17"


# -- a lying provider ------------------------------------------------------------------------------

# (misbehaviour, expected code, what the refusal must be about)
MISBEHAVIOURS: list[tuple[Misbehaviour, str, str]] = [
    ({"wrong_key": True}, "INVALID_ID_TOKEN", "does not publish"),
    ({"wrong_key": True, "forge_kid": True}, "INVALID_ID_TOKEN", "BadSignatureError"),
    ({"alg": "none"}, "INVALID_ID_TOKEN", "UnsupportedAlgorithmError"),
    ({"alg": "HS256"}, "INVALID_ID_TOKEN", "UnsupportedAlgorithmError"),
    ({"iss": "https://sso.dichvucong.gov.vn.evil.example"}, "INVALID_ID_TOKEN", "iss"),
    ({"aud": "another-client"}, "INVALID_ID_TOKEN", "(aud)"),
    ({"aud": [CLIENT_ID, "another-client"]}, "INVALID_ID_TOKEN", "no azp"),
    ({"aud": [CLIENT_ID, "another-client"], "azp": "another-client"}, "INVALID_ID_TOKEN", "(azp)"),
    ({"azp": "another-client"}, "INVALID_ID_TOKEN", "(azp)"),
    ({"expired": True}, "INVALID_ID_TOKEN", "expired"),
    ({"iat_skew": 120}, "INVALID_ID_TOKEN", "in the future"),
    ({"nonce": "a-nonce-from-another-login"}, "NONCE_MISMATCH", "nonce"),
    ({"omit_citizen_id": True}, "MISSING_CITIZEN_ID", "citizen_id"),
]


@pytest.mark.parametrize(
    ("misbehaviour", "code", "reason"),
    MISBEHAVIOURS,
    ids=["+".join(f"{k}={v}" for k, v in m.items()) for m, _, _ in MISBEHAVIOURS],
)
async def test_a_misbehaving_provider_is_refused(
    provider: Provider,
    rp: OidcClient,
    http: httpx.AsyncClient,
    misbehaviour: Misbehaviour,
    code: str,
    reason: str,
) -> None:
    provider.misbehave(**misbehaviour)
    with pytest.raises(OidcError) as caught:
        await sign_in(rp, http)
    assert caught.value.code == code, caught.value
    assert reason in caught.value.message, caught.value


@pytest.mark.parametrize(
    "citizen_id", ["12345", "0011900123456", "00119001234x", "００１１９００１２３４５", 1190012345]
)
async def test_a_citizen_id_that_is_not_12_digits_is_refused(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient, citizen_id: object
) -> None:
    provider.user["citizen_id"] = citizen_id
    with pytest.raises(OidcError) as caught:
        await sign_in(rp, http)
    assert caught.value.code == "INVALID_CITIZEN_ID"


@pytest.mark.parametrize(
    "misbehaviour",
    [
        {"aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID},
        {"aud": [CLIENT_ID]},
        {"iat_skew": 30},  # clock skew within the 60 s leeway
    ],
    ids=["several audiences with azp", "audience list", "iat slightly ahead"],
)
async def test_what_the_specification_allows_is_accepted(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient, misbehaviour: Misbehaviour
) -> None:
    provider.misbehave(**misbehaviour)
    identity = await sign_in(rp, http)
    assert identity.citizen_id == DEFAULT_USER["citizen_id"]


async def test_a_token_that_expires_exactly_now_is_expired(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    exp = NOW + timedelta(minutes=5)  # the provider's ID token lifetime
    request, code = await authorize(rp, http)
    just_before = exp - timedelta(seconds=1)
    await rp.complete(code=code, code_verifier=request.code_verifier, nonce=request.nonce, now=just_before)
    request, code = await authorize(rp, http)
    with pytest.raises(OidcError) as caught:
        await rp.complete(code=code, code_verifier=request.code_verifier, nonce=request.nonce, now=exp)
    assert caught.value.code == "INVALID_ID_TOKEN"


async def test_the_nonce_must_be_the_one_of_this_login(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    other = await rp.authorization_request()
    request, code = await authorize(rp, http)
    with pytest.raises(OidcError) as caught:
        await rp.complete(code=code, code_verifier=request.code_verifier, nonce=other.nonce, now=NOW)
    assert caught.value.code == "NONCE_MISMATCH"


# -- keys ------------------------------------------------------------------------------------------


async def test_rotated_keys_are_fetched_once_more(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    await sign_in(rp, http)
    await sign_in(rp, http)
    assert provider.jwks_requests == 1  # cached
    provider.rotate_keys()
    identity = await sign_in(rp, http)
    assert identity.citizen_id == DEFAULT_USER["citizen_id"]
    assert provider.jwks_requests == 2


async def test_an_unknown_key_is_looked_up_once_then_refused(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    await sign_in(rp, http)
    provider.misbehave(wrong_key=True)
    with pytest.raises(OidcError) as caught:
        await sign_in(rp, http)
    assert caught.value.code == "INVALID_ID_TOKEN"
    assert provider.jwks_requests == 2


# -- the code exchange -----------------------------------------------------------------------------


async def test_a_code_cannot_be_used_twice(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    request, code = await authorize(rp, http)
    await rp.complete(code=code, code_verifier=request.code_verifier, nonce=request.nonce, now=NOW)
    with pytest.raises(OidcError) as caught:
        await rp.complete(code=code, code_verifier=request.code_verifier, nonce=request.nonce, now=NOW)
    assert caught.value.code == "TOKEN_EXCHANGE_FAILED"
    assert "invalid_grant" in caught.value.message


async def test_a_wrong_code_verifier_is_refused_by_the_provider(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    request, code = await authorize(rp, http)
    other = await rp.authorization_request()
    with pytest.raises(OidcError) as caught:
        await rp.complete(code=code, code_verifier=other.code_verifier, nonce=request.nonce, now=NOW)
    assert caught.value.code == "TOKEN_EXCHANGE_FAILED"
    assert "invalid_grant" in caught.value.message
    # The failed attempt consumed the code.
    with pytest.raises(OidcError) as again:
        await rp.complete(code=code, code_verifier=request.code_verifier, nonce=request.nonce, now=NOW)
    assert again.value.code == "TOKEN_EXCHANGE_FAILED"


async def test_an_expired_code_is_refused(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    request, code = await authorize(rp, http)
    provider.now = NOW + timedelta(seconds=61)
    with pytest.raises(OidcError) as caught:
        await rp.complete(code=code, code_verifier=request.code_verifier, nonce=request.nonce, now=NOW)
    assert caught.value.code == "TOKEN_EXCHANGE_FAILED"


async def test_a_wrong_client_secret_is_refused(provider: Provider, http: httpx.AsyncClient) -> None:
    rp = OidcClient(config_for(provider, client_secret="not-the-secret"))
    with pytest.raises(OidcError) as caught:
        await sign_in(rp, http)
    assert caught.value.code == "TOKEN_EXCHANGE_FAILED"
    assert "invalid_client" in caught.value.message


async def test_an_unknown_code_is_refused(provider: Provider, rp: OidcClient) -> None:
    request = await rp.authorization_request()
    with pytest.raises(OidcError) as caught:
        await rp.complete(code="made-up", code_verifier=request.code_verifier, nonce=request.nonce, now=NOW)
    assert caught.value.code == "TOKEN_EXCHANGE_FAILED"


async def test_now_must_be_timezone_aware(rp: OidcClient) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await rp.complete(code="c", code_verifier="v" * 43, nonce="n", now=datetime(2026, 11, 26, 9, 0))  # noqa: DTZ001


# -- discovery -------------------------------------------------------------------------------------


async def test_discovery_with_a_mismatched_issuer_fails(provider: Provider, rp: OidcClient) -> None:
    provider.misbehave(metadata_issuer="https://sso.dichvucong.gov.vn")
    with pytest.raises(OidcError) as caught:
        await rp.authorization_request()
    assert caught.value.code == "DISCOVERY_FAILED"


async def test_the_issuer_is_compared_exactly(provider: Provider) -> None:
    rp = OidcClient(config_for(provider, issuer=provider.issuer + "/"))
    with pytest.raises(OidcError) as caught:
        await rp.metadata()
    assert caught.value.code == "DISCOVERY_FAILED"


async def test_discovery_is_cached(provider: Provider, rp: OidcClient) -> None:
    first = await rp.metadata()
    provider.misbehave(metadata_issuer="https://elsewhere.example")
    assert await rp.metadata() == first
    assert first["token_endpoint"] == f"{provider.issuer}/token"


async def test_an_unreachable_provider_fails_discovery() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rp = OidcClient(
        OidcConfig(
            issuer=f"http://127.0.0.1:{port}", client_id="c", client_secret="s", redirect_uri="https://x/cb"
        )
    )
    with pytest.raises(OidcError) as caught:
        await rp.metadata()
    assert caught.value.code == "DISCOVERY_FAILED"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, text="maintenance"),
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"issuer": "https://idp.example"}),  # no endpoints
    ],
    ids=["503", "html", "array", "no endpoints"],
)
async def test_a_broken_discovery_document_fails(answer: httpx.Response) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return answer

    transport = httpx.MockTransport(handler)
    rp = OidcClient(
        OidcConfig(
            issuer="https://idp.example", client_id="c", client_secret="s", redirect_uri="https://x/cb"
        ),
        transport=transport,
    )
    with pytest.raises(OidcError) as caught:
        await rp.metadata()
    assert caught.value.code == "DISCOVERY_FAILED"
    assert seen == ["https://idp.example/.well-known/openid-configuration"]


# -- the provider itself (it is test equipment, but it must be right) --------------------------------


async def test_provider_shows_an_error_instead_of_redirecting_to_an_unregistered_address(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient
) -> None:
    request = await rp.authorization_request()
    url = httpx.URL(request.url)
    for changed in (
        url.copy_set_param("redirect_uri", "https://evil.example/cb"),
        url.copy_set_param("client_id", "someone-else"),
        url.copy_remove_param("redirect_uri"),
    ):
        response = await http.get(changed)
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({}, "access_denied"),
    ],
    ids=["no challenge", "plain", "no method", "implicit", "no openid", "user cancels"],
)
async def test_provider_redirects_back_with_errors(
    provider: Provider, rp: OidcClient, http: httpx.AsyncClient, change: dict[str, str | None], error: str
) -> None:
    if not change:
        provider.misbehave(deny_login=True)
    request = await rp.authorization_request()
    url = httpx.URL(request.url)
    for name, value in change.items():
        url = url.copy_remove_param(name) if value is None else url.copy_set_param(name, value)
    response = await http.get(url)
    assert response.status_code == 302
    params = dict(httpx.URL(response.headers["location"]).params)
    assert params["error"] == error
    assert params["state"] == request.state
    assert "code" not in params


async def test_provider_token_endpoint(provider: Provider, rp: OidcClient, http: httpx.AsyncClient) -> None:
    token_url = f"{provider.issuer}/token"

    async def fresh_code() -> tuple[AuthorizationRequest, dict[str, str]]:
        request, code = await authorize(rp, http)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": provider.redirect_uri,
            "code_verifier": request.code_verifier,
        }
        return request, form

    basic = (provider.client_id, provider.client_secret)

    # Wrong secret: 401 with a challenge.
    _, form = await fresh_code()
    response = await http.post(token_url, data=form, auth=(provider.client_id, "wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")

    # No client authentication at all.
    response = await http.post(token_url, data=form)
    assert response.status_code == 401

    # Two client authentication methods at once.
    response = await http.post(token_url, data={**form, "client_secret": provider.client_secret}, auth=basic)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"

    # Unsupported grant type.
    response = await http.post(token_url, data={**form, "grant_type": "password"}, auth=basic)
    assert response.json()["error"] == "unsupported_grant_type"

    # redirect_uri must be the one of the authorisation request.
    _, form = await fresh_code()
    response = await http.post(token_url, data={**form, "redirect_uri": "https://x/cb"}, auth=basic)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"

    # client_secret_post works; the answer is not to be cached.
    _, form = await fresh_code()
    response = await http.post(
        token_url, data={**form, "client_id": provider.client_id, "client_secret": provider.client_secret}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert set(token) >= {"access_token", "token_type", "expires_in", "id_token"}

    userinfo_url = f"{provider.issuer}/userinfo"
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    userinfo = await http.get(userinfo_url, headers=bearer)
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == DEFAULT_USER["sub"]
    assert "email" not in userinfo.json()  # not in the granted scopes

    # Replaying the code fails and revokes the access token it gave.
    response = await http.post(token_url, data=form, auth=basic)
    assert response.json()["error"] == "invalid_grant"
    assert (await http.get(userinfo_url, headers=bearer)).status_code == 401
    assert (await http.get(userinfo_url)).status_code == 401
