"""People in the team's directory."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.schemas.common import Handles, name_field
from app.services.directory.emails import normalize_email

MAX_EMAIL = 254


def _fits_casefolded(email: str) -> None:
    # Casefolding may lengthen an address (`ß` becomes `ss`): what is stored must fit.
    if len(normalize_email(email)) > MAX_EMAIL:
        raise ma.ValidationError(f"Longer than {MAX_EMAIL} characters once casefolded.")


def email_field(**kwargs: Any) -> ma.fields.Email:
    """An email address; the directory stores and compares it casefolded (`normalize_email`)."""
    return ma.fields.Email(validate=[validate.Length(max=MAX_EMAIL), _fits_casefolded], **kwargs)


class PersonCreate(ma.Schema):
    EXAMPLE = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "handles": {"github": "ada-l", "jira": "ada.lovelace"},
    }

    name = name_field(120, required=True)
    email = email_field(required=True)
    handles = ma.fields.Nested(Handles, load_default=dict)


class PersonUpdate(ma.Schema):
    name = name_field(120)
    email = email_field()
    handles = ma.fields.Nested(Handles)


class PersonQuery(ma.Schema):
    email = email_field(
        metadata={
            "description": "Only the person of this email (compared casefolded: "
            "`STRASSE@example.com` finds `straße@example.com`)"
        }
    )


class PersonOut(ma.Schema):
    EXAMPLE = {
        "id": "per_akmfggcfcihdzlh4rc95babog",
        **PersonCreate.EXAMPLE,
        "created_at": "2026-03-02T09:16:02.118734+00:00",
        "updated_at": "2026-03-02T09:16:02.118734+00:00",
    }

    id = ma.fields.String()
    name = ma.fields.String()
    email = ma.fields.String()
    handles = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class PersonBrief(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    email = ma.fields.String()
    handles = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


class ErasureOut(ma.Schema):
    EXAMPLE = {
        "person_id": "per_akmfggcfcihdzlh4rc95babog",
        "pseudonym": "erased:per_akmfggcfcihdzlh4rc95babog",
        "erased_at": "2026-03-02T09:16:02.118734+00:00",
    }

    person_id = ma.fields.String(required=True, metadata={"description": "The erased person's id"})
    pseudonym = ma.fields.String(
        required=True,
        metadata={"description": "What every stored record now names them by: `erased:<id>`"},
    )
    erased_at = ma.fields.DateTime(required=True)
