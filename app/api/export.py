"""A team's data as newline-delimited JSON, streamed (`admin`): for an audit, or to move the
team to another instance with `flask teams import`."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response
from flask.views import MethodView

from app.api.common import v1_blueprint
from app.extensions import current_session, db, snapshot
from app.http.auth import current_team_id
from app.services.catalog.store import current_catalog
from app.services.directory.teams import find_team
from app.services.export import MEDIA_TYPE, export_lines
from app.services.migrations import head_revision

blp = v1_blueprint(
    "export",
    __name__,
    "The team's data as newline-delimited JSON (an `admin` key)",
    write_scope="admin",
    read_scope="admin",
)


@blp.route("/export")
class ExportView(MethodView):
    @blp.response(200)
    @blp.doc(
        responses={
            "200": {
                "description": 'One record a line, `{"type", "data"}`: the `export` '
                "header, then `person`, `project`, `assignment`, `release`, `checklist`, "
                "`checklist_item`, `checklist_item_owner`, `checklist_revision`, "
                "`checklist_item_version`, `event`, `webhook_endpoint` and `integration` "
                "records (no secret), then an `end` line with the count of records",
                "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
            }
        }
    )
    def get(self) -> Response:
        """Export the team (an admin key): every record of the team, one snapshot, streamed as
        newline-delimited JSON; no secret (API keys, share links, webhook endpoints' and
        integrations' secrets) and no log (deliveries, idempotency records) is exported"""
        session = current_session()
        team = find_team(session, current_team_id())
        team_id, filename = team.id, f"{team.slug}-export.ndjson"
        catalog_version = current_catalog(session).version
        engine = db.engine

        def lines() -> Iterator[str]:
            # Streamed once the view has answered: on a connection and snapshot of its own.
            with snapshot(engine) as connection:
                yield from export_lines(
                    connection, team_id, migration=head_revision(), catalog_version=catalog_version
                )

        return Response(
            lines(),
            mimetype=MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "private, no-store",
            },
        )
