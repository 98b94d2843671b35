"""The governance policy: what a waiver needs, by the priority of its item."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.etags import make_etag, not_modified
from app.schemas.policy import PolicyOut
from app.services.catalog.store import current_catalog
from app.services.checklists.waiver_policy import policy_document, policy_of

blp = v1_blueprint("policy", __name__, "The governance policy: what a waiver needs")


@blp.route("/policy")
class PolicyView(MethodView):
    @blp.response(200, PolicyOut)
    def get(self) -> Response | tuple[dict[str, Any], int, dict[str, str]]:
        """The waiver policy by item priority: approver, expiry, reason and residual risk"""
        catalog = current_catalog(current_session())
        # The policy is the catalog's: it changes only with the catalog's version.
        etag = make_etag("policy", catalog.version)
        if (unchanged := not_modified(etag)) is not None:
            return unchanged
        return policy_document(policy_of(catalog)), 200, {"ETag": f'"{etag}"'}
