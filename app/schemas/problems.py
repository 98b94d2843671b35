"""The shape of a problem (RFC 9457), as every error answer of the API documents it."""

from __future__ import annotations

import marshmallow as ma


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (documentation only)."""

    type = ma.fields.String(metadata={"description": "A URI naming the kind of problem"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={
            "description": "Validation failures (422), every one of the request at once: each "
            "bad field's dotted path (`email`, `assignments.2.role`, `limit`, `Idempotency-Key`; "
            "`_body` for a body that is not an object) and its messages",
            "example": {
                "person.email": ["Missing data for required field."],
                "role": ["Must be one of: ai-ethicist, data-scientist."],
            },
        },
    )
    blocking = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "A release's go/no-go refused (409 `release-blocked`): the keys of "
            "the critical release gates that hold it (not done, done without the sign-off they "
            "need, or waived without a valid waiver)"
        },
    )
    request_id = ma.fields.String()
