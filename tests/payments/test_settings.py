"""The payment settings are checked at start, not at the first payment."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from core.settings import Settings, parse_merchants
from services.payments.gateway import Account, GatewaySettings, config_from_settings
from services.payments.vnpay_gateway import VNPayGateway


def test_merchants_are_read_per_agency() -> None:
    assert parse_merchants(" H44.19=PTHO0001:s3cr:et , H44.20=PTHO0002:x,") == {
        "H44.19": ("PTHO0001", "s3cr:et"),  # the secret may itself hold a colon
        "H44.20": ("PTHO0002", "x"),
    }
    assert parse_merchants("") == {}


@pytest.mark.parametrize("value", ["H44.19", "H44.19=PTHO0001", "=PTHO0001:s", "H44.19=:s"])
def test_a_malformed_merchant_list_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="AGENCY_CODE=TMN_CODE:HASH_SECRET"):
        Settings(vnpay_merchants=value, _env_file=None)


def test_the_gateway_needs_its_return_page_and_merchants() -> None:
    with pytest.raises(ValidationError, match="VNPAY_PAY_URL needs"):
        Settings(vnpay_pay_url="https://gateway.example/pay", _env_file=None)
    configured = Settings(
        vnpay_pay_url="https://gateway.example/pay",
        vnpay_return_url="https://portal.example/paid",
        vnpay_merchants="H44.19=PTHO0001:secret",
        _env_file=None,
    )
    assert configured.vnpay_merchant_map == {"H44.19": ("PTHO0001", "secret")}


class _OtherGateway:
    """A stand-in for another gateway's implementation, plugged in by PAYMENT_GATEWAY."""

    name = "other"

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings


def other_gateway(settings: GatewaySettings, http: httpx.AsyncClient | None) -> Any:
    return _OtherGateway(settings)


def test_another_gateway_is_plugged_in_by_a_setting() -> None:
    base = {
        "vnpay_pay_url": "https://gateway.example/pay",
        "vnpay_return_url": "https://portal.example/paid",
        "vnpay_merchants": "H44.19=PTHO0001:secret",
        "_env_file": None,
    }
    default = config_from_settings(Settings(**base))  # type: ignore[arg-type]
    assert default is not None
    assert isinstance(default.gateway, VNPayGateway)
    assert default.account("H44.19") == Account("PTHO0001", "secret")
    plugged = config_from_settings(
        Settings(**base, payment_gateway="tests.payments.test_settings:other_gateway")  # type: ignore[arg-type]
    )
    assert plugged is not None
    assert plugged.gateway.name == "other"
    with pytest.raises(ValidationError, match="PAYMENT_GATEWAY"):
        Settings(**base, payment_gateway="paypal")  # type: ignore[arg-type]
    assert config_from_settings(Settings(_env_file=None)) is None  # online payment off
