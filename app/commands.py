"""The unit of work of a command (`flask …`): one transaction, as a request has one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

from app.extensions import db
from app.services.context import Context


@contextmanager
def command_transaction() -> Iterator[Context]:
    """A command's one transaction: committed when the command's work succeeds, rolled back
    (changing nothing) when it fails. Yields the context services record events with."""
    try:
        yield Context("cli", settings=current_app.config["SETTINGS"])
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
