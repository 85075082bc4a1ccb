"""The VNPay-style protocol: the signed redirect URL and the checks on what comes back.

Signatures are checked against HMAC-SHA512 computed here over strings written out by hand, not
against the module's own signing function."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from services.payments import vnpay

SECRET = "SECRETKEY0123456789ABCDEFGHIJKLM"
MERCHANT = vnpay.Merchant(
    tmn_code="PTHO0001",
    hash_secret=SECRET,
    pay_url="http://127.0.0.1:9/paymentv2/vpcpay.html",
    return_url="http://127.0.0.1:8000/payments/vnpay/return",
)


def _hmac(text: str) -> str:
    return hmac.new(SECRET.encode(), text.encode(), hashlib.sha512).hexdigest()


def test_the_payment_url_is_signed_over_the_sorted_encoded_parameters() -> None:
    created = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)  # 09:00 in Vietnam
    url = vnpay.payment_url(
        MERCHANT,
        vnpay.PaymentRequest(
            txn_ref="H44.99-261126-0001-1",
            amount=50000,
            order_info="Lệ phí hồ sơ H44.99-261126-0001",
            created_at=created,
            expires_at=created + timedelta(minutes=15),
            client_ip="127.0.0.1",
        ),
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == MERCHANT.pay_url
    params = dict(parse_qsl(parts.query))
    assert params["vnp_Amount"] == "5000000"  # hundredths of a đồng
    assert params["vnp_CreateDate"] == "20261126090000"
    assert params["vnp_ExpireDate"] == "20261126091500"
    assert params["vnp_OrderInfo"] == "Lệ phí hồ sơ H44.99-261126-0001"
    expected = _hmac(
        "vnp_Amount=5000000&vnp_Command=pay&vnp_CreateDate=20261126090000&vnp_CurrCode=VND"
        "&vnp_ExpireDate=20261126091500&vnp_IpAddr=127.0.0.1&vnp_Locale=vn"
        "&vnp_OrderInfo=L%E1%BB%87+ph%C3%AD+h%E1%BB%93+s%C6%A1+H44.99-261126-0001"
        "&vnp_OrderType=billpayment"
        "&vnp_ReturnUrl=http%3A%2F%2F127.0.0.1%3A8000%2Fpayments%2Fvnpay%2Freturn"
        "&vnp_TmnCode=PTHO0001&vnp_TxnRef=H44.99-261126-0001-1&vnp_Version=2.1.0"
    )
    assert params["vnp_SecureHash"] == expected
    # The query string itself is the signed string followed by the hash.
    assert parts.query.endswith(f"&vnp_SecureHash={expected}")


def test_a_non_positive_amount_is_refused() -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    with pytest.raises(ValueError, match="positive"):
        vnpay.payment_url(MERCHANT, vnpay.PaymentRequest("x", 0, "x", now, now, "127.0.0.1"))


def _callback(**overrides: str) -> dict[str, str]:
    params = {
        "vnp_Amount": "5000000",
        "vnp_BankCode": "NCB",
        "vnp_BankTranNo": "VNP14226112",
        "vnp_CardType": "ATM",
        "vnp_OrderInfo": "Lệ phí hồ sơ",
        "vnp_PayDate": "20261126091203",
        "vnp_ResponseCode": "00",
        "vnp_TmnCode": "PTHO0001",
        "vnp_TransactionNo": "14226112",
        "vnp_TransactionStatus": "00",
        "vnp_TxnRef": "H44.99-261126-0001-1",
    }
    params["vnp_SecureHash"] = _hmac(
        "&".join(f"{k}={v}" for k, v in sorted(params.items())).replace(
            "Lệ phí hồ sơ", "L%E1%BB%87+ph%C3%AD+h%E1%BB%93+s%C6%A1"
        )
    )
    params.update(overrides)
    return params


def test_a_signed_callback_is_read() -> None:
    n = vnpay.read_notification(_callback(), MERCHANT)
    assert (n.txn_ref, n.amount, n.transaction_no, n.bank_code) == (
        "H44.99-261126-0001-1",
        50000,
        "14226112",
        "NCB",
    )
    assert n.succeeded
    assert n.paid_at == datetime(2026, 11, 26, 2, 12, 3, tzinfo=UTC)
    # The hash type parameter and an upper-case hash do not matter.
    upper = _callback()
    upper["vnp_SecureHash"] = upper["vnp_SecureHash"].upper()
    upper["vnp_SecureHashType"] = "HmacSHA512"
    assert vnpay.read_notification(upper, MERCHANT).amount == 50000


@pytest.mark.parametrize(
    "tamper",
    [
        {"vnp_Amount": "500000000"},  # amount raised after signing
        {"vnp_ResponseCode": "24"},
        {"vnp_TxnRef": "H44.99-261126-0002-1"},
        {"vnp_SecureHash": ""},
        {"vnp_SecureHash": "00" * 64},
    ],
)
def test_a_tampered_callback_is_refused(tamper: dict[str, str]) -> None:
    with pytest.raises(vnpay.BadNotification) as caught:
        vnpay.read_notification(_callback(**tamper), MERCHANT)
    assert vnpay.ipn_answer(caught.value.answer) == {"RspCode": "97", "Message": "Invalid signature"}


def test_a_callback_signed_with_another_secret_is_refused() -> None:
    other = vnpay.Merchant("PTHO0001", "ANOTHERSECRET", MERCHANT.pay_url, MERCHANT.return_url)
    with pytest.raises(vnpay.BadNotification) as caught:
        vnpay.read_notification(_callback(), other)
    assert caught.value.answer == vnpay.IPN_INVALID_SIGNATURE


def test_a_callback_for_another_merchant_or_malformed_is_refused() -> None:
    other = vnpay.Merchant("PTHO0002", SECRET, MERCHANT.pay_url, MERCHANT.return_url)
    with pytest.raises(vnpay.BadNotification) as caught:
        vnpay.read_notification(_callback(), other)
    assert caught.value.answer == vnpay.IPN_ORDER_NOT_FOUND
    missing = {k: v for k, v in _callback().items() if k != "vnp_TxnRef"}
    missing["vnp_SecureHash"] = _hmac(vnpay.canonical(missing))
    with pytest.raises(vnpay.BadNotification) as caught:
        vnpay.read_notification(missing, MERCHANT)
    assert caught.value.answer == vnpay.IPN_UNKNOWN_ERROR


def test_a_failed_payment_is_read_as_failed() -> None:
    params = {k: v for k, v in _callback().items() if k != "vnp_SecureHash"}
    params["vnp_ResponseCode"] = "24"  # the payer cancelled
    params["vnp_TransactionStatus"] = "02"
    params["vnp_SecureHash"] = _hmac(vnpay.canonical(params))
    assert not vnpay.read_notification(params, MERCHANT).succeeded


def test_the_query_call_is_signed_over_the_documented_field_order() -> None:
    now = datetime(2026, 11, 26, 3, 0, 0, tzinfo=UTC)  # 10:00 in Vietnam
    body = vnpay.query_request(
        MERCHANT,
        request_id="REQ1",
        txn_ref="abc123",
        transaction_date=datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC),
        now=now,
        ip="10.0.0.5",
    )
    written = (
        "REQ1|2.1.0|querydr|PTHO0001|abc123|20261126090000|20261126100000|10.0.0.5|Truy van giao dich abc123"
    )
    assert body["vnp_SecureHash"] == _hmac(written)
    assert (body["vnp_TransactionDate"], body["vnp_CreateDate"]) == ("20261126090000", "20261126100000")


def test_the_refund_call_is_signed_over_the_documented_field_order() -> None:
    at = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)
    body = vnpay.refund_request(
        MERCHANT,
        request_id="REQ2",
        txn_ref="abc123",
        amount=50000,
        transaction_no="14226112",
        transaction_date=at,
        created_by="Nguyễn Văn A",
        now=at,
        ip="10.0.0.5",
    )
    written = (
        "REQ2|2.1.0|refund|PTHO0001|02|abc123|5000000|14226112|20261126090000|Nguyễn Văn A|20261126090000|"
        "10.0.0.5|Hoan tien giao dich abc123"
    )
    assert body["vnp_SecureHash"] == _hmac(written)
    partial = vnpay.refund_request(
        MERCHANT,
        request_id="REQ3",
        txn_ref="abc123",
        amount=20000,
        transaction_no="14226112",
        transaction_date=at,
        created_by="x",
        now=at,
        ip="10.0.0.5",
        full=False,
    )
    assert (partial["vnp_TransactionType"], partial["vnp_Amount"]) == ("03", "2000000")


def _answer(**values: str) -> dict[str, str]:
    answer = {
        "vnp_ResponseId": "R1",
        "vnp_Command": "querydr",
        "vnp_ResponseCode": "00",
        "vnp_Message": "QueryDR Success",
        "vnp_TmnCode": "PTHO0001",
        "vnp_TxnRef": "abc123",
        "vnp_Amount": "5000000",
        "vnp_BankCode": "NCB",
        "vnp_PayDate": "20261126091500",
        "vnp_TransactionNo": "14226112",
        "vnp_TransactionType": "01",
        "vnp_TransactionStatus": "00",
        "vnp_OrderInfo": "Truy van",
        **values,
    }
    written = "|".join(
        answer.get(k, "")
        for k in [
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
            "vnp_PromotionCode",
            "vnp_PromotionAmount",
        ]
    )
    answer["vnp_SecureHash"] = _hmac(written)
    return answer


def test_a_query_answer_is_trusted_only_when_signed_and_about_the_order_asked() -> None:
    good = vnpay.read_api_answer(_answer(), MERCHANT, command="querydr", txn_ref="abc123")
    assert (good.amount, good.transaction_status, good.transaction_no) == (50000, "00", "14226112")
    assert good.paid_at == datetime(2026, 11, 26, 2, 15, tzinfo=UTC)
    with pytest.raises(vnpay.BadResponse):
        vnpay.read_api_answer(
            {**_answer(), "vnp_Amount": "100"}, MERCHANT, command="querydr", txn_ref="abc123"
        )
    with pytest.raises(vnpay.BadResponse):
        vnpay.read_api_answer(_answer(), MERCHANT, command="querydr", txn_ref="other")
    with pytest.raises(vnpay.BadResponse):
        vnpay.read_api_answer(_answer(), MERCHANT, command="refund", txn_ref="abc123")
    with pytest.raises(vnpay.BadResponse):
        vnpay.read_api_answer(["not", "an", "object"], MERCHANT, command="querydr", txn_ref="abc123")
