"""The activity feed: every change, newest first."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import Select

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.pagination import paginated
from app.models import Event
from app.schemas.events import EventOut
from app.services.directory.projects import get_project
from app.services.events import events_query
from app.services.webhooks.event_types import EVENT_TYPES

blp = v1_blueprint("events", __name__, "The activity feed and audit trail")


class EventQuery(ma.Schema):
    type = ma.fields.String(
        validate=ma.validate.OneOf(list(EVENT_TYPES)),
        metadata={"description": "Only events of this type (see GET /v1/event-types)"},
    )


@blp.route("/events")
class TeamEventsView(MethodView):
    @paginated(blp, EventOut, filters=EventQuery)
    def get(self, args: dict[str, Any]) -> Select[Event]:
        """Every event of the team"""
        return events_query(current_team_id(), type_=args.get("type"))


@blp.route("/projects/<string:project_ref>/events")
class ProjectEventsView(MethodView):
    @paginated(blp, EventOut, filters=EventQuery)
    def get(self, args: dict[str, Any], project_ref: str) -> Select[Event]:
        """The project's activity feed"""
        project = get_project(current_session(), current_team_id(), project_ref)
        return events_query(project.team_id, project_id=project.id, type_=args.get("type"))
