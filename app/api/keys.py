"""A person's personal API keys: with one, the person signs off and approves as themselves."""

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
from app.models import ApiKey
from app.schemas.keys import KeyCreated, KeyOut, PersonalKeyCreate
from app.services.directory import people, teams

blp = v1_blueprint(
    "keys",
    __name__,
    "Personal API keys: a person signs off and approves with their own (changes need `admin`)",
    write_scope="admin",
)

# What a key's answer shows of it (`KeyOut`), as attributes of the model.
_SHOWN = (
    "id",
    "name",
    "prefix",
    "scope_list",
    "person_id",
    "created_at",
    "last_used_at",
    "revoked_at",
)


@blp.route("/people/<string:person_id>/keys")
class PersonalKeysView(MethodView):
    @paginated(blp, KeyOut)
    def get(self, person_id: str) -> Select[ApiKey]:
        """List a person's keys, newest first (never their secrets)"""
        people.get_person(current_session(), current_team_id(), person_id)
        return teams.personal_keys_query(current_team_id(), person_id)

    @blp.arguments(PersonalKeyCreate)
    @blp.response(201, KeyCreated)
    def post(
        self, data: dict[str, Any], person_id: str
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Create a personal key of this person; the answer holds the key, shown only this once"""
        session = current_session()
        person = people.get_person(session, current_team_id(), person_id)
        team = teams.find_team(session, current_team_id())
        key, token = teams.create_key(
            session,
            current_context(),
            team,
            data["scopes"],
            data.get("name", ""),
            person=person,
        )
        location = url_for(".PersonalKeyView", person_id=person.id, key_id=key.id)
        created = {name: getattr(key, name) for name in _SHOWN}
        return {**created, "secret": token}, 201, {**etag_header(key), "Location": location}


@blp.route("/people/<string:person_id>/keys/<string:key_id>")
class PersonalKeyView(MethodView):
    @blp.response(200, KeyOut)
    def get(self, person_id: str, key_id: str) -> tuple[ApiKey, int, dict[str, str]]:
        """One of a person's keys"""
        key = teams.get_personal_key(current_session(), current_team_id(), person_id, key_id)
        return key, 200, etag_header(key)

    @honours_if_match(blp)
    @blp.response(204)
    def delete(self, person_id: str, key_id: str) -> None:
        """Revoke one of a person's keys: requests with it get 401 from now on (honours
        If-Match)"""
        session = current_session()
        key = teams.get_personal_key(session, current_team_id(), person_id, key_id, lock=True)
        check_if_match(key)
        teams.revoke_key(session, current_context(), key.id)
