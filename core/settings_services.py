"""The outside services among the settings: the national e-identity, the e-mail and SMS senders, Zalo,
the payment gateway and the national public service portal — where to reach each and with what
credentials, and the checks that a service switched on is configured whole. Each is documented in
docs/configuration.md."""

from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings


class OutsideServices(BaseSettings):
    """The services we speak to but do not run (part of `core.settings.Settings`)."""

    national_id_issuer: str | None = Field(
        None, description="OpenID Connect issuer of the national e-identity (VNeID / national portal)."
    )
    national_id_client_id: str | None = None
    national_id_client_secret: str | None = None
    national_id_redirect_uri: str | None = Field(
        None, description="The front end's callback URL registered at the identity provider."
    )
    national_id_citizen_id_claim: str = Field("citizen_id", description="Claim carrying the citizen ID.")
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

    @model_validator(mode="after")
    def _national_id_complete(self) -> Self:
        parts = (self.national_id_client_id, self.national_id_client_secret, self.national_id_redirect_uri)
        if self.national_id_issuer and not all(parts):
            raise ValueError(
                "NATIONAL_ID_ISSUER needs NATIONAL_ID_CLIENT_ID, NATIONAL_ID_CLIENT_SECRET and "
                "NATIONAL_ID_REDIRECT_URI"
            )
        return self

    @model_validator(mode="after")
    def _national_portal_complete(self) -> Self:
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
    def _senders_complete(self) -> Self:
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
    def _payment_complete(self) -> Self:
        if self.vnpay_pay_url and not (self.vnpay_return_url and self.vnpay_merchants):
            raise ValueError("VNPAY_PAY_URL needs VNPAY_RETURN_URL and VNPAY_MERCHANTS")
        return self

    @property
    def vnpay_merchant_map(self) -> dict[str, tuple[str, str]]:
        """Agency code -> (merchant code, hash secret)."""
        return parse_merchants(self.vnpay_merchants)


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
