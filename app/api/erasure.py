"""Erasing a person: out of the directory, and their personal data out of every record."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.transaction import current_context
from app.schemas.people import ErasureOut
from app.services.directory import erasure

blp = v1_blueprint(
    "erasure",
    __name__,
    "Erasing a person everywhere: the right to be forgotten (needs `admin`)",
    write_scope="admin",
)


@blp.route("/people/<string:person_id>/erase")
class ErasureView(MethodView):
    @blp.response(200, ErasureOut)
    def post(self, person_id: str) -> dict[str, Any]:
        """Erase a person: remove them, and replace their name, email and handles by their
        pseudonym (`erased:<id>`) in every stored record; a `person.erased` event.
        Erasing them again answers the same"""
        done = erasure.erase(current_session(), current_context(), current_team_id(), person_id)
        return {
            "person_id": done.person_id,
            "pseudonym": erasure.pseudonym(done.person_id),
            "erased_at": done.erased_at,
        }
