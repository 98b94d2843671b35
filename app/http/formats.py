"""Content negotiation for checklists: `?format=` first, then `Accept`; 406 for the rest."""

from __future__ import annotations

from flask import Response, current_app, request

from app.errors import Problem
from app.render import FORMATS

_BY_MIMETYPE = {mimetype: fmt for fmt, mimetype in FORMATS.items()}


def negotiate_format() -> str:
    """The checklist format the client asked for; JSON when it did not say."""
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in FORMATS:
            raise _not_acceptable(f"Unknown format '{fmt}'.")
        return fmt
    if not request.accept_mimetypes:
        return "json"
    best = request.accept_mimetypes.best_match(list(FORMATS.values()))
    if best is None:
        raise _not_acceptable(f"Cannot answer in {request.headers.get('Accept')!r}.")
    return _BY_MIMETYPE[best]


def _not_acceptable(reason: str) -> Problem:
    return Problem(
        f"{reason} Ask for ?format=json|markdown|csv|text, or Accept: "
        + ", ".join(FORMATS.values())
        + ".",
        status=406,
        title="Not acceptable",
        slug="not-acceptable",
    )


def formatted_response(
    body: str, fmt: str, *, status: int = 200, etag: str | None = None
) -> Response:
    response = current_app.response_class(body, status=status, mimetype=FORMATS[fmt])
    response.vary.add("Accept")
    if etag is not None:
        response.set_etag(etag)
    return response
