"""What a webhook attempt came to: `SendResult`, read from the answer or from the failure.

An answer gives its status, the start of its body (`EXCERPT_BYTES`, decoded leniently) and its
`Retry-After`; a failure gives a short sentence for people (the delivery log shows it), read
from the exception and its causes: TLS, the socket's errno, then httpx's kind of error.
"""

from __future__ import annotations

import email.message
import errno
import re
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = [
    "EXCERPT_BYTES",
    "MAX_RETRY_AFTER",
    "SendResult",
    "decode_excerpt",
    "describe_failure",
    "elapsed_ms",
    "parse_retry_after",
]

EXCERPT_BYTES = 1024
MAX_RETRY_AFTER = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class SendResult:
    """One delivery attempt. `status_code` is None when no complete answer came (then `error`
    says why, shortly); a 3xx is an answer like any other (redirects are not followed)."""

    status_code: int | None
    latency_ms: float
    error: str | None = None
    excerpt: str = ""
    retry_after: float | None = None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delay-seconds or HTTP-date), at most 24 h;
    None when absent or not understood. A date in the past is 0."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"[0-9]+", text):
        return min(float(int(text)), MAX_RETRY_AFTER)
    if not re.search(r"[A-Za-z]", text):
        return None  # "-5", "1.5": not delay-seconds, and no date either
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (a `time.monotonic()` reading)."""
    return round((time.monotonic() - started) * 1000, 2)


def decode_excerpt(raw: bytes, content_type: str | None) -> str:
    """The excerpt as text, in the response's charset (UTF-8 by default), never failing."""
    charset = None
    if content_type is not None:
        message = email.message.Message()
        message["content-type"] = content_type
        charset = message.get_content_charset(failobj=None)
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


_ERRNO_MESSAGES = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "connection closed by peer",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "timed out connecting",
}


def describe_failure(exc: BaseException) -> str:
    """A short, human account of a failed attempt."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or cause.reason or "certificate verify failed"
            return _short(f"TLS: certificate verify failed: {detail}")
        if isinstance(cause, ssl.SSLError):
            detail = (cause.reason or str(cause)).replace("_", " ").lower()
            return _short(f"TLS: {detail}")
    for cause in chain:
        if isinstance(cause, OSError) and cause.errno in _ERRNO_MESSAGES:
            return _ERRNO_MESSAGES[cause.errno]
    if isinstance(exc, httpx.ProtocolError):  # the remote's, or ours (h11 refused a header)
        return _short(f"protocol error: {_sentence(exc)}")
    if isinstance(exc, httpx.ReadError):
        return _short(f"read failed: {_sentence(exc)}")
    if isinstance(exc, httpx.WriteError):
        return _short(f"write failed: {_sentence(exc)}")
    if isinstance(exc, httpx.ConnectError):
        return _short(f"connection failed: {_sentence(exc)}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return _short(f"invalid URL: {_sentence(exc)}")
    return _short(f"{type(exc).__name__}: {_sentence(exc)}")


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return (text[:1].lower() + text[1:]).rstrip(".")


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
