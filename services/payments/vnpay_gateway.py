"""The VNPay-style gateway behind `PaymentGateway`: the signed redirect and IPN of `vnpay`, and
the merchant web API calls (`querydr`, `refund`: JSON POST, '|'-joined HMAC-SHA512 both ways)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime

import httpx

from services.payments import vnpay
from services.payments.gateway import (
    Account,
    BadCallback,
    GatewayError,
    GatewaySettings,
    Order,
    Outcome,
    QueryResult,
    QueryStatus,
    RefundOrder,
    RefundResult,
    RefundStatus,
    Report,
)

log = logging.getLogger(__name__)

ANSWERS = {
    Outcome.CONFIRMED: vnpay.IPN_CONFIRMED,
    Outcome.ALREADY_CONFIRMED: vnpay.IPN_ALREADY_CONFIRMED,
    Outcome.ORDER_NOT_FOUND: vnpay.IPN_ORDER_NOT_FOUND,
    Outcome.INVALID_AMOUNT: vnpay.IPN_INVALID_AMOUNT,
    Outcome.INVALID_SIGNATURE: vnpay.IPN_INVALID_SIGNATURE,
    Outcome.UNKNOWN_ERROR: vnpay.IPN_UNKNOWN_ERROR,
}
_OUTCOMES = {answer: outcome for outcome, answer in ANSWERS.items()}
# Refund answers that will not change by asking again (amount, state of the payment, format).
REFUND_FINAL_REJECTIONS = frozenset({"02", "03", "04", "13", "91", "93", "95"})


def request_id() -> str:
    """vnp_RequestId: unique per call (the gateway refuses a repeated one within a day)."""
    return secrets.token_hex(16)


class VNPayGateway:
    name = "vnpay"

    def __init__(self, settings: GatewaySettings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.http = http

    def _merchant(self, account: Account) -> vnpay.Merchant:
        return vnpay.Merchant(
            account.merchant, account.secret, self.settings.pay_url, self.settings.return_url
        )

    def checkout_url(self, account: Account, order: Order) -> str:
        return vnpay.payment_url(
            self._merchant(account),
            vnpay.PaymentRequest(
                txn_ref=order.txn_ref,
                amount=order.amount,
                order_info=order.order_info,
                created_at=order.created_at,
                expires_at=order.expires_at,
                client_ip=order.client_ip,
            ),
        )

    def read_callback(self, params: Mapping[str, str], accounts: Mapping[str, Account]) -> Report:
        account = accounts.get(params.get("vnp_TmnCode", ""))
        if account is None:
            raise BadCallback(Outcome.INVALID_SIGNATURE)  # nothing to check it against
        try:
            n = vnpay.read_notification(params, self._merchant(account))
        except vnpay.BadNotification as bad:
            raise BadCallback(_OUTCOMES[bad.answer]) from bad
        return Report(
            merchant=n.tmn_code,
            txn_ref=n.txn_ref,
            amount=n.amount,
            succeeded=n.succeeded,
            response_code=n.response_code,
            transaction_no=n.transaction_no,
            bank_code=n.bank_code,
            paid_at=n.paid_at,
            raw=dict(params),
        )

    def answer(self, outcome: Outcome) -> dict[str, str]:
        return vnpay.ipn_answer(ANSWERS[outcome])

    async def _call(self, body: dict[str, str]) -> object:
        if not self.settings.api_url:
            raise GatewayError("VNPAY_API_URL is not set")
        try:
            if self.http is not None:
                response = await self.http.post(
                    self.settings.api_url, json=body, timeout=self.settings.timeout_seconds
                )
            else:
                async with httpx.AsyncClient(timeout=self.settings.timeout_seconds) as http:
                    response = await http.post(self.settings.api_url, json=body)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GatewayError(f"{body['vnp_Command']}: {type(exc).__name__}: {exc}") from exc

    async def query(
        self, account: Account, txn_ref: str, created_at: datetime, *, now: datetime
    ) -> QueryResult:
        merchant = self._merchant(account)
        body = vnpay.query_request(
            merchant,
            request_id=request_id(),
            txn_ref=txn_ref,
            transaction_date=created_at,
            now=now,
            ip=self.settings.server_ip,
        )
        try:
            a = vnpay.read_api_answer(await self._call(body), merchant, command="querydr", txn_ref=txn_ref)
        except vnpay.BadResponse as exc:
            raise GatewayError(f"querydr: untrusted answer ({exc})") from exc
        if a.response_code == vnpay.API_NOT_FOUND:
            return QueryResult(QueryStatus.NOT_FOUND)
        if a.response_code != vnpay.API_OK:
            raise GatewayError(f"querydr: {a.response_code} {a.message}")
        if a.transaction_type in (vnpay.FULL_REFUND, vnpay.PARTIAL_REFUND) or (
            a.transaction_status in vnpay.STATUS_REFUNDING
        ):
            return QueryResult(QueryStatus.REFUNDED)
        if a.transaction_status == vnpay.STATUS_PENDING:
            return QueryResult(QueryStatus.PENDING)
        if a.amount is None:
            raise GatewayError("querydr: no amount")
        report = Report(
            merchant=account.merchant,
            txn_ref=a.txn_ref,
            amount=a.amount,
            succeeded=a.transaction_status == vnpay.STATUS_SUCCESS,
            response_code=a.transaction_status,
            transaction_no=a.transaction_no,
            bank_code=a.bank_code,
            paid_at=a.paid_at,
            raw=a.raw,
        )
        return QueryResult(QueryStatus.PAID if report.succeeded else QueryStatus.FAILED, report)

    async def refund(self, account: Account, order: RefundOrder, *, now: datetime) -> RefundResult:
        merchant = self._merchant(account)
        body = vnpay.refund_request(
            merchant,
            request_id=order.request_id,
            txn_ref=order.txn_ref,
            amount=order.amount,
            transaction_no=order.transaction_no,
            transaction_date=order.order_created_at,
            created_by=order.created_by,
            now=now,
            ip=self.settings.server_ip,
            full=order.full,
        )
        try:
            a = vnpay.read_api_answer(
                await self._call(body), merchant, command="refund", txn_ref=order.txn_ref
            )
        except vnpay.BadResponse as exc:
            raise GatewayError(f"refund: untrusted answer ({exc})") from exc
        if a.response_code == vnpay.API_OK:
            return RefundResult(RefundStatus.DONE, a.response_code, a.message, a.transaction_no)
        if a.response_code in REFUND_FINAL_REJECTIONS:
            return RefundResult(RefundStatus.REJECTED, a.response_code, a.message)
        raise GatewayError(f"refund: {a.response_code} {a.message}")  # 94, 97, 99…: try again later
