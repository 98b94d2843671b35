"""The activity feed: every change, newest first."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select

from app.api.common import v1_blueprint
from app.extensions import db
from app.http.auth import current_team_id
from app.http.pagination import Page, PageArgs, page_schema, paginate
from app.models import Event
from app.schemas.events import EventOut
from app.services.event_types import EVENT_TYPES
from app.services.projects import get_project

blp = v1_blueprint("events", __name__, "The activity feed and audit trail")
EventPage = page_schema(EventOut, "EventPage")


class EventQuery(PageArgs):
    type = ma.fields.String(
        validate=ma.validate.OneOf(list(EVENT_TYPES)),
        metadata={"description": "Only events of this type (see GET /v1/event-types)"},
    )


def _page(stmt: Any, args: dict[str, Any]) -> tuple[Page[Event], int, dict[str, str]]:
    if "type" in args:
        stmt = stmt.where(Event.type == args["type"])
    page = paginate(stmt, Event, args)
    return page, 200, page.headers


@blp.route("/events")
class TeamEventsView(MethodView):
    @blp.arguments(EventQuery, location="query")
    @blp.response(200, EventPage)
    def get(self, args: dict[str, Any]) -> tuple[Page[Event], int, dict[str, str]]:
        """Every event of the team"""
        return _page(select(Event).where(Event.team_id == current_team_id()), args)


@blp.route("/projects/<string:project_ref>/events")
class ProjectEventsView(MethodView):
    @blp.arguments(EventQuery, location="query")
    @blp.response(200, EventPage)
    def get(
        self, args: dict[str, Any], project_ref: str
    ) -> tuple[Page[Event], int, dict[str, str]]:
        """The project's activity feed"""
        project = get_project(db.session, current_team_id(), project_ref)
        return _page(select(Event).where(Event.project_id == project.id), args)
