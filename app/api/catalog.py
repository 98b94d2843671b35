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
    def get(self) -> Catalog:
        """The whole catalog, with its version"""
        return current_catalog(db.session)


@blp.route("/catalog/roles/<string:key>")
class RoleView(MethodView):
    @blp.response(200, RoleOut)
    def get(self, key: str) -> Role:
        """One role with its responsibilities and skills"""
        role = current_catalog(db.session).role(key)
        if role is None:
            raise NotFound(f"No role '{key}' in the catalog.")
        return role
