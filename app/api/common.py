"""The v1 blueprint factory: every `/v1` route gets auth, scopes and idempotency from here."""

from __future__ import annotations

from typing import Any

import flask
from flask import Response, g
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

from app.errors import Unauthorized
from app.http import idempotency
from app.http.auth import authorize
from app.http.etags import conditional_get
from app.http.rate_limits import limit_v1_request


class CheckedJsonParser(FlaskParser):
    """Takes the JSON body the request check already decoded and vetted (`g.json_body`)."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if "json_body" in g:
            return g.json_body
        return super()._raw_load_json(req)


class V1Blueprint(Blueprint):
    ARGUMENTS_PARSER = CheckedJsonParser()


def v1_blueprint(
    name: str, import_name: str, description: str, *, write_scope: str = "write"
) -> Blueprint:
    """A blueprint under `/v1` whose requests are authenticated by API key.

    GET needs the `read` scope; other methods need `write_scope`. POSTs honour
    `Idempotency-Key`. GETs answer 304 when the client's ETag is current.
    """
    blp = V1Blueprint(name, import_name, url_prefix="/v1", description=description)

    @blp.before_request
    def _authorize() -> Response | None:
        try:
            authorize(write_scope)
        except Unauthorized:
            limit_v1_request(None)
            raise
        limit_v1_request(g.api_key.id)
        return idempotency.claim()

    @blp.after_request
    def _finish(response: Response) -> Response:
        return conditional_get(idempotency.store(response))

    return blp
