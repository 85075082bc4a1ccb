"""The payment gateway interface (cổng thanh toán): what the payment flow needs from any gateway —
send the payer there, read its signed callback, ask it about an order, refund a payment — so
that another gateway than the VNPay-style one can be plugged in by a setting (PAYMENT_GATEWAY).

The flow (`orders`, `settlement`, `refunds`) speaks only to `PaymentGateway`; the wire protocol
lives in the implementation (`vnpay_gateway`).
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import httpx

from core.settings import Settings


class Outcome(enum.Enum):
    """What became of a callback; the gateway renders it in its own answer format."""

    CONFIRMED = "CONFIRMED"
    ALREADY_CONFIRMED = "ALREADY_CONFIRMED"  # replayed or reordered: nothing applied
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"


class BadCallback(ValueError):
    """A callback that is not genuine or not readable; `outcome` is what to answer."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


class GatewayError(Exception):
    """The gateway could not be asked, or its answer is not to be trusted (no signature, wrong
    signature, malformed, timeout): nothing is concluded, the call is tried again later."""


@dataclass(frozen=True, slots=True)
class Account:
    """A fee account's merchant at the gateway (tài khoản thu phí của cơ quan)."""

    merchant: str
    secret: str


@dataclass(frozen=True, slots=True)
class Order:
    """What the payer is sent to pay."""

    txn_ref: str
    amount: int  # VND
    order_info: str
    created_at: datetime
    expires_at: datetime
    client_ip: str


@dataclass(frozen=True, slots=True)
class Report:
    """What the gateway says about one payment (callback or query), once its signature holds."""

    merchant: str
    txn_ref: str
    amount: int  # VND
    succeeded: bool
    response_code: str
    transaction_no: str = ""
    bank_code: str = ""
    paid_at: datetime | None = None
    raw: Mapping[str, str] = field(default_factory=dict)


class QueryStatus(enum.Enum):
    PAID = "PAID"
    FAILED = "FAILED"
    PENDING = "PENDING"  # the payer may still be paying
    NOT_FOUND = "NOT_FOUND"  # the payer never reached the gateway
    REFUNDED = "REFUNDED"  # refunded, or being refunded by the gateway


@dataclass(frozen=True, slots=True)
class QueryResult:
    status: QueryStatus
    report: Report | None = None  # for PAID and FAILED


@dataclass(frozen=True, slots=True)
class RefundOrder:
    request_id: str  # new for every call
    txn_ref: str
    amount: int  # VND
    full: bool
    transaction_no: str  # the gateway's number of the payment refunded
    order_created_at: datetime  # when the payment order was created
    created_by: str  # who asked for it


class RefundStatus(enum.Enum):
    DONE = "DONE"
    REJECTED = "REJECTED"  # the gateway refuses it for good (amount, state of the payment…)


@dataclass(frozen=True, slots=True)
class RefundResult:
    status: RefundStatus
    code: str
    message: str
    transaction_no: str = ""


class PaymentGateway(Protocol):
    """One payment gateway's protocol."""

    name: str

    def checkout_url(self, account: Account, order: Order) -> str:
        """The signed URL sending the payer to the gateway's payment page."""
        ...

    def read_callback(self, params: Mapping[str, str], accounts: Mapping[str, Account]) -> Report:
        """Verify a callback (by merchant code in `accounts`) and read it; raise BadCallback."""
        ...

    def answer(self, outcome: Outcome) -> dict[str, str]:
        """The body answering a server-to-server callback."""
        ...

    async def query(
        self, account: Account, txn_ref: str, created_at: datetime, *, now: datetime
    ) -> QueryResult:
        """Ask the gateway about an order; raise GatewayError if no trustworthy answer came."""
        ...

    async def refund(self, account: Account, order: RefundOrder, *, now: datetime) -> RefundResult:
        """Ask the gateway to refund; raise GatewayError if the outcome is unknown."""
        ...


@dataclass(frozen=True)
class GatewaySettings:
    pay_url: str
    return_url: str
    api_url: str | None
    timeout_seconds: float = 10.0
    server_ip: str = "127.0.0.1"


GatewayFactory = Callable[[GatewaySettings, httpx.AsyncClient | None], PaymentGateway]


def _vnpay(settings: GatewaySettings, http: httpx.AsyncClient | None) -> PaymentGateway:
    from services.payments.vnpay_gateway import VNPayGateway

    return VNPayGateway(settings, http)


FACTORIES: dict[str, GatewayFactory] = {"vnpay": _vnpay}


def load_factory(name: str) -> GatewayFactory:
    """A registered gateway by name, or `package.module:factory` for one installed beside."""
    if name in FACTORIES:
        return FACTORIES[name]
    module, _, attr = name.partition(":")
    if not (module and attr):
        raise ValueError(f"unknown payment gateway {name!r}")
    factory: GatewayFactory = getattr(importlib.import_module(module), attr)
    return factory


@dataclass(frozen=True)
class GatewayConfig:
    """The gateway and each agency's fee account there (agency code -> account)."""

    gateway: PaymentGateway
    accounts: Mapping[str, Account]

    def account(self, agency_code: str) -> Account | None:
        return self.accounts.get(agency_code)

    def by_merchant(self) -> dict[str, Account]:
        """By merchant code, to check what the gateway sends."""
        return {a.merchant: a for a in self.accounts.values()}


def config_from_settings(settings: Settings, http: httpx.AsyncClient | None = None) -> GatewayConfig | None:
    """The configured gateway, or None when online payment is off."""
    if not (settings.vnpay_pay_url and settings.vnpay_return_url):
        return None
    gateway = load_factory(settings.payment_gateway)(
        GatewaySettings(
            pay_url=settings.vnpay_pay_url,
            return_url=settings.vnpay_return_url,
            api_url=settings.vnpay_api_url,
            timeout_seconds=settings.payment_gateway_timeout_seconds,
        ),
        http,
    )
    accounts = {
        agency: Account(code, secret) for agency, (code, secret) in settings.vnpay_merchant_map.items()
    }
    return GatewayConfig(gateway, accounts)
