"""Schemathesis against the GraphQL schema of a real app process: every query and mutation,
with generated arguments and selections, for an anonymous caller and for a system administrator
(who reaches furthest). Bounded (a few examples per operation, derandomised so CI is repeatable).

Checked on every answer (`_check`): no server error (HTTP 5xx), a GraphQL response, no masked
error — "Lỗi hệ thống…" means an exception escaped a resolver, a bug whatever the input — no
null in a non-null field, and a stable machine code on every execution error. (Schemathesis's
own response check counts every GraphQL error as a server failure, including the answers we
give on purpose to bad input — a bad cursor, a page too large — so it is not used.)
"""

from __future__ import annotations

from typing import Any

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
