"""withhold stored secrets: an Idempotency-Key's stored answer no longer keeps a secret

Until this revision, the answer of a POST made with an `Idempotency-Key` was stored whole for
a day, the signing secret of a webhook endpoint or an integration created or rotated
included. Such stored answers lose their body (a retry with their key is then told that the
first request succeeded, without the secret); the others are left as they are. Not undone
by a downgrade: the secrets are gone, as they should be.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

records = sa.table(
    "idempotency_records", sa.column("id", sa.String()), sa.column("response_body", sa.Text())
)


def _holds_a_secret(body):
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and "secret" in answer


def upgrade():
    connection = op.get_bind()
    found = connection.execute(
        sa.select(records.c.id, records.c.response_body).where(
            records.c.response_body.like('%"secret"%')
        )
    )
    withheld = [record_id for record_id, body in found if _holds_a_secret(body)]
    if withheld:
        connection.execute(
            records.update().where(records.c.id.in_(withheld)).values(response_body=None)
        )


def downgrade():
    pass
