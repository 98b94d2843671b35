"""The team's directory of people."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from sqlalchemy import Select

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.etags import check_if_match, etag_header, honours_if_match
from app.http.pagination import paginated
from app.http.transaction import current_context
from app.models import Person
from app.schemas.people import PersonCreate, PersonOut, PersonQuery, PersonUpdate
from app.services.directory import people

blp = v1_blueprint("people", __name__, "The team's directory of people")


@blp.route("/people")
class PeopleView(MethodView):
    @paginated(blp, PersonOut, filters=PersonQuery)
    def get(self, args: dict[str, Any]) -> Select[Person]:
        """List people, newest first; `?email=` finds the person of an address"""
        return people.people_query(current_team_id(), email=args.get("email"))

    @blp.arguments(PersonCreate)
    @blp.response(201, PersonOut)
    def post(self, data: dict[str, Any]) -> tuple[Person, int, dict[str, str]]:
        """Add a person (email unique in the team)"""
        person = people.add_person(current_session(), current_context(), current_team_id(), data)
        location = url_for(".PersonView", person_id=person.id)
        return person, 201, {**etag_header(person), "Location": location}


@blp.route("/people/<string:person_id>")
class PersonView(MethodView):
    @blp.response(200, PersonOut)
    def get(self, person_id: str) -> tuple[Person, int, dict[str, str]]:
        """One person"""
        person = people.get_person(current_session(), current_team_id(), person_id)
        return person, 200, etag_header(person)

    @honours_if_match(blp)
    @blp.arguments(PersonUpdate)
    @blp.response(200, PersonOut)
    def patch(self, data: dict[str, Any], person_id: str) -> tuple[Person, int, dict[str, str]]:
        """Change a person (honours If-Match)"""
        person = people.get_person(current_session(), current_team_id(), person_id, lock=True)
        check_if_match(person)
        person = people.update_person(current_session(), current_context(), person, data)
        return person, 200, etag_header(person)

    @honours_if_match(blp)
    @blp.response(204)
    def delete(self, person_id: str) -> None:
        """Remove a person and their assignments (honours If-Match)"""
        person = people.get_person(current_session(), current_team_id(), person_id, lock=True)
        check_if_match(person)
        people.delete_person(current_session(), current_context(), person)
