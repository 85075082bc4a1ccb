"""Configuration from environment variables, validated once at start.

Every setting is documented in docs/configuration.md and `.env.example`. With no
`DATABASE_URL` and no `S3_ENDPOINT` the service starts its own embedded PostgreSQL and
S3-compatible store under `DATA_DIR` (see `devservers`).
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from core.settings_rules import (
    DEFAULT_PROVINCE,
    DEFAULT_TIMEZONE,
    ELECTRONIC_ID_DEFAULT,
    ProvinceRules,
    system_name,
)
from core.settings_services import OutsideServices, parse_merchants

__all__ = [
    "DEFAULT_PROVINCE",
    "DEFAULT_TIMEZONE",
    "ELECTRONIC_ID_DEFAULT",
    "Settings",
    "cors_list",
    "get_settings",
    "parse_merchants",
    "proxy_list",
    "system_name",
]

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


class Settings(ProvinceRules, OutsideServices):
    """Process-wide settings. Names are the environment variables, upper-cased: the process, its
    database, file store and scanner, security and limits here; the province's rules
    (`core.settings_rules`) and the outside services (`core.settings_services`) in their own
    modules."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses to start with settings that are only fit for trying the "
        "service: the production checklist, core/checklist.py (`dvc check-config`). `development` "
        "keeps the e-mails and SMS it has no channel for (`dvc messages`, /dev/messages).",
    )
    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port.")
    data_dir: Path = Field(Path("var"), description="Folder for the embedded servers' data.")

    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of an external PostgreSQL (postgresql+asyncpg://…). "
        "Unset: an embedded PostgreSQL is started under DATA_DIR.",
    )
    db_pool_size: int = Field(20, ge=1, le=200)
    db_pool_pre_ping: bool = Field(
        False,
        description="Test each pooled connection with a round trip (BEGIN; SELECT; ROLLBACK) before use. "
        "Off: connections the server closed are still replaced; only silently dead peers are not.",
    )

    # Read replicas (core.replicas): lag-tolerant public reads go to a healthy streaming replica.
    database_read_urls: str | None = Field(
        None, description="Comma-separated URLs of streaming replicas. Unset: every read on DATABASE_URL."
    )
    database_read_max_lag_seconds: float = Field(5.0, ge=0, description="A replica lagging more is skipped.")
    database_read_check_seconds: float = Field(2.0, gt=0, description="Replica health kept this long.")
    database_read_own_writes_seconds: float = Field(
        10.0, ge=0, description="After a mutation, its caller reads the primary this long."
    )

    s3_endpoint: str | None = Field(
        None, description="host:port of an external S3/MinIO. Unset: embedded SeaweedFS."
    )
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = Field("dvc-files", min_length=3, max_length=63)
    s3_secure: bool = Field(False, description="Use TLS to reach S3_ENDPOINT.")
    s3_region: str | None = None

    jwt_secret: str | None = Field(
        None,
        min_length=32,
        description="Key signing access tokens (HS256). Unset: generated into DATA_DIR/jwt-secret.",
    )
    jwt_issuer: str = Field("dvc", min_length=1, description="`iss` of access tokens.")
    access_token_minutes: int = Field(15, ge=1, le=60)
    refresh_token_days: int = Field(30, ge=1, le=365)

    jobs_interval_minutes: int = Field(
        360,
        ge=0,
        description="How often each app process runs the scheduled jobs (0: never; use `dvc run-jobs`).",
    )
    file_verify_batch: int = Field(
        200,
        ge=0,
        description="How many stored files the scheduled jobs re-read per run to compare size and SHA-256 "
        "with the database, those checked longest ago first (0: never).",
    )
    clamd_socket: str | None = Field(
        None,
        description="Unix socket of an external clamd. Unset: an embedded clamd runs under DATA_DIR/clamav.",
    )
    clamav_signatures: Path | None = Field(
        None,
        description="Signature folder for the embedded clamd. Unset: /var/lib/clamav when freshclam has "
        "filled it, else the project's test signature only (EICAR) — fine for trying, not for production. "
        "With CLAMAV_MIRROR_URL: the folder freshclam keeps current (for an external clamd, its "
        "DatabaseDirectory); unset then: DATA_DIR/clamav/database.",
    )
    clamav_mirror_url: str | None = Field(
        None,
        description="A ClamAV database mirror (e.g. a private mirror kept by cvdupdate, http(s)://…). Set: "
        "freshclam runs every CLAMAV_UPDATE_INTERVAL_SECONDS and clamd reloads what it fetched. Unset: no "
        "updates (the signature age is still reported in /readyz and /metrics).",
    )
    clamav_update_interval_seconds: float = Field(
        7200, gt=0, description="How often freshclam runs when CLAMAV_MIRROR_URL is set (default 2 hours)."
    )
    freshclam_command: str = Field(
        "freshclam",
        description="The freshclam executable (package clamav-freshclam); it is called with "
        "`--config-file=… --datadir=…`. Another program taking the same arguments may stand in (the tests "
        "use one that writes a signature file).",
    )
    clamav_signatures_stale_hours: float = Field(
        48,
        gt=0,
        description="Signatures older than this are reported stale in /readyz (and logged); the service "
        "stays ready.",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public address printed in QR codes (lookup and verification links).",
    )
    notifications_interval_seconds: float = Field(2.0, gt=0, le=600)
    load_demo_data: bool = Field(True, description="Load the demo catalog once at start.")
    statistics_monthly: bool = Field(
        True,
        description="Read the statistics and the 766 index's whole months from the monthly "
        "pre-aggregate (dossier_fact_months), the edge days from the facts; off: everything from "
        "the facts.",
    )
    graphiql: bool | None = Field(
        None,
        description="Serve GraphiQL at /graphql to browsers (its files from this server). Unset: on "
        "with ENVIRONMENT=development, off with ENVIRONMENT=production.",
    )
    persisted_queries: Path | None = Field(
        None,
        description="JSON file of the first-party clients' persisted queries, allow-listed by SHA-256 "
        "(an Apollo persisted-query manifest or a {hash: document} object).",
    )
    persisted_queries_only: bool = Field(
        False,
        description="Refuse queries that are not in PERSISTED_QUERIES (production, first-party clients).",
    )
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field(
        "text",
        pattern="^(text|json)$",
        description="Log lines: readable text, or JSON objects for collectors.",
    )
    compiled_reads: bool = Field(
        True,
        description="Answer query operations the planner can compile with one SQL statement "
        "(planner/); false: every operation runs through the executor.",
    )
    log_fallbacks: bool = Field(
        False, description="Log (at INFO) why each operation the planner did not compile fell back."
    )
    graphql_introspection: bool = Field(
        True, description="Answer introspection (`__schema`, `__type`); turn off in production if wanted."
    )
    graphql_max_depth: int = Field(20, ge=2, le=100, description="Deepest nesting of fields in an operation.")
    graphql_max_aliases: int = Field(
        30, ge=0, le=1000, description="Aliases in one operation, counted through fragments at each spread."
    )
    graphql_max_tokens: int = Field(5000, ge=100, le=100_000, description="Tokens in one GraphQL document.")
    graphql_max_cost: int = Field(
        100_000,
        ge=100,
        description="Estimated cost of one operation: each field 1, a list field multiplied by its "
        "first/limit (or GRAPHQL_DEFAULT_LIST_SIZE), nested levels multiplied.",
    )
    graphql_default_list_size: int = Field(
        10, ge=1, le=1000, description="Assumed length of a list field without first/limit, for the cost."
    )
    graphql_max_operations: int = Field(10, ge=1, le=100, description="Operations in one GraphQL document.")
    graphql_max_list_items: int = Field(
        100, ge=1, le=10_000, description="Items of any list argument or list in the variables."
    )
    request_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="An operation running longer is cancelled and rolled back."
    )
    db_statement_timeout_ms: int = Field(
        30_000, ge=1, le=3_600_000, description="PostgreSQL statement_timeout of the app's connections."
    )
    lookup_rate_limit: int = Field(
        60,
        ge=1,
        description="Public lookups (dossierStatus, inquiryTracking, /tra-cuu) per address, and per "
        "signed-in account, per LOOKUP_RATE_WINDOW_SECONDS.",
    )
    lookup_rate_window_seconds: int = Field(600, ge=1, le=86_400)
    sms_lookup_rate_limit: int = Field(
        10, ge=1, description="SMS lookups (/sms/inbound) per sender per SMS_LOOKUP_RATE_WINDOW_SECONDS."
    )
    sms_lookup_rate_window_seconds: int = Field(3600, ge=1, le=86_400)
    cors_origins: str = Field(
        "",
        description="Origins allowed to call the API from a browser, comma-separated "
        "(https://dichvucong.example.vn); empty: no CORS headers at all.",
    )
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest request body (GraphQL, SMS, OAuth…); larger: 413. The national portal "
        "endpoint has its own larger limit.",
    )
    body_read_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Longest wait for the next piece of a request body; slower: 408."
    )
    ws_connection_init_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="A websocket that sends no connection_init in time is closed."
    )
    http_keep_alive_seconds: int = Field(
        5, ge=1, le=300, description="Idle keep-alive connections are closed after this (uvicorn)."
    )
    http_limit_concurrency: int | None = Field(
        None,
        ge=1,
        description="Connections and tasks per process before new ones get 503 (uvicorn); unset: no cap.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP collector (e.g. http://127.0.0.1:4318): traces of HTTP requests and GraphQL "
        "operations are sent to <endpoint>/v1/traces. Unset: no tracing.",
    )
    otel_service_name: str = Field("dvc-one-stop", description="service.name of the traces.")
    metrics_token: str | None = Field(
        None,
        min_length=16,
        description="Bearer token required at /metrics; unset: /metrics is open (refused when "
        "ENVIRONMENT=production).",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (CIDR) of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed, e.g. 127.0.0.1 for nginx on the same host. "
        "Empty (the default): none — the TCP peer is the client, whatever headers it sends.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in proxy_list(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: {item!r} is not an address or network (e.g. 127.0.0.1, 10.0.0.0/24)"
                ) from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in cors_list(value):
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(
                    f"CORS_ORIGINS: {origin!r} is not an origin; expected scheme://host[:port], "
                    "comma-separated (e.g. https://dichvucong.example.vn), or *"
                )
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        return None if value is None else _asyncpg_url(value, "DATABASE_URL")

    @field_validator("database_read_urls")
    @classmethod
    def _read_urls(cls, value: str | None) -> str | None:
        urls = [url.strip() for url in (value or "").split(",") if url.strip()]
        return ",".join(_asyncpg_url(url, "DATABASE_READ_URLS") for url in urls) or None

    @model_validator(mode="after")
    def _persisted_complete(self) -> Settings:
        if self.persisted_queries_only and self.persisted_queries is None:
            raise ValueError("PERSISTED_QUERIES_ONLY needs PERSISTED_QUERIES")
        if self.persisted_queries is not None and not self.persisted_queries.is_file():
            raise ValueError("PERSISTED_QUERIES must name an existing file")
        return self

    @model_validator(mode="after")
    def _s3_complete(self) -> Settings:
        if self.s3_endpoint and not (self.s3_access_key and self.s3_secret_key):
            raise ValueError("S3_ENDPOINT needs S3_ACCESS_KEY and S3_SECRET_KEY")
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return cors_list(self.cors_origins)

    @property
    def serves_graphiql(self) -> bool:
        """GRAPHIQL when set, else only in development."""
        return self.environment == "development" if self.graphiql is None else self.graphiql

    @property
    def https(self) -> bool:
        """Served over HTTPS (PUBLIC_BASE_URL): browsers are told to keep to it (HSTS)."""
        return self.public_base_url.startswith("https://")


def proxy_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def cors_list(value: str) -> list[str]:
    return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def _asyncpg_url(value: str, name: str) -> str:
    """A PostgreSQL URL for SQLAlchemy's asyncpg driver."""
    if value.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + value.split("://", 1)[1]
    if not value.startswith("postgresql+asyncpg://"):
        raise ValueError(f"{name} must be a PostgreSQL URL (postgresql://…)")
    return value
