"""Field types shared by the resource schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

SLUG = validate.Regexp(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="Use lower-case letters, digits and single hyphens."
)
KEY = validate.Regexp(r"^[a-z0-9][a-z0-9.+-]*$", error="Not a catalog key.")


def name_field(max_length: int = 200, **kwargs: object) -> ma.fields.String:
    return ma.fields.String(
        validate=[
            validate.Length(min=1, max=max_length),
            validate.Regexp(r"\s*\S", error="Blank."),
        ],
        **kwargs,
    )


class Handles(ma.Schema):
    """A person's handles in the ticketing systems, used to assign tickets."""

    github = ma.fields.String(
        allow_none=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$",
            error="Not a GitHub username.",
        ),
    )
    jira = ma.fields.String(
        allow_none=True,
        validate=[validate.Length(min=1, max=128), validate.Regexp(r"^\S+$", error="No spaces.")],
    )
    linear = ma.fields.String(
        allow_none=True,
        validate=[validate.Length(min=1, max=128), validate.Regexp(r"^\S+$", error="No spaces.")],
    )
