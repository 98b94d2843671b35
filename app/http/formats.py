"""Checklist formats over HTTP: negotiated (`?format=` first, then `Accept`; 406 for the rest)
on an operation that answers in any, or fixed by a format path's suffix (`checklist.md`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from flask import Response, current_app, request

from app.errors import Problem
from app.render import FORMATS

_BY_MIMETYPE = {mimetype: fmt for fmt, mimetype in FORMATS.items()}

# The formats' path suffixes: `GET …/checklist.md` is `GET …/checklist?format=markdown`,
# documented with its one media type, which a client generated from the description reads as
# text (it reads only JSON from an operation that offers JSON among others).
SUFFIXES: Mapping[str, str] = {"markdown": "md", "csv": "csv", "text": "txt", "html": "html"}
# The page runs nothing and loads nothing but its inline style, and no other site frames it:
# a value that slipped past escaping could do no harm.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def negotiate_format(default: str = "json", formats: Collection[str] = FORMATS) -> str:
    """The format the client asked for, of `formats` (every checklist format unless said);
    `default` when it did not say (no `Accept`, or one any format satisfies alike, as
    `*/*`)."""
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in formats:
            raise _not_acceptable(f"Unknown format '{fmt}'.", formats)
        return fmt
    if not request.accept_mimetypes:
        return default
    # Of formats the client accepts alike, the first offered wins: the default first.
    offered = [FORMATS[default], *(FORMATS[f] for f in formats if f != default)]
    best = request.accept_mimetypes.best_match(offered)
    if best is None:
        raise _not_acceptable(f"Cannot answer in {request.headers.get('Accept')!r}.", formats)
    return _BY_MIMETYPE[best]


def negotiated(
    answer: Callable[[str], Response],
    default: str = "json",
    formats: Collection[str] = FORMATS,
) -> Response:
    """`answer` in the format the client asked for (`default` if it did not say) of
    `formats`, saying that it varies by `Accept`.

    A format path's answer does not: its suffix fixes the format, and its `Accept` is
    disregarded, as RFC 9110 (12.5.1) lets a server do rather than answer 406."""
    response = answer(negotiate_format(default, formats))
    response.vary.add("Accept")
    return response


def _not_acceptable(reason: str, formats: Collection[str]) -> Problem:
    return Problem(
        f"{reason} Ask for ?format={'|'.join(formats)}, or Accept: "
        + ", ".join(FORMATS[f] for f in formats)
        + ".",
        status=406,
        title="Not acceptable",
        slug="not-acceptable",
    )


def formatted_response(
    body: str | bytes, fmt: str, *, status: int = 200, etag: str | None = None
) -> Response:
    response = current_app.response_class(body, status=status, mimetype=FORMATS[fmt])
    if etag is not None:
        response.set_etag(etag)
    if fmt == "html":
        response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response
