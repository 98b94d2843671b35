"""casefold emails: stored emails take the form the directory now compares them in

Emails were compared lower-cased, so `straße@example.com` and `STRASSE@example.com` could be two
people; they are now compared casefolded (`app.services.directory.emails.normalize_email`). Each
stored
email is rewritten in that form (its row's version bumped, so its ETag changes), unless that
would give two people of a team one email: those are left as they are, each collision logged
as a warning naming the people, for someone to merge or correct by hand (until then the one
stored in the new form is the one a lookup by email finds). An email too long once casefolded
is left as it is too. The data change is not undone by a downgrade (the original spelling is
not kept).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

"""

import logging
import unicodedata
from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

MAX_EMAIL = 254


def _normalize(email):
    # `app.services.directory.emails.normalize_email` as of this revision (a revision imports no
    # app code).
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", email.strip()).casefold())


people = sa.table(
    "people",
    sa.column("id", sa.String),
    sa.column("team_id", sa.String),
    sa.column("email", sa.String),
    sa.column("version", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade():
    bind = op.get_bind()
    rows = bind.execute(sa.select(people.c.id, people.c.team_id, people.c.email)).all()
    by_address = defaultdict(list)
    for row in rows:
        by_address[(row.team_id, _normalize(row.email))].append(row)
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored naive in UTC there, as the models do
    for (team_id, email), group in sorted(by_address.items()):
        if len(group) > 1:
            log.warning(
                "emails not casefolded: people %s of team %s would all have the email %r; "
                "merge or correct them by hand",
                ", ".join(f"{row.id} ({row.email})" for row in group),
                team_id,
                email,
            )
            continue
        (row,) = group
        if row.email == email:
            continue
        if len(email) > MAX_EMAIL:
            log.warning("email of %s not casefolded: %r would be too long", row.id, row.email)
            continue
        bind.execute(
            people.update()
            .where(people.c.id == row.id)
            .values(email=email, version=people.c.version + 1, updated_at=now)
        )


def downgrade():
    pass  # the emails stay casefolded: their original spelling is not kept
