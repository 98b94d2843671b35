"""The catalog: roles, responsibilities, collaborations, challenges and applications."""

from __future__ import annotations

from flask.views import MethodView

from app.api.common import v1_blueprint
from app.catalog import Catalog, Role
from app.errors import NotFound
from app.extensions import db
from app.schemas.catalog import CatalogOut, RoleOut
from app.services.catalog import current_catalog

blp = v1_blueprint("catalog", __name__, "The catalog of roles, challenges and applications")


@blp.route("/catalog")
class CatalogView(MethodView):
    @blp.response(200, CatalogOut)
    def get(self) -> tuple[Catalog, int, dict[str, str]]:
        """The whole catalog, with its version (also its ETag)"""
        catalog = current_catalog(db.session)
        return catalog, 200, _etag(catalog)


@blp.route("/catalog/roles/<string:key>")
class RoleView(MethodView):
    @blp.response(200, RoleOut)
    def get(self, key: str) -> tuple[Role, int, dict[str, str]]:
        """One role with its responsibilities and skills"""
        catalog = current_catalog(db.session)
        role = catalog.role(key)
        if role is None:
            raise NotFound(f"No role '{key}' in the catalog.")
        return role, 200, _etag(catalog)


def _etag(catalog: Catalog) -> dict[str, str]:
    """The catalog changes only with its version: a client holding it gets 304."""
    return {"ETag": f'"{catalog.version.removeprefix("sha256:")[:32]}"'}
