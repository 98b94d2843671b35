"""Trackers' tokens at rest: encrypted with the operator's `TICKETS_ENCRYPTION_KEY`.

Fernet (the `cryptography` package: AES-128-CBC with an HMAC-SHA256, versioned and
timestamped tokens) is the whole scheme: nothing here is hand-made. A token is encrypted as it
is stored and decrypted by the worker only for the call that needs it; it is never shown, logged
or put in an event.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["TokenBoxError", "decrypt_token", "encrypt_token", "key_problem"]


class TokenBoxError(Exception):
    """No key, a malformed key, or a stored token this key cannot open."""


def key_problem(key: str | None) -> str | None:
    """Why `key` cannot encrypt tokens, or None when it can."""
    if not key:
        return (
            "The service has no TICKETS_ENCRYPTION_KEY: tickets cannot be configured until the "
            "operator sets one (docs/configuration.md)."
        )
    try:
        Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return "TICKETS_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64-encoded bytes)."
    return None


def _fernet(key: str | None) -> Fernet:
    problem = key_problem(key)
    if problem:
        raise TokenBoxError(problem)
    assert key is not None
    return Fernet(key.encode("ascii"))


def encrypt_token(key: str | None, token: str) -> str:
    return _fernet(key).encrypt(token.encode("utf-8")).decode("ascii")


def decrypt_token(key: str | None, stored: str) -> str:
    try:
        return _fernet(key).decrypt(stored.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise TokenBoxError(
            "The stored token cannot be decrypted with TICKETS_ENCRYPTION_KEY (was the key "
            "changed?): set the integration's tickets again."
        ) from None
