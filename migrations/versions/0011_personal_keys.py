"""personal keys: an API key may belong to a person, who signs as themselves with it

- `api_keys.person_id`: the person a personal key acts as (null: a team key, as every key
  was before). A person's keys go with them.
- `checklist_items.signed_off_with`: the personal key a sign-off was made with. Waivers keep
  the key of their approval in their JSON (`approved_with`).
- `events.actor_person_id`: the person the actor was, when proven.

Existing sign-offs and waiver approvals were named in request bodies made with team keys:
they stay as they are (who they name, when), with no key (`signed_off_with` null, no
`approved_with`), which is how a reader tells them from a sign-off made with the signer's own
key. Existing keys stay team keys.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_keys_person_id"), ["person_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_keys_person_id_people"),
            "people",
            ["person_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("checklist_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_off_with", sa.String(length=40), nullable=True))
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_person_id", sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("actor_person_id")
    with op.batch_alter_table("checklist_items", schema=None) as batch_op:
        batch_op.drop_column("signed_off_with")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_keys_person_id_people"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_keys_person_id"))
        batch_op.drop_column("person_id")
