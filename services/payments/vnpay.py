"""The VNPay-style payment gateway protocol (cổng thanh toán), version 2.1.0: the signed redirect
URL that sends the payer to the gateway, and the verification of what the gateway sends back —
the browser return (vnp_ReturnUrl) and the server-to-server notification (IPN).

Signing: the `vnp_*` parameters other than the hash itself, sorted by name, each written
`name=quote_plus(value)` and joined by `&`; the signature is the lowercase hex HMAC-SHA512 of
that string under the merchant's hash secret, sent as `vnp_SecureHash`. Amounts travel in
hundredths of a đồng (VND × 100); times are `yyyyMMddHHmmss` in Vietnam time (GMT+7).

The merchant web API (`/merchant_webapi/api/transaction`, JSON POST) answers the query
(`querydr`) and refund (`refund`) calls. There the signature is different: the HMAC-SHA512 of the
raw values joined by `|` in an order the gateway's documentation fixes per call (no sorting, no
URL encoding; an absent value is an empty string). Responses are signed the same way.

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

# The merchant web API: the fields each signature covers, in the documented order.
QUERY_REQUEST_FIELDS = (
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_TransactionDate",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
)
REFUND_REQUEST_FIELDS = (
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TransactionType",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_TransactionNo",
    "vnp_TransactionDate",
    "vnp_CreateBy",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
)
REFUND_RESPONSE_FIELDS = (
    "vnp_ResponseId",
    "vnp_Command",
    "vnp_ResponseCode",
    "vnp_Message",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_BankCode",
    "vnp_PayDate",
    "vnp_TransactionNo",
    "vnp_TransactionType",
    "vnp_TransactionStatus",
    "vnp_OrderInfo",
)
QUERY_RESPONSE_FIELDS = (*REFUND_RESPONSE_FIELDS, "vnp_PromotionCode", "vnp_PromotionAmount")

# vnp_ResponseCode of the merchant web API
API_OK = "00"
API_NOT_FOUND = "91"  # no such transaction at the gateway
API_DUPLICATE_REQUEST = "94"  # the same request id again within the API's limit
# vnp_TransactionStatus
STATUS_SUCCESS = "00"
STATUS_PENDING = "01"  # not finished yet
STATUS_REFUNDING = ("05", "06")  # the gateway is refunding / has sent the refund to the bank
FULL_REFUND = "02"  # vnp_TransactionType of a refund request: the whole amount
PARTIAL_REFUND = "03"


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


def pipe_sign(fields: tuple[str, ...], values: Mapping[str, object], secret: str) -> str:
    """The merchant web API's signature: the raw values of `fields`, in that order, joined by `|`."""
    data = "|".join("" if values.get(f) is None else str(values.get(f)) for f in fields)
    return hmac.new(secret.encode(), data.encode(), hashlib.sha512).hexdigest()


def query_request(
    merchant: Merchant,
    *,
    request_id: str,
    txn_ref: str,
    transaction_date: datetime,
    now: datetime,
    ip: str,
) -> dict[str, str]:
    """The signed body of a `querydr` call about our order `txn_ref`, created at
    `transaction_date` (the payment URL's vnp_CreateDate)."""
    body = {
        "vnp_RequestId": request_id,
        "vnp_Version": VERSION,
        "vnp_Command": "querydr",
        "vnp_TmnCode": merchant.tmn_code,
        "vnp_TxnRef": txn_ref,
        "vnp_OrderInfo": f"Truy van giao dich {txn_ref}",
        "vnp_TransactionDate": gateway_time(transaction_date),
        "vnp_CreateDate": gateway_time(now),
        "vnp_IpAddr": ip,
    }
    body["vnp_SecureHash"] = pipe_sign(QUERY_REQUEST_FIELDS, body, merchant.hash_secret)
    return body


def refund_request(
    merchant: Merchant,
    *,
    request_id: str,
    txn_ref: str,
    amount: int,
    transaction_no: str,
    transaction_date: datetime,
    created_by: str,
    now: datetime,
    ip: str,
    full: bool = True,
) -> dict[str, str]:
    """The signed body of a `refund` call: the whole payment (02) or part of it (03)."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    body = {
        "vnp_RequestId": request_id,
        "vnp_Version": VERSION,
        "vnp_Command": "refund",
        "vnp_TmnCode": merchant.tmn_code,
        "vnp_TransactionType": FULL_REFUND if full else PARTIAL_REFUND,
        "vnp_TxnRef": txn_ref,
        "vnp_Amount": str(amount * 100),
        "vnp_OrderInfo": f"Hoan tien giao dich {txn_ref}",
        "vnp_TransactionNo": transaction_no,
        "vnp_TransactionDate": gateway_time(transaction_date),
        "vnp_CreateBy": created_by,
        "vnp_CreateDate": gateway_time(now),
        "vnp_IpAddr": ip,
    }
    body["vnp_SecureHash"] = pipe_sign(REFUND_REQUEST_FIELDS, body, merchant.hash_secret)
    return body


class BadResponse(ValueError):
    """An answer of the merchant web API that is not signed by the merchant's secret, or is
    malformed, or is about another request: it is not trusted."""


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    """A verified answer of the merchant web API."""

    response_code: str  # the call itself: "00" done, "91" no such transaction…
    message: str
    txn_ref: str
    amount: int | None  # VND
    transaction_no: str
    transaction_type: str  # "01" payment, "02"/"03" refund
    transaction_status: str  # "00" success, "01" pending, "02" failed, "05"/"06" refunding…
    bank_code: str
    paid_at: datetime | None
    raw: dict[str, str]


def read_api_answer(body: object, merchant: Merchant, *, command: str, txn_ref: str) -> ApiAnswer:
    """Check the signature of a querydr/refund answer and that it is about what was asked."""
    if not isinstance(body, dict):
        raise BadResponse("not a JSON object")
    values = {str(k): "" if v is None else str(v) for k, v in body.items()}
    fields = QUERY_RESPONSE_FIELDS if command == "querydr" else REFUND_RESPONSE_FIELDS
    given = values.get("vnp_SecureHash", "").lower()
    if not given or not hmac.compare_digest(given, pipe_sign(fields, values, merchant.hash_secret)):
        raise BadResponse("invalid signature")
    if values.get("vnp_Command", command) != command or values.get("vnp_TmnCode") != merchant.tmn_code:
        raise BadResponse("another command or merchant")
    code = values.get("vnp_ResponseCode", "")
    if code == API_OK and values.get("vnp_TxnRef") != txn_ref:
        raise BadResponse("another order")
    try:
        cents = int(values["vnp_Amount"]) if values.get("vnp_Amount") else None
        paid_at = parse_gateway_time(values["vnp_PayDate"]) if values.get("vnp_PayDate") else None
    except ValueError as exc:
        raise BadResponse("malformed amount or date") from exc
    return ApiAnswer(
        response_code=code,
        message=values.get("vnp_Message", ""),
        txn_ref=values.get("vnp_TxnRef", ""),
        amount=cents // 100 if cents is not None else None,
        transaction_no=values.get("vnp_TransactionNo", ""),
        transaction_type=values.get("vnp_TransactionType", ""),
        transaction_status=values.get("vnp_TransactionStatus", ""),
        bank_code=values.get("vnp_BankCode", ""),
        paid_at=paid_at,
        raw=values,
    )


def ipn_answer(answer: tuple[str, str]) -> dict[str, str]:
    """The JSON body the IPN endpoint answers with."""
    return {"RspCode": answer[0], "Message": answer[1]}
