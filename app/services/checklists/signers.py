"""Who signs: a sign-off or a waiver's approval is recorded as the person the caller is
proven to be (the person of a personal API key, or a tracker user an authenticated delivery
maps to), never as whoever a body names."""

from __future__ import annotations

from app.errors import NotTheSigner, PersonalKeyRequired
from app.services.context import Context

PERSONAL_KEYS = "POST /v1/people/{id}/keys, or `flask keys create TEAM --person EMAIL`"


def named_signer(ctx: Context, field: str, named: str | None) -> str | None:
    """The person a body names in `field` (`signed_off_by`, `waiver.approved_by`), once it is
    the caller: 403 `personal-key-required` when the caller is no one in particular (a team
    key), 403 `not-the-signer` when it is someone else. None stays None (nobody signs)."""
    if named is None:
        return None
    if ctx.person_id is None:
        raise PersonalKeyRequired(
            "A team key signs nothing: a sign-off or an approval is recorded as the person of "
            f"the personal API key that makes the request ({PERSONAL_KEYS}).",
            errors={field: ["Needs the personal API key of the person who signs."]},
        )
    if named != ctx.person_id:
        raise NotTheSigner(
            f"This request is made as {ctx.person_id} (the person of its API key), who cannot "
            f"sign or approve as {named}: people sign as themselves.",
            errors={field: [f"Must be {ctx.person_id}, the person of the API key, or left out."]},
        )
    return named
