"""A local VNPay-style gateway for tests, served by uvicorn on a loopback port in the test's own
event loop. It speaks the protocol with its own signing code (not the code under test):

- `GET /paymentv2/vpcpay.html`: the payment page. It checks the URL's signature, "pays" (or
  not, as the test says), calls the merchant's IPN the way the gateway does (the `deliver`
  callable), and redirects the browser to vnp_ReturnUrl with the signed result.
- `POST /merchant_webapi/api/transaction`: `querydr` and `refund`, '|'-signed both ways.

`mode` makes it misbehave: "bad-signature" signs answers with another secret, "timeout" answers
too late, "error" answers HTTP 500, "lose-refund-answer" refunds and then answers too late.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

QUERY_IN = "vnp_RequestId vnp_Version vnp_Command vnp_TmnCode vnp_TxnRef vnp_TransactionDate vnp_CreateDate vnp_IpAddr vnp_OrderInfo"
REFUND_IN = (
    "vnp_RequestId vnp_Version vnp_Command vnp_TmnCode vnp_TransactionType vnp_TxnRef vnp_Amount "
    "vnp_TransactionNo vnp_TransactionDate vnp_CreateBy vnp_CreateDate vnp_IpAddr vnp_OrderInfo"
)
REFUND_OUT = (
    "vnp_ResponseId vnp_Command vnp_ResponseCode vnp_Message vnp_TmnCode vnp_TxnRef vnp_Amount vnp_BankCode "
    "vnp_PayDate vnp_TransactionNo vnp_TransactionType vnp_TransactionStatus vnp_OrderInfo"
)
QUERY_OUT = REFUND_OUT + " vnp_PromotionCode vnp_PromotionAmount"
PAY_DATE = "20261126091500"


def _hmac(secret: str, data: str) -> str:
    return hmac.new(secret.encode(), data.encode(), hashlib.sha512).hexdigest()


def _pipe(fields: str, values: dict[str, str]) -> str:
    return "|".join(values.get(f, "") for f in fields.split())


@dataclass
class Txn:
    amount: int  # VND
    status: str = "01"  # 00 paid, 01 pending, 02 failed
    number: str = ""
    refunded: bool = False


@dataclass
class Gateway:
    tmn_code: str
    secret: str
    deliver: Callable[[dict[str, str]], Awaitable[dict[str, Any]]] | None = None  # the IPN call
    mode: str = "normal"
    outcome: str = "00"  # what the next payer does at the payment page: 00 pays, 24 cancels
    txns: dict[str, Txn] = field(default_factory=dict)
    refunds: list[dict[str, str]] = field(default_factory=list)  # refunds actually done
    calls: list[dict[str, str]] = field(default_factory=list)  # every API request received
    ipn_answers: list[dict[str, Any]] = field(default_factory=list)
    before_query: Callable[[dict[str, str]], Awaitable[None]] | None = None  # e.g. an IPN racing it
    base: str = ""
    _seq: int = 0

    @property
    def api_url(self) -> str:
        return f"{self.base}/merchant_webapi/api/transaction"

    @property
    def pay_url(self) -> str:
        return f"{self.base}/paymentv2/vpcpay.html"

    def settle(self, txn_ref: str, amount: int, status: str) -> Txn:
        """The payer paid (00) or gave up (24…) at the gateway, without any callback yet."""
        self._seq += 1
        txn = self.txns.setdefault(txn_ref, Txn(amount))
        txn.status = "00" if status == "00" else "02"
        txn.number = str(14226000 + self._seq)
        return txn

    def ipn_params(self, txn_ref: str, code: str, **override: str) -> dict[str, str]:
        txn = self.txns[txn_ref]
        params = {
            "vnp_Amount": str(txn.amount * 100),
            "vnp_BankCode": "NCB",
            "vnp_PayDate": PAY_DATE,
            "vnp_ResponseCode": code,
            "vnp_TmnCode": self.tmn_code,
            "vnp_TransactionNo": txn.number,
            "vnp_TransactionStatus": code,
            "vnp_TxnRef": txn_ref,
            **override,
        }
        canonical = "&".join(f"{k}={quote_plus(v)}" for k, v in sorted(params.items()) if v)
        params["vnp_SecureHash"] = _hmac(self.secret, canonical)
        return params

    # --- the payment page -------------------------------------------------------------------

    async def pay_page(self, request: Request) -> Response:
        params = dict(request.query_params)
        given = params.pop("vnp_SecureHash", "")
        canonical = "&".join(f"{k}={quote_plus(v)}" for k, v in sorted(params.items()) if v)
        if params.get("vnp_TmnCode") != self.tmn_code or not hmac.compare_digest(
            given, _hmac(self.secret, canonical)
        ):
            return Response("Sai chữ ký", status_code=400)
        txn_ref, amount = params["vnp_TxnRef"], int(params["vnp_Amount"]) // 100
        self.txns[txn_ref] = Txn(amount)
        code = self.outcome
        self.settle(txn_ref, amount, code)
        result = self.ipn_params(txn_ref, code)
        if self.deliver is not None:
            self.ipn_answers.append(await self.deliver(result))
        return RedirectResponse(f"{params['vnp_ReturnUrl']}?{urlencode(result)}", status_code=302)

    # --- the merchant web API ----------------------------------------------------------------

    async def api(self, request: Request) -> Response:
        body = {k: str(v) for k, v in (await request.json()).items()}
        self.calls.append(body)
        command = body.get("vnp_Command")
        if self.mode == "error":
            return Response("Internal error", status_code=500)
        if self.mode == "timeout":
            await asyncio.sleep(2)
        fields = QUERY_IN if command == "querydr" else REFUND_IN
        if body.get("vnp_TmnCode") != self.tmn_code:
            return self._answer(command or "", {"vnp_ResponseCode": "02", "vnp_Message": "Merchant invalid"})
        if not hmac.compare_digest(body.get("vnp_SecureHash", ""), _hmac(self.secret, _pipe(fields, body))):
            return self._answer(command or "", {"vnp_ResponseCode": "97", "vnp_Message": "Invalid checksum"})
        if command == "querydr" and self.before_query is not None:
            await self.before_query(body)
        txn = self.txns.get(body["vnp_TxnRef"])
        if txn is None or (command == "refund" and txn.status != "00"):
            return self._answer(command or "", {"vnp_ResponseCode": "91", "vnp_Message": "Not found"})
        if command == "refund":
            if txn.refunded:
                return self._answer(command, {"vnp_ResponseCode": "94", "vnp_Message": "Duplicate"})
            txn.refunded = True
            self.refunds.append(body)
            if self.mode == "lose-refund-answer":
                await asyncio.sleep(2)
            kind, status = body["vnp_TransactionType"], "05"
        else:
            kind, status = ("02", "05") if txn.refunded else ("01", txn.status)
        return self._answer(
            command or "",
            {
                "vnp_ResponseCode": "00",
                "vnp_Message": "Success",
                "vnp_TxnRef": body["vnp_TxnRef"],
                "vnp_Amount": str(txn.amount * 100),
                "vnp_BankCode": "NCB",
                "vnp_PayDate": PAY_DATE if txn.status == "00" else "",
                "vnp_TransactionNo": txn.number,
                "vnp_TransactionType": kind,
                "vnp_TransactionStatus": status,
                "vnp_OrderInfo": body.get("vnp_OrderInfo", ""),
            },
        )

    def _answer(self, command: str, values: dict[str, str]) -> Response:
        self._seq += 1
        answer = {"vnp_ResponseId": f"R{self._seq:08d}", "vnp_Command": command, "vnp_TmnCode": self.tmn_code}
        answer.update(values)
        secret = "NOT-THE-MERCHANT-SECRET" if self.mode == "bad-signature" else self.secret
        out = QUERY_OUT if command == "querydr" else REFUND_OUT
        answer["vnp_SecureHash"] = _hmac(secret, _pipe(out, answer))
        return JSONResponse(answer)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/paymentv2/vpcpay.html", self.pay_page, methods=["GET"]),
                Route("/merchant_webapi/api/transaction", self.api, methods=["POST"]),
            ]
        )


@contextlib.asynccontextmanager
async def running(gateway: Gateway) -> AsyncIterator[Gateway]:
    """Serve `gateway` on a free loopback port in this event loop (so its IPN calls reach the
    app under test, bound to the test's transaction, one at a time)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    gateway.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        gateway.app(), lifespan="off", ws="none", log_config=None, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(1000):
            if server.started:
                break
            await asyncio.sleep(0.01)
        yield gateway
    finally:
        server.should_exit = True
        await task
        sock.close()
