"""Alembic environment: runs the revisions against the Flask app's database."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

migrate_ext = current_app.extensions["migrate"]
engine = migrate_ext.db.engine
config.set_main_option(
    "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def render_item(type_, obj, autogen_context):
    """Render our column types as plain SQLAlchemy types: revisions never import the app."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and "JSON" in type(obj).__name__:
        # JSON renders with a JSONB variant whose `astext_type=Text()` needs this import.
        autogen_context.imports.add("from sqlalchemy import Text")
    return False


def skip_empty_revision(context, revision, directives):
    """`flask db migrate` writes nothing when models and schema agree."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=migrate_ext.db.metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_foreign_keys(connection, on):
    """Turn SQLite's foreign keys on or off for this connection. Off while migrating: a batch
    operation that SQLite cannot do in place rebuilds the table (copy, drop the old, rename),
    and with foreign keys on, dropping the old table would cascade: a rebuilt `projects`
    would take every checklist, item and event with it. The pragma only works outside a
    transaction, and every transaction of the app's engine begins with a `BEGIN` of its own
    (app/extensions.py), so it goes to the driver's connection, between transactions."""
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_sqlite_foreign_keys(connection):
    """What the migrations left must still hold together: a row pointing at nothing fails
    the upgrade (before foreign keys are on again) rather than surfacing later."""
    driver = connection.connection.driver_connection
    broken = driver.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"The migrations left rows that point at nothing: {broken[:10]}")


def run_migrations_online():
    conf_args = dict(migrate_ext.configure_args)
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("process_revision_directives", skip_empty_revision)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            _sqlite_foreign_keys(connection, on=False)
        try:
            context.configure(
                connection=connection, target_metadata=migrate_ext.db.metadata, **conf_args
            )
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                _check_sqlite_foreign_keys(connection)
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
