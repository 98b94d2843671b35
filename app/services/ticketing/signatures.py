"""Proof that an inbound delivery comes from an integration's sender, checked over the raw body
before anything parses it, in constant time, each provider its own way:

- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`;
- Jira: `X-Hub-Signature: sha256=<hex HMAC>`, or for setups that cannot sign (token
  verification) the secret itself as the `token` query parameter of the URL;
- Linear: `Linear-Signature: <hex HMAC>` (its `webhookTimestamp`, in the signed body, is
  checked once the body is parsed: `check_linear_timestamp`);
- generic: Standard Webhooks, `webhook-signature: v1,<base64 HMAC>` over `id.timestamp.body`.

The HMAC key is the secret's UTF-8 bytes (the base64-decoded part after `whsec_` for generic).
During a rotation's grace period the previous secret verifies too.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from app.errors import Problem
from app.models import Integration
from app.services.ticketing.payloads import HeaderLookup
from app.services.webhooks.signing import signature as standard_signature
from app.vocabulary import Provider, Verification

# Standard Webhooks: the timestamp may be this far from now (the specification's 5 minutes).
STANDARD_TOLERANCE_SECONDS = 5 * 60
_HEX_SHA256 = re.compile(r"sha256=([0-9a-fA-F]{64})")
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_STANDARD_ID = re.compile(r"[^\s.]{1,200}")
_STANDARD_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class BadSignature(Problem):
    """401: the delivery does not prove it comes from the integration's sender."""

    status, slug, title = 401, "bad-signature", "Bad or missing signature"

    def __init__(self, detail: str) -> None:
        # 401 names how to authenticate: here, a signature of the body (RFC 9110 11.6.1).
        super().__init__(detail, headers={"WWW-Authenticate": 'HMAC realm="inbound"'})


def active_secrets(integration: Integration, now: datetime) -> list[str]:
    """The secret, and the previous one while its grace period lasts."""
    found = [integration.secret]
    expires = integration.previous_secret_expires_at
    if integration.previous_secret and expires is not None and expires > now:
        found.append(integration.previous_secret)
    return found


def verify(
    integration: Integration,
    headers: HeaderLookup,
    query: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> None:
    """Raise `BadSignature` unless the delivery is signed (or tokened) with an active secret."""
    secrets_ = active_secrets(integration, now)
    provider = integration.provider
    if provider == Provider.GITHUB:
        _verify_hex(secrets_, headers.get("X-Hub-Signature-256"), body, "X-Hub-Signature-256")
    elif provider == Provider.JIRA and integration.verification == Verification.TOKEN:
        _verify_token(secrets_, query.get("token"))
    elif provider == Provider.JIRA:
        _verify_hex(secrets_, headers.get("X-Hub-Signature"), body, "X-Hub-Signature")
    elif provider == Provider.LINEAR:
        _verify_hex(
            secrets_, headers.get("Linear-Signature"), body, "Linear-Signature", prefixed=False
        )
    else:
        _verify_standard(secrets_, headers, body, now)


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _verify_hex(
    secrets_: Sequence[str], given: str | None, body: bytes, header: str, *, prefixed: bool = True
) -> None:
    if not given:
        raise BadSignature(f"The {header} header is missing: set the integration's secret.")
    # The shape is checked first (it says nothing of the secret); the digests are compared in
    # constant time, as ASCII bytes.
    match = (_HEX_SHA256 if prefixed else _HEX).fullmatch(given.strip())
    if match is None:
        shape = "sha256=<64 hex digits>" if prefixed else "<64 hex digits>"
        raise BadSignature(f"The {header} header is malformed: expected {shape}.")
    digest = (match.group(1) if prefixed else match.group(0)).lower().encode("ascii")
    if not _any_equal(digest, [hex_hmac(s, body).encode("ascii") for s in secrets_]):
        raise BadSignature(f"The {header} signature does not match the body and the secret.")


def _verify_token(secrets_: Sequence[str], given: str | None) -> None:
    if not given:
        raise BadSignature("The `token` query parameter is missing (token verification).")
    token = given.encode("utf-8", "replace")
    if not _any_equal(token, [s.encode("utf-8") for s in secrets_]):
        raise BadSignature("The `token` query parameter is not the integration's secret.")


def _verify_standard(
    secrets_: Sequence[str], headers: HeaderLookup, body: bytes, now: datetime
) -> None:
    message_id = headers.get("webhook-id") or ""
    timestamp = headers.get("webhook-timestamp") or ""
    signatures = headers.get("webhook-signature") or ""
    if not (message_id and timestamp and signatures):
        raise BadSignature(
            "Standard Webhooks headers are missing: webhook-id, webhook-timestamp and "
            "webhook-signature are all needed."
        )
    if not _STANDARD_ID.fullmatch(message_id) or not _STANDARD_TIMESTAMP.fullmatch(timestamp):
        raise BadSignature("The webhook-id or webhook-timestamp header is malformed.")
    if abs(now.timestamp() - int(timestamp)) > STANDARD_TOLERANCE_SECONDS:
        raise BadSignature(
            "The webhook-timestamp is more than five minutes from now: a replay, or a clock "
            "that is off."
        )
    given = [part.encode("latin-1", "replace") for part in signatures.split()]
    expected = [
        standard_signature(s, message_id, int(timestamp), body).encode("ascii") for s in secrets_
    ]
    if not any(_any_equal(candidate, expected) for candidate in given):
        raise BadSignature("No webhook-signature matches the body and the secret.")


def _any_equal(given: bytes, expected: Sequence[bytes]) -> bool:
    # Every candidate is compared (no early exit), each in constant time.
    matched = False
    for candidate in expected:
        matched |= hmac.compare_digest(given, candidate)
    return matched


def check_linear_timestamp(stamp: Any, tolerance_seconds: int, now: float | None = None) -> None:
    """Refuse a Linear delivery whose `webhookTimestamp` (ms, inside the signed body) is
    missing or further from now than the tolerance: a captured delivery replayed later."""
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        raise BadSignature("The body has no numeric webhookTimestamp.")
    now = time.time() if now is None else now
    try:
        seconds = stamp / 1000
    except OverflowError:  # an integer too large for a float: no time of ours
        seconds = math.inf
    if not math.isfinite(seconds) or abs(now - seconds) > tolerance_seconds:
        raise BadSignature(
            f"The webhookTimestamp is more than {tolerance_seconds} seconds from now: a replay, "
            "or a clock that is off."
        )
