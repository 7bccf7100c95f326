"""The signature of a delivery: HMAC-SHA256, under the hook's secret, of "<timestamp>.<body>".
The timestamp is signed with the body, so a receiver that refuses old timestamps refuses a
replayed request (docs/api.md, "Verifying a webhook")."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from dockyard.kit.compare import same_secret

TIMESTAMP_HEADER = "X-Dockyard-Timestamp"
SIGNATURE_HEADER = "X-Dockyard-Signature"
EVENT_HEADER = "X-Dockyard-Event"
DELIVERY_HEADER = "X-Dockyard-Delivery"


def new_secret() -> str:
    """256 random bits, as text a receiver can paste into its configuration."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of X-Dockyard-Signature."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: int, body: bytes, header: str) -> bool:
    """What a receiver does (here for tests and as the reference of docs/api.md)."""
    return same_secret(header, signature(secret, timestamp, body))
