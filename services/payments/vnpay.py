"""The VNPay-style payment gateway protocol (cổng thanh toán), version 2.1.0: the signed redirect
URL that sends the payer to the gateway, and the verification of what the gateway sends back —
the browser return (vnp_ReturnUrl) and the server-to-server notification (IPN).

Signing: the `vnp_*` parameters other than the hash itself, sorted by name, each written
`name=quote_plus(value)` and joined by `&`; the signature is the lowercase hex HMAC-SHA512 of
that string under the merchant's hash secret, sent as `vnp_SecureHash`. Amounts travel in
hundredths of a đồng (VND × 100); times are `yyyyMMddHHmmss` in Vietnam time (GMT+7).

This module is pure: no I/O, no clock. The payment flow (orders, idempotent callbacks,
reconciliation by the gateway's query call, refunds) is built on it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote_plus

VERSION = "2.1.0"
VIETNAM = timezone(timedelta(hours=7), "ICT")
TIME_FORMAT = "%Y%m%d%H%M%S"
HASH_PARAMS = frozenset({"vnp_SecureHash", "vnp_SecureHashType"})

# Answers to the IPN, as the gateway expects them (RspCode, Message).
IPN_CONFIRMED = ("00", "Confirm Success")
IPN_ORDER_NOT_FOUND = ("01", "Order not found")
IPN_ALREADY_CONFIRMED = ("02", "Order already confirmed")
IPN_INVALID_AMOUNT = ("04", "invalid amount")
IPN_INVALID_SIGNATURE = ("97", "Invalid signature")
IPN_UNKNOWN_ERROR = ("99", "Unknown error")


def gateway_time(moment: datetime) -> str:
    """A moment as the gateway writes it: Vietnam local time, `yyyyMMddHHmmss`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(VIETNAM).strftime(TIME_FORMAT)


def parse_gateway_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=VIETNAM).astimezone(UTC)


def canonical(params: Mapping[str, str]) -> str:
    """The string the signature covers: the hash parameters themselves and empty values left out
    (as the gateway's reference merchant code does)."""
    return "&".join(
        f"{k}={quote_plus(str(v))}"
        for k, v in sorted(params.items())
        if k.startswith("vnp_") and k not in HASH_PARAMS and v != ""
    )


def sign(params: Mapping[str, str], secret: str) -> str:
    return hmac.new(secret.encode(), canonical(params).encode(), hashlib.sha512).hexdigest()


def verify(params: Mapping[str, str], secret: str) -> bool:
    """Whether `params` carry a valid `vnp_SecureHash` (constant-time comparison)."""
    given = params.get("vnp_SecureHash", "")
    return bool(given) and hmac.compare_digest(given.lower(), sign(params, secret))


@dataclass(frozen=True, slots=True)
class Merchant:
    """A fee account's merchant at the gateway (tài khoản thu phí của cơ quan)."""

    tmn_code: str
    hash_secret: str
    pay_url: str  # the gateway's payment page
    return_url: str  # where the payer's browser comes back to


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    txn_ref: str  # our order reference, unique per merchant
    amount: int  # VND
    order_info: str
    created_at: datetime
    expires_at: datetime
    client_ip: str
    locale: str = "vn"
    order_type: str = "billpayment"
    bank_code: str | None = None


def payment_url(merchant: Merchant, request: PaymentRequest) -> str:
    """The signed URL that sends the payer to the gateway's payment page."""
    if request.amount <= 0:
        raise ValueError("amount must be positive")
    params = {
        "vnp_Version": VERSION,
        "vnp_Command": "pay",
        "vnp_TmnCode": merchant.tmn_code,
        "vnp_Amount": str(request.amount * 100),
        "vnp_CurrCode": "VND",
        "vnp_TxnRef": request.txn_ref,
        "vnp_OrderInfo": request.order_info,
        "vnp_OrderType": request.order_type,
        "vnp_Locale": request.locale,
        "vnp_ReturnUrl": merchant.return_url,
        "vnp_IpAddr": request.client_ip,
        "vnp_CreateDate": gateway_time(request.created_at),
        "vnp_ExpireDate": gateway_time(request.expires_at),
    }
    if request.bank_code:
        params["vnp_BankCode"] = request.bank_code
    query = canonical(params)
    return f"{merchant.pay_url}?{query}&vnp_SecureHash={sign(params, merchant.hash_secret)}"


@dataclass(frozen=True, slots=True)
class Notification:
    """What the gateway reports about one payment (return URL or IPN), once its signature holds."""

    tmn_code: str
    txn_ref: str
    amount: int  # VND
    response_code: str  # vnp_ResponseCode: "00" is success
    transaction_status: str  # vnp_TransactionStatus: "00" is success
    transaction_no: str  # the gateway's own transaction number
    bank_code: str
    paid_at: datetime | None

    @property
    def succeeded(self) -> bool:
        return self.response_code == "00" and self.transaction_status == "00"


class BadNotification(ValueError):
    """A callback that is not signed by the merchant's secret or is malformed."""

    def __init__(self, answer: tuple[str, str]) -> None:
        super().__init__(answer[1])
        self.answer = answer


def read_notification(params: Mapping[str, str], merchant: Merchant) -> Notification:
    """Check a callback's signature and merchant and read it; raise BadNotification otherwise.
    The caller still checks the order exists, the amount matches and it is not settled yet."""
    if not verify(params, merchant.hash_secret):
        raise BadNotification(IPN_INVALID_SIGNATURE)
    try:
        amount_cents = int(params["vnp_Amount"])
        notification = Notification(
            tmn_code=params["vnp_TmnCode"],
            txn_ref=params["vnp_TxnRef"],
            amount=amount_cents // 100,
            response_code=params["vnp_ResponseCode"],
            transaction_status=params.get("vnp_TransactionStatus", params["vnp_ResponseCode"]),
            transaction_no=params.get("vnp_TransactionNo", ""),
            bank_code=params.get("vnp_BankCode", ""),
            paid_at=parse_gateway_time(params["vnp_PayDate"]) if params.get("vnp_PayDate") else None,
        )
    except (KeyError, ValueError) as exc:
        raise BadNotification(IPN_UNKNOWN_ERROR) from exc
    if amount_cents % 100 or notification.tmn_code != merchant.tmn_code:
        raise BadNotification(IPN_INVALID_AMOUNT if amount_cents % 100 else IPN_ORDER_NOT_FOUND)
    return notification


def ipn_answer(answer: tuple[str, str]) -> dict[str, str]:
    """The JSON body the IPN endpoint answers with."""
    return {"RspCode": answer[0], "Message": answer[1]}
