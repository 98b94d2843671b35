"""The team dashboard: JSON, or its page (`text/html`) with the coverage and load pictures."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.etags import make_etag
from app.http.formats import formatted_response, negotiated
from app.render import FORMATS, render
from app.render.dashboard import render_dashboard_html
from app.schemas.dashboard import DashboardOut, DashboardQuery
from app.services.catalog.store import current_catalog
from app.services.staffing.dashboard import team_dashboard

blp = v1_blueprint("dashboard", __name__, "The team dashboard, as JSON or a page")

DASHBOARD_FORMATS = ("json", "html")
DASHBOARD_RESPONSES = {
    "200": {
        "description": "OK",
        "content": {
            FORMATS["json"]: {"schema": DashboardOut},
            FORMATS["html"]: {"schema": {"type": "string"}},
        },
    }
}


@blp.route("/dashboard")
class DashboardView(MethodView):
    @blp.arguments(DashboardQuery, location="query")
    @blp.response(200, DashboardOut)
    @blp.doc(responses=DASHBOARD_RESPONSES)
    @blp.alt_response(406, response="NOT_ACCEPTABLE")
    def get(self, args: dict[str, Any]) -> Response:
        """Per active project: items by status and priority, open critical and high gates,
        unsigned gates, waivers ending within 30 days, staffing findings; team-wide: role
        coverage and each person's load. `text/html` (or `?format=html`) gives its page."""
        return negotiated(
            lambda fmt: dashboard_answer(current_team_id(), fmt), formats=DASHBOARD_FORMATS
        )


def dashboard_answer(team_id: str, fmt: str) -> Response:
    """Team `team_id`'s dashboard in `fmt` (also what a dashboard share link opens)."""
    session = current_session()
    dashboard = team_dashboard(
        session, current_catalog(session), team_id, current_app.config["SETTINGS"]
    )
    doc = DashboardOut().dump(dashboard)
    body = render_dashboard_html(doc) if fmt == "html" else render(doc, "json")
    # The answer is computed whole (it depends on the day and on every project's items and
    # staffing), so its ETag is its digest: a client holding it gets a 304.
    return formatted_response(body, fmt, etag=make_etag("dashboard", fmt, body))
