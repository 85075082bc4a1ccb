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
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"  # the province's local time unless TIMEZONE says otherwise
DEFAULT_PROVINCE = "Phú Thọ"  # the demo's province (seed/demo_catalog.json)


def system_name(province: str) -> str:
    """The service's name as citizens read it — pages' footers, issued documents, messages:
    «… tỉnh Phú Thọ»; a name given with its kind («thành phố Hà Nội», «tỉnh …») is kept as is."""
    kind = "" if province.lower().startswith(("tỉnh ", "thành phố ")) else "tỉnh "
    return f"Hệ thống thông tin giải quyết thủ tục hành chính {kind}{province}"


# An agency's electronic identifier: QCVN 102:2016 V1V2V3.Z1Z2.Y1Y2.MX1X2 (000.00.31.H34); the
# groups may take three digits, as the codes issued after the 1 July 2025 reorganisation do where a
# merged province numbers more than 99 units (unverified; AGENCY_ELECTRONIC_ID_PATTERN overrides it).
ELECTRONIC_ID_DEFAULT = r"^\d{3}\.\d{2,3}\.\d{2,3}\.[A-Z]\d{2,3}$"

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


_SESSION = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$"


class Settings(BaseSettings):
    """Process-wide settings. Names are the environment variables, upper-cased."""

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

    national_id_issuer: str | None = Field(
        None, description="OpenID Connect issuer of the national e-identity (VNeID / national portal)."
    )
    national_id_client_id: str | None = None
    national_id_client_secret: str | None = None
    national_id_redirect_uri: str | None = Field(
        None, description="The front end's callback URL registered at the identity provider."
    )
    national_id_citizen_id_claim: str = Field("citizen_id", description="Claim carrying the citizen ID.")
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
    retention_years: int = Field(
        10, ge=1, le=100, description="Years archived dossiers' files are kept at least (retain_until)."
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public address printed in QR codes (lookup and verification links).",
    )
    on_time_policy: Literal["DECISION_766", "DECREE_61_ART_19"] = Field(
        "DECISION_766",
        description="How a dossier paused for the applicant's supplement is judged on time "
        "(services/dossiers/ontime.py): DECISION_766, the national portal's formula (the waiting time "
        "subtracted, a second supplement request late), or DECREE_61_ART_19 (a request within 3 "
        "working days of reception restarts the time, with a new appointment).",
    )
    feedback_answer_days: int = Field(
        15,
        ge=1,
        le=60,
        description="Working days the competent agency has to answer a forwarded question or feedback "
        "(15: the time to handle feedback that the Decision 766 index scores, indicator 5.1).",
    )
    apology_lead_working_days: float = Field(
        1,
        ge=0,
        le=10,
        description="Working days before the deadline by which an apology (form 04) must come at the "
        "latest (Decree 61/2018 art. 19: one day; a multiple of 0.5).",
    )
    apology_max_moves: int = Field(
        1,
        ge=1,
        le=5,
        description="How many times a dossier's result date may be moved (Decree 61/2018: once).",
    )
    apology_signer: Literal["LATE_AGENCY_LEADER", "RECEIVING_AGENCY_LEADER", "ACTING_OFFICER"] = Field(
        "LATE_AGENCY_LEADER",
        description="Who signs the apology (form 04): a leader of the agency holding the late step, a "
        "leader of the receiving unit, or the officer who records it.",
    )
    feedback_focal_agency: str | None = Field(
        None,
        description="Where the search starts for the agency that receives feedback not about a named "
        "agency, procedure or dossier: the nearest one-stop unit with a focal point, this one or below "
        "(services/feedback/routing.py). Unset: from the top of the tree.",
    )
    smtp_host: str | None = Field(
        None,
        description="SMTP relay for e-mail notifications; unset: e-mails are caught in development "
        "(`dvc messages`), refused in production.",
    )
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_sender: str | None = Field(None, description="From address of notifications.")
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = Field(True, description="Require STARTTLS.")
    smtp_tls: bool = Field(False, description="Implicit TLS (port 465).")
    sms_sender: str = Field("DVC", description="SMS brandname.")
    notifications_interval_seconds: float = Field(2.0, gt=0, le=600)
    sms_gateway_url: str | None = Field(
        None,
        description="The SMS gateway's send endpoint (HTTP POST JSON); unset: SMS are caught in "
        "development (`dvc messages`), refused in production.",
    )
    sms_gateway_key: str | None = Field(
        None, description="API key for the SMS gateway; also signs inbound messages to /sms/inbound."
    )
    vnpay_pay_url: str | None = Field(
        None, description="The VNPay-style gateway's payment page. Unset: online payment is off."
    )
    vnpay_return_url: str | None = Field(
        None, description="Where the gateway sends the payer's browser back (the front end's page)."
    )
    vnpay_merchants: str = Field(
        "",
        description="Each agency's fee-account merchant at the gateway: "
        "AGENCY_CODE=TMN_CODE:HASH_SECRET, comma-separated.",
    )
    vnpay_api_url: str | None = Field(
        None,
        description="The gateway's merchant web API (querydr, refund), e.g. "
        "https://…/merchant_webapi/api/transaction. Unset: no reconciliation by query, no refunds sent.",
    )
    payment_gateway: str = Field(
        "vnpay",
        description="The gateway implementation: `vnpay`, or `package.module:factory` for another one.",
    )
    payment_gateway_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Timeout of each call to the gateway's API."
    )
    payment_settle_after_minutes: int = Field(
        20,
        ge=1,
        description="A payment still pending this long after it was started is settled by asking the "
        "gateway (reconciliation).",
    )
    payment_jobs_interval_seconds: int = Field(
        300,
        ge=0,
        description="How often each app process runs payment reconciliation and refunds (0: never; use "
        "`dvc payments-settle`).",
    )
    national_portal_url: str | None = Field(
        None,
        description="Base URL of the national public service portal's integration API (Cổng Dịch vụ công "
        "quốc gia): dossier events go to <URL>/hoso/dongbo, reconciliation asks <URL>/hoso/trangthai. "
        "Unset: no national portal feed.",
    )
    national_portal_token_url: str | None = Field(
        None, description="The portal's OAuth2 token endpoint (client credentials grant)."
    )
    national_portal_client_id: str | None = None
    national_portal_client_secret: str | None = None
    national_portal_signing_secret: str | None = Field(
        None,
        min_length=32,
        description="Shared HMAC key: signs what we send to the portal and verifies dossiers it submits "
        "to POST /national-portal/dossiers (unset: that endpoint answers 503).",
    )
    national_portal_clock_skew_seconds: int = Field(
        300, ge=30, le=3600, description="How old (or early) a signed portal request may be."
    )
    national_pakn_feed: bool = Field(
        True,
        description="Share feedback (phản ánh, kiến nghị) with the national feedback system through the "
        "national portal connection (<NATIONAL_PORTAL_URL>/pakn/dongbo) when that is configured.",
    )
    # --- Zalo (ZNS notifications, OA lookup) ---
    zalo_zns_url: str = Field(
        "https://business.openapi.zalo.me/message/template",
        description="Zalo Notification Service's send endpoint (POST JSON, header access_token).",
    )
    zalo_oauth_url: str = Field(
        "https://oauth.zaloapp.com/v4/oa/access_token",
        description="Zalo's OAuth v4 endpoint for the Official Account (refresh-token grant).",
    )
    zalo_oa_message_url: str = Field(
        "https://openapi.zalo.me/v3.0/oa/message/cs",
        description="The Official Account's consultation-message endpoint (replies to lookups by Zalo).",
    )
    zalo_app_id: str | None = Field(None, description="The Zalo app id of the Official Account.")
    zalo_secret_key: str | None = Field(None, description="The Zalo app's secret key (OAuth).")
    zalo_refresh_token: str | None = Field(
        None,
        description="The first refresh token of the Official Account; the ones Zalo answers later are "
        "kept in the database (each is used once). Unset (or no ZALO_ZNS_TEMPLATE_ID): Zalo messages "
        "are caught in development and wait in the outbox in production.",
    )
    zalo_zns_template_id: str | None = Field(
        None,
        description="The approved ZNS template notifications are sent with; its parameters are "
        "`tieu_de` (subject) and `noi_dung` (text).",
    )
    zalo_oa_secret_key: str | None = Field(
        None,
        description="The Official Account's secret key: verifies the signature of Zalo's webhook "
        "(POST /zalo/webhook, dossier lookup); unset: that endpoint answers 404.",
    )
    load_demo_data: bool = Field(True, description="Load the demo catalog once at start.")
    timezone: str = Field(DEFAULT_TIMEZONE, description="Local time of the province.")
    statistics_monthly: bool = Field(
        True,
        description="Read the statistics and the 766 index's whole months from the monthly "
        "pre-aggregate (dossier_fact_months), the edge days from the facts; off: everything from "
        "the facts.",
    )
    # The province's calendar (services.holidays.province_hours); a receiving unit may have its own.
    calendar_morning: str = Field(
        "07:30-11:30", pattern=_SESSION, description="Morning office session, local HH:MM-HH:MM."
    )
    calendar_afternoon: str = Field(
        "13:00-17:00", pattern=_SESSION, description="Afternoon office session, local HH:MM-HH:MM."
    )
    calendar_cutoff: str = Field(
        "16:30",
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$",
        description="A reception after this time counts from the next working day (empty: no cut-off).",
    )
    calendar_saturday: str = Field(
        "", pattern=rf"^({_SESSION[1:-1]})?$", description="Saturday session HH:MM-HH:MM (empty: none)."
    )
    calendar_saturday_counts: bool = Field(
        False, description="Whether the Saturday session's time counts towards time limits."
    )
    province_name: str = Field(
        DEFAULT_PROVINCE,
        min_length=1,
        max_length=60,
        pattern=r"\S",
        description="The province's name (in the system's name: pages, documents, messages); «tỉnh» is "
        "added unless it starts with «tỉnh» or «thành phố».",
    )
    paper_conversion_mark: str = Field(
        "BẢN CHUYỂN ĐỔI TỪ VĂN BẢN ĐIỆN TỬ",
        min_length=1,
        max_length=120,
        pattern=r"\S",
        description="The distinctive sign printed on every page of a paper conversion (Decree "
        "45/2020 art. 18.2 requires a sign but prescribes no wording).",
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

    # --- the legal map since 1 July 2025 (issue 16 item 9, 4; helper F) ---
    reception_anywhere_in_province: bool = Field(
        True,
        description="Decree 118/2025: any one-stop unit of the province receives a dossier of any "
        "procedure of the province, regardless of administrative boundary, and routes it to the competent "
        "agency (the code and the appointment follow the receiving unit). Off: only the units a procedure "
        "lists (or, none listed, those at its levels) receive it.",
    )
    agency_electronic_id_pattern: str = Field(
        ELECTRONIC_ID_DEFAULT,
        description="Regular expression an agency's electronic identifier (mã định danh điện tử, the "
        "prefix of dossier codes) must match. Default: the QCVN 102:2016 form V1V2V3.Z1Z2.Y1Y2.MX1X2 "
        "(000.00.31.H34) with two- or three-digit groups, as issued after the 2025 reorganisation "
        "(unverified: see docs/domain.md).",
    )

    @field_validator("agency_electronic_id_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"AGENCY_ELECTRONIC_ID_PATTERN is not a regular expression: {exc}") from exc
        return value

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

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone: fail at start, not at first use
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

    @model_validator(mode="after")
    def _national_id_complete(self) -> Settings:
        parts = (self.national_id_client_id, self.national_id_client_secret, self.national_id_redirect_uri)
        if self.national_id_issuer and not all(parts):
            raise ValueError(
                "NATIONAL_ID_ISSUER needs NATIONAL_ID_CLIENT_ID, NATIONAL_ID_CLIENT_SECRET and "
                "NATIONAL_ID_REDIRECT_URI"
            )
        return self

    @model_validator(mode="after")
    def _national_portal_complete(self) -> Settings:
        needed = (
            self.national_portal_token_url,
            self.national_portal_client_id,
            self.national_portal_client_secret,
            self.national_portal_signing_secret,
        )
        if self.national_portal_url and not all(needed):
            raise ValueError(
                "NATIONAL_PORTAL_URL needs NATIONAL_PORTAL_TOKEN_URL, NATIONAL_PORTAL_CLIENT_ID, "
                "NATIONAL_PORTAL_CLIENT_SECRET and NATIONAL_PORTAL_SIGNING_SECRET"
            )
        for url in (self.national_portal_url, self.national_portal_token_url):
            if url is not None and not url.startswith(("https://", "http://")):
                raise ValueError("NATIONAL_PORTAL_URL and NATIONAL_PORTAL_TOKEN_URL must be http(s) URLs")
        return self

    @model_validator(mode="after")
    def _senders_complete(self) -> Settings:
        if self.smtp_host and not self.smtp_sender:
            raise ValueError("SMTP_HOST needs SMTP_SENDER")
        if self.sms_gateway_url and not self.sms_gateway_key:
            raise ValueError("SMS_GATEWAY_URL needs SMS_GATEWAY_KEY")
        return self

    @field_validator("vnpay_merchants")
    @classmethod
    def _merchants_parse(cls, value: str) -> str:
        parse_merchants(value)
        return value

    @field_validator("payment_gateway")
    @classmethod
    def _gateway_named(cls, value: str) -> str:
        module, colon, attr = value.partition(":")
        if not (value == "vnpay" or (colon and module and attr)):
            raise ValueError("PAYMENT_GATEWAY is `vnpay` or `package.module:factory`")
        return value

    @model_validator(mode="after")
    def _payment_complete(self) -> Settings:
        if self.vnpay_pay_url and not (self.vnpay_return_url and self.vnpay_merchants):
            raise ValueError("VNPAY_PAY_URL needs VNPAY_RETURN_URL and VNPAY_MERCHANTS")
        return self

    @property
    def vnpay_merchant_map(self) -> dict[str, tuple[str, str]]:
        """Agency code -> (merchant code, hash secret)."""
        return parse_merchants(self.vnpay_merchants)

    @property
    def cors_origin_list(self) -> list[str]:
        return cors_list(self.cors_origins)

    @property
    def system_name(self) -> str:
        return system_name(self.province_name)

    @property
    def serves_graphiql(self) -> bool:
        """GRAPHIQL when set, else only in development."""
        return self.environment == "development" if self.graphiql is None else self.graphiql

    @property
    def https(self) -> bool:
        """Served over HTTPS (PUBLIC_BASE_URL): browsers are told to keep to it (HSTS)."""
        return self.public_base_url.startswith("https://")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def proxy_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def cors_list(value: str) -> list[str]:
    return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]


def parse_merchants(value: str) -> dict[str, tuple[str, str]]:
    """`H44.19=PTHO0001:secret,H44.20=…` -> {"H44.19": ("PTHO0001", "secret"), …}."""
    merchants: dict[str, tuple[str, str]] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        agency, _, account = item.partition("=")
        tmn_code, _, secret = account.partition(":")
        if not (agency.strip() and tmn_code.strip() and secret):
            raise ValueError("VNPAY_MERCHANTS: expected AGENCY_CODE=TMN_CODE:HASH_SECRET, comma-separated")
        merchants[agency.strip()] = (tmn_code.strip(), secret)
    return merchants


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
