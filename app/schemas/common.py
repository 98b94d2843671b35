"""Field types shared by the resource schemas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from marshmallow import validate

SLUG = validate.Regexp(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="Use lower-case letters, digits and single hyphens."
)
KEY = validate.Regexp(r"^[a-z0-9][a-z0-9.+-]*$", error="Not a catalog key.")


class RequestSchema(ma.Schema):
    """A request body. No string in it may hold a NUL character: PostgreSQL cannot store one,
    so it is refused here, naming the field, on every database alike."""

    @ma.pre_load
    def reject_nul_characters(self, data: Any, **_: object) -> Any:
        if isinstance(data, Mapping):
            bad = {
                name: ["Must not contain NUL characters."]
                for name, value in data.items()
                if isinstance(value, str) and "\x00" in value
            }
            if bad:
                raise ma.ValidationError(bad)
        return data


def name_field(max_length: int = 200, **kwargs: object) -> ma.fields.String:
    return ma.fields.String(
        validate=[
            validate.Length(min=1, max=max_length),
            validate.Regexp(r"\s*\S", error="Blank."),
        ],
        **kwargs,
    )


class Handles(RequestSchema):
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
