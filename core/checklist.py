"""The production checklist: settings that are fine for trying the service and wrong for serving
the public, checked by the service itself at start (docs/operations.md, "Production checklist").

Every check is listed once, here, with what it costs when ignored. Each finding has a level:

- `ERROR` refuses to start (`dvc serve` exits 2 before migrating; an app process started
  another way — `uvicorn app:app` — fails in its lifespan). Only with `ENVIRONMENT=production`.
- `WARNING` is logged at every start of every app process, and printed by `dvc check-config`.

`dvc check-config` prints every check with its outcome (`OK` included), so an operator sees the
whole list, not only what failed; it exits 1 when any check is an error.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.settings import Settings

log = logging.getLogger("dvc.checklist")

DEFAULT_PUBLIC_BASE_URL = str(Settings.model_fields["public_base_url"].default)
# Words of the placeholders in .env.example and deploy/dvc.env.example: a value holding one was
# copied, not generated.
PLACEHOLDERS = ("change-me", "changeme", "example", "placeholder", "replace", "your-", "xxxx", "...")
SHORTEST_SECRET = 16


class Level(enum.StrEnum):
    OK = "OK"
    WARNING = "WARNING"
    ERROR = "ERROR"


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    message: str


@dataclass(frozen=True)
class Check:
    name: str
    what: str  # what is checked, for `dvc check-config`
    run: Callable[[Settings], Iterator[tuple[Level, str]]]


def _production(settings: Settings) -> bool:
    return settings.environment == "production"


def _public_base_url(s: Settings) -> Iterator[tuple[Level, str]]:
    bad = Level.ERROR if _production(s) else Level.WARNING
    parts = urlsplit(s.public_base_url)
    host = parts.hostname or ""
    if s.public_base_url.rstrip("/") == DEFAULT_PUBLIC_BASE_URL or _loopback(host):
        yield (
            bad,
            f"PUBLIC_BASE_URL is {s.public_base_url}: every QR code and verification link printed on "
            "receipts and slips points at this machine's loopback address, which no citizen can open; "
            "set it to the public https:// address of the service",
        )
    elif _production(s) and parts.scheme != "https":
        yield (
            Level.ERROR,
            f"PUBLIC_BASE_URL is {s.public_base_url}: production is served over https (the links "
            "printed in QR codes, and HSTS, follow this address)",
        )


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secrets(s: Settings) -> Iterator[tuple[Level, str]]:
    if not _production(s):
        return
    if s.jwt_secret is None:
        yield (
            Level.ERROR,
            "JWT_SECRET is unset: each host would generate its own key into DATA_DIR, and tokens "
            "signed by one app process would be refused by another; set one random key (≥ 32 "
            "characters) in the environment file shared by every process",
        )
    for name, value in _configured_secrets(s):
        if len(value) < SHORTEST_SECRET:
            yield Level.ERROR, f"{name} is shorter than {SHORTEST_SECRET} characters: guessable"
        elif _placeholder(value):
            yield Level.ERROR, f"{name} looks like the example value it was copied from: generate a new one"


def _configured_secrets(s: Settings) -> Iterator[tuple[str, str]]:
    named = {
        "JWT_SECRET": s.jwt_secret,
        "S3_SECRET_KEY": s.s3_secret_key if s.s3_endpoint else None,
        "SMTP_PASSWORD": s.smtp_password,
        "SMS_GATEWAY_KEY": s.sms_gateway_key,
        "NATIONAL_ID_CLIENT_SECRET": s.national_id_client_secret,
        "NATIONAL_PORTAL_CLIENT_SECRET": s.national_portal_client_secret,
        "NATIONAL_PORTAL_SIGNING_SECRET": s.national_portal_signing_secret,
        "METRICS_TOKEN": s.metrics_token,
    }
    for name, value in named.items():
        if value is not None:
            yield name, value
    for agency, (_merchant, secret) in s.vnpay_merchant_map.items():
        yield f"VNPAY_MERCHANTS ({agency})", secret


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    return len(set(value)) <= 2 or any(word in lowered for word in PLACEHOLDERS)


def _metrics_token(s: Settings) -> Iterator[tuple[Level, str]]:
    if _production(s) and s.metrics_token is None:
        yield Level.ERROR, "METRICS_TOKEN is unset: /metrics would be open to anyone"


def _message_channels(s: Settings) -> Iterator[tuple[Level, str]]:
    """A real channel for every message the rules send (docs/configuration.md, "Messages"):
    e-mail for staff activation and resets, SMS for citizens known by a mobile number only.
    Development catches what has no channel (`services.caught`)."""
    if not _production(s):
        return
    if not s.smtp_host:
        yield (
            Level.ERROR,
            "SMTP_HOST is unset (set it with SMTP_SENDER): a new staff member's first-password code, "
            "password resets and e-mail verification codes are sent by e-mail",
        )
    if not s.sms_gateway_url:
        yield (
            Level.ERROR,
            "SMS_GATEWAY_URL is unset (set it with SMS_GATEWAY_KEY): citizens and organisations may "
            "register with a mobile number only, and its verification, reset and unlock codes go by SMS",
        )


def _embedded_servers(s: Settings) -> Iterator[tuple[Level, str]]:
    if _production(s) and not (s.database_url and s.s3_endpoint):
        yield (
            Level.ERROR,
            "DATABASE_URL and S3_ENDPOINT must both be set: the embedded PostgreSQL and object store "
            "are for trying the service (one per process, data under DATA_DIR, no backups of their own)",
        )


def _demo_data(s: Settings) -> Iterator[tuple[Level, str]]:
    if _production(s) and s.load_demo_data:
        yield (
            Level.ERROR,
            "LOAD_DEMO_DATA is true: an empty production database would get the demo catalog and "
            "demo accounts with known passwords; set LOAD_DEMO_DATA=false",
        )


def _graphiql(s: Settings) -> Iterator[tuple[Level, str]]:
    if _production(s) and s.serves_graphiql:
        yield (
            Level.WARNING,
            "GRAPHIQL is on: browsers opening /graphql get the GraphiQL page (harmless to the data, "
            "every operation is still authorised, but a public page the service does not need); "
            "set GRAPHIQL=false unless that is wanted",
        )


def _introspection(s: Settings) -> Iterator[tuple[Level, str]]:
    if _production(s) and s.graphql_introspection:
        yield (
            Level.WARNING,
            "GRAPHQL_INTROSPECTION is on: anyone can read the whole schema (it is also published as "
            "schema.graphql for integrators); set GRAPHQL_INTROSPECTION=false if it should not be browsable",
        )


def _trusted_proxies(s: Settings) -> Iterator[tuple[Level, str]]:
    if _production(s) and not s.trusted_proxies.strip():
        yield (
            Level.WARNING,
            "TRUSTED_PROXIES is empty: behind a reverse proxy every client has the proxy's address, "
            "so the lookup rate limits count all citizens as one; set it to the proxy's address "
            "(127.0.0.1 for nginx on the same host)",
        )


CHECKS: tuple[Check, ...] = (
    Check(
        "public-base-url",
        "PUBLIC_BASE_URL is the public https:// address (production: error; development: warning)",
        _public_base_url,
    ),
    Check(
        "secrets",
        f"production: JWT_SECRET set, no secret shorter than {SHORTEST_SECRET} characters or copied "
        "from an example (error)",
        _secrets,
    ),
    Check("metrics-token", "production: METRICS_TOKEN guards /metrics (error)", _metrics_token),
    Check(
        "message-channels",
        "production: SMTP_HOST and SMS_GATEWAY_URL, a real channel for every message (error)",
        _message_channels,
    ),
    Check("external-servers", "production: DATABASE_URL and S3_ENDPOINT set (error)", _embedded_servers),
    Check("demo-data", "production: LOAD_DEMO_DATA=false (error)", _demo_data),
    Check("graphiql", "production: GRAPHIQL=false (warning)", _graphiql),
    Check("introspection", "production: GRAPHQL_INTROSPECTION=false (warning)", _introspection),
    Check(
        "trusted-proxies", "production: TRUSTED_PROXIES names the reverse proxy (warning)", _trusted_proxies
    ),
)


def findings(settings: Settings) -> list[Finding]:
    """Every problem found (OK checks are not listed)."""
    return [Finding(check.name, level, message) for check in CHECKS for level, message in check.run(settings)]


def report(settings: Settings) -> list[tuple[Check, list[Finding]]]:
    """Every check with what it found (an empty list: OK), in the order of CHECKS."""
    return [
        (check, [Finding(check.name, level, message) for level, message in check.run(settings)])
        for check in CHECKS
    ]


class NotReadyForProduction(RuntimeError):
    def __init__(self, errors: list[Finding]) -> None:
        self.errors = errors
        lines = "\n".join(f"  - {e.message}" for e in errors)
        super().__init__(f"ENVIRONMENT=production refuses to start:\n{lines}")


def enforce(settings: Settings) -> list[Finding]:
    """At start: raise with every error; log every warning; the warnings are returned."""
    found = findings(settings)
    errors = [f for f in found if f.level is Level.ERROR]
    if errors:
        raise NotReadyForProduction(errors)
    warnings = [f for f in found if f.level is Level.WARNING]
    for finding in warnings:
        log.warning("configuration check %s: %s", finding.check, finding.message)
    return warnings
