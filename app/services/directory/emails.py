"""How the directory compares email addresses: one normal form, stored and looked up."""

from __future__ import annotations

import unicodedata


def normalize_email(email: str) -> str:
    """`email` in the form the directory stores and compares: trimmed and casefolded (Unicode's
    canonical caseless form, stored composed), so that `Straße@Example.com` and
    `STRASSE@example.com` are one address; `lower()` would keep the `ß` and make them two.

    Migration 0007 applies the same rule to emails stored before it: keep them in step.
    """
    decomposed = unicodedata.normalize("NFD", email.strip())
    return unicodedata.normalize("NFC", decomposed.casefold())
