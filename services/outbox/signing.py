"""Signing outbox requests: `X-DVC-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>.<body
bytes>" keyed with the consumer's secret>`, and after a secret rotation a second signature with
the old key (`X-DVC-Signature-Previous`) until `previous_secret_until`. `verify_signature` is what
a consumer does with the headers; the national portal's inbound calls are checked with `sign`.
"""

from __future__ import annotations

import hashlib
import hmac

from services.outbox.transport import Target

USER_AGENT = "dvc-outbox/1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, the `X-DVC-Signature` header."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a consumer does with the headers (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def signed_headers(target: Target, event_id: str, timestamp: str, body: bytes) -> dict[str, str]:
    """The X-DVC-* headers; during a secret rotation the old key signs too."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-DVC-Event-Id": event_id,
        "X-DVC-Timestamp": timestamp,
        "X-DVC-Signature": sign(target.secret, timestamp, body),
    }
    if target.previous_secret:
        headers["X-DVC-Signature-Previous"] = sign(target.previous_secret, timestamp, body)
    return headers
