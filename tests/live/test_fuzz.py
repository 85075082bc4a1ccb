"""Schemathesis against the GraphQL schema of a real app process: every query and mutation,
with generated arguments and selections, for an anonymous caller and for a system administrator
(who reaches furthest). Bounded (a few examples per operation, derandomised so CI is repeatable).

Checked on every answer (`_check`): no server error (HTTP 5xx), a GraphQL response, no masked
error — "Lỗi hệ thống…" means an exception escaped a resolver, a bug whatever the input — no
null in a non-null field, and a stable machine code on every execution error. (Schemathesis's
own response check counts every GraphQL error as a server failure, including the answers we
give on purpose to bad input — a bad cursor, a page too large — so it is not used.)

The REST routes (and raw bodies to /graphql) are fuzzed with Hypothesis alone (`_rest_request`):
generated path segments, query parameters and bodies — NUL, odd unicode, JSON that is not an
object — must never answer 5xx nor show a stack trace.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import orjson
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.graphql import nodes

from tests.conftest import ADMIN_TOKEN
from tests.live.conftest import LiveSite

MASKED = "Lỗi hệ thống, vui lòng thử lại sau."
EXAMPLES = 6

schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.integers(-5, 5).map(nodes.Int),
        st.text(max_size=8).map(nodes.String),
        st.booleans().map(nodes.Boolean),
        st.just(nodes.Object([])),
    ),
)

# File sizes: in range, and the edges a client may get wrong (negative, past 2^53).
schemathesis.graphql.scalar(
    "ByteCount",
    st.one_of(
        st.integers(0, 300_000_000),
        st.sampled_from([-1, 2**53 - 1, 2**53, 2**63]),
    ).map(nodes.Int),
)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _check(response: Any) -> None:
    """A GraphQL answer, never a failure: no 5xx; a JSON object with `data` or `errors`; no
    masked error (an exception escaped a resolver); no null in a non-null field (the schema
    broken); and every execution error (one with a `path`) carries a stable machine code."""
    sent = response.request.body
    assert response.status_code < 500, f"{response.status_code} for {sent!r}"
    kind = next((v[0] for k, v in response.headers.items() if k.lower() == "content-type" and v), "")
    if not kind.startswith("application/json"):
        # refused before GraphQL (e.g. a NUL character): a client error with a message
        assert 400 <= response.status_code < 500, f"{response.status_code} {response.text!r} for {sent!r}"
        assert response.text.strip(), f"an empty refusal for {sent!r}"
        return
    body = response.json()
    assert isinstance(body, dict), f"not a GraphQL answer for {sent!r}"
    assert "data" in body or "errors" in body, f"not a GraphQL answer for {sent!r}"
    for error in body.get("errors") or []:
        assert error.get("message") != MASKED, f"an exception escaped a resolver for {sent!r}"
        assert "non-nullable field" not in error.get("message", ""), f"{error} for {sent!r}"
        if error.get("path"):
            assert (error.get("extensions") or {}).get("code"), f"error without a code: {error} for {sent!r}"


def _fuzz(live_site: LiveSite, headers: dict[str, str]) -> int:
    """Every operation, a few generated cases each; returns how many operations ran.
    (Schemathesis's own pytest plugin does not run under pytest 9 yet, so this drives its
    strategies with Hypothesis directly.)"""
    loaded = schemathesis.graphql.from_url(f"{live_site.bases[0]}/graphql", timeout=30)
    operations = 0
    for result in loaded.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        operations += 1

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            _check(case.call(headers=headers))

        run()
    return operations


def test_anonymous_callers_get_answers_not_failures(live_site: LiveSite) -> None:
    assert _fuzz(live_site, {}) > 100  # every query and mutation of the schema


def test_an_administrator_gets_answers_not_failures(live_site: LiveSite) -> None:
    assert _fuzz(live_site, {"Authorization": f"Bearer {ADMIN_TOKEN}"}) > 100


# --- REST routes -------------------------------------------------------------------------------

ODD = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "%00",
        "..",
        "../../etc/passwd",
        "\u202egnp.exe",  # right-to-left override
        "Đăng ký khai sinh",
        "𝔡𝔳𝔠 🇻🇳",
        "\ufeff\u200b",
        "' OR 1=1 --",
        "%",
        "\\",
        "x" * 5000,
        "000.00.99.H44-261127-0001",
        "1.000894",
        "2026-13-45",
        "-1",
        "",
    ]
)
# any code point a URL or a form can carry (surrogates cannot be encoded), NUL and controls included
TEXT = st.one_of(ODD, st.text(st.characters(codec="utf-8"), max_size=24))
PARAM_NAMES = st.one_of(
    st.sampled_from(
        [
            "from",
            "to",
            "groupBy",
            "agencyCode",
            "levelCode",
            "fieldCode",
            "procedureCode",
            "service_request_id",
            "service_code",
            "status",
            "start_date",
            "end_date",
            "jurisdiction_id",
            "api_key",
            "vnp_TxnRef",
            "vnp_SecureHash",
            "vnp_Amount",
            "query",
            "variables",
            "operationName",
            "extensions",
            "grant_type",
            "client_id",
            "client_secret",
            "description",
            "email",
        ]
    ),
    TEXT,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _segment(text: str) -> str:
    return quote(text, safe="")


@st.composite
def _rest_request(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes | None, dict[str, str]]:
    """(method, path, query parameters, body, headers) for one of the REST routes or /graphql."""
    seg = _segment(draw(TEXT))
    route = draw(
        st.sampled_from(
            [
                ("GET", f"/tra-cuu/{seg}"),
                ("GET", f"/xac-minh/{seg}"),
                ("GET", "/open311/v2/services.json"),
                ("GET", f"/open311/v2/services/{seg}.json"),
                ("GET", "/open311/v2/requests.json"),
                ("GET", f"/open311/v2/requests/{seg}.json"),
                ("GET", f"/open311/v2/{seg}.{_segment(draw(TEXT))}"),
                ("GET", f"/open311/v2/tokens/{seg}.json"),
                ("POST", "/open311/v2/requests.json"),
                ("GET", "/exports/statistics.csv"),
                ("GET", "/exports/statistics.xlsx"),
                ("GET", f"/exports/statistics.{seg}"),
                ("GET", "/payments/vnpay/ipn"),
                ("POST", "/sms/inbound"),
                ("POST", "/national-portal/dossiers"),
                ("POST", "/oauth/token"),
                ("GET", "/graphql"),
                ("POST", "/graphql"),
                ("GET", f"/{seg}"),
            ]
        )
    )
    method, path = route
    params = draw(st.dictionaries(PARAM_NAMES, TEXT, max_size=4))
    if path.startswith("/exports/") and draw(st.booleans()):
        params = {"from": "2026-01-01", "to": "2026-02-01", **params}
    body: bytes | None = None
    headers: dict[str, str] = {}
    if method == "POST":
        kind = draw(st.sampled_from(["json", "form", "raw"]))
        if kind == "json":
            body = orjson.dumps(draw(JSON_VALUES))
            headers["content-type"] = "application/json"
        elif kind == "form":
            fields = draw(st.dictionaries(PARAM_NAMES, TEXT, max_size=5))
            body = "&".join(f"{_segment(k)}={_segment(v)}" for k, v in fields.items()).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        else:
            body = draw(st.binary(max_size=64))
            headers["content-type"] = draw(
                st.sampled_from(["application/json", "text/plain", "multipart/form-data"])
            )
    return method, path, params, body, headers


STACK_TRACE_MARKS = ("Traceback (most recent call last)", 'File "/', "asyncpg", "sqlalchemy")
# 503s given on purpose, each with its code: a feature not configured here, the database down
DELIBERATE_503 = ("NOT_CONFIGURED", "DATABASE_UNAVAILABLE")


def _check_rest(response: httpx.Response, sent: object) -> None:
    """No 5xx (but a deliberate 503 with its code), no stack trace or driver name in the body.
    (Refusals keep each route's own shape: GraphQL errors, Open311's list, a gateway's answer.)"""
    text = response.text
    if response.status_code == 503:
        assert any(code in text for code in DELIBERATE_503), f"503 {text[:300]!r} for {sent!r}"
    else:
        assert response.status_code < 500, f"{response.status_code} {text[:300]!r} for {sent!r}"
    for mark in STACK_TRACE_MARKS:
        assert mark not in text, f"{mark!r} in {text[:300]!r} for {sent!r}"


def test_rest_routes_answer_odd_input_without_failing(live_site: LiveSite) -> None:
    seen: set[int] = set()
    with httpx.Client(base_url=live_site.bases[0], timeout=30) as http:

        @settings(
            max_examples=300,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(request=_rest_request())
        def run(request: tuple[str, str, dict[str, str], bytes | None, dict[str, str]]) -> None:
            method, path, params, body, headers = request
            response = http.request(method, path, params=params, content=body, headers=headers)
            seen.add(response.status_code)
            _check_rest(response, (method, path, params, body))

        run()
    assert 400 in seen  # the generated input did reach the refusals
