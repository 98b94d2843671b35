"""The governance policy: what a waiver needs, by the priority of its item."""

from __future__ import annotations

import json
from typing import Any

from flask.views import MethodView

from app.api.common import v1_blueprint
from app.http.etags import make_etag
from app.schemas.policy import PolicyOut
from app.services.checklists.waiver_policy import policy_document

blp = v1_blueprint("policy", __name__, "The governance policy: what a waiver needs")

# The policy changes only with the code: built once, and its ETag (the one mechanism's
# digest, of the policy as JSON) with it.
_POLICY = PolicyOut().dump(policy_document())
_ETAG = make_etag("policy", json.dumps(_POLICY, sort_keys=True))


@blp.route("/policy")
class PolicyView(MethodView):
    @blp.response(200, PolicyOut)
    def get(self) -> tuple[dict[str, Any], int, dict[str, str]]:
        """The waiver policy by item priority: approver, expiry, reason and residual risk"""
        return _POLICY, 200, {"ETag": f'"{_ETAG}"'}
