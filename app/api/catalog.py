"""The catalog: roles, responsibilities, collaborations, challenges and applications."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Response, current_app
from flask.views import MethodView

from app.api.common import v1_blueprint
from app.errors import NotFound
from app.extensions import current_session
from app.http.etags import make_etag, not_modified
from app.schemas.catalog import CatalogOut, RoleOut
from app.services.catalog.model import Catalog
from app.services.catalog.store import current_catalog

blp = v1_blueprint("catalog", __name__, "The catalog of roles, challenges and applications")

# The catalog changes only when an operator seeds a new version: each answer is dumped and
# encoded once per version, then served as bytes. Entries of older versions are dropped.
_encoded: dict[tuple[str, str], bytes] = {}
_encoded_lock = threading.Lock()


def catalog_etag(version: str) -> str:
    """The ETag of every answer of catalog `version`."""
    return make_etag("catalog", version)


def encoded(version: str, part: str) -> bytes | None:
    """`part` of catalog `version` as an answer has encoded it already (None before: the view
    dumps it; `app.api.fast_reads` serves it too)."""
    return _encoded.get((version, part))


def _answer(catalog: Catalog, part: str, dump: Callable[[], Any]) -> Response:
    """`part` of the catalog (dumped by `dump` the first time), with the version's ETag; a 304
    when the client holds it."""
    etag = catalog_etag(catalog.version)
    if (unchanged := not_modified(etag)) is not None:
        return unchanged
    key = (catalog.version, part)
    body = encoded(catalog.version, part)
    if body is None:
        body = current_app.json.dumps(dump()).encode() + b"\n"
        with _encoded_lock:
            for stale in [k for k in _encoded if k[0] != catalog.version]:
                del _encoded[stale]
            _encoded[key] = body
    response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(etag)
    return response


@blp.route("/catalog")
class CatalogView(MethodView):
    @blp.response(200, CatalogOut)
    def get(self) -> Response:
        """The whole catalog, with its version; its ETag changes with the version"""
        catalog = current_catalog(current_session())
        return _answer(catalog, "catalog", lambda: CatalogOut().dump(catalog))


@blp.route("/catalog/roles/<string:key>")
class RoleView(MethodView):
    @blp.response(200, RoleOut)
    def get(self, key: str) -> Response:
        """One role with its responsibilities and skills"""
        catalog = current_catalog(current_session())
        role = catalog.role(key)
        if role is None:
            raise NotFound(f"No role '{key}' in the catalog.")
        return _answer(catalog, f"role:{key}", lambda: RoleOut().dump(role))
