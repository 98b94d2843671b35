"""The process's log lines: one JSON object a line, with the request's id while one is served."""

from __future__ import annotations

import logging
from typing import IO

from flask import Flask, g, has_request_context

_LOG_HANDLER_NAME = "app"


def log_handler(stream: IO[str] | None = None) -> logging.Handler:
    """The handler every log line of the process goes through: one JSON object a line.

    `time`, `level`, `logger` and `message`, then the record's extra fields (the access
    line's request, see `app.http.request_context`), and `request_id` on any line logged
    while a request is served. Values are JSON strings, escaped: whatever a client puts in a
    path or a header cannot end a line or add a field. Written to `stream` (stderr).
    """
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=True,  # U+2028 and the like escaped too: no line splitter splits
        )
    )
    handler.addFilter(_with_request_id)
    return handler


def _with_request_id(record: logging.LogRecord) -> bool:
    if not hasattr(record, "request_id") and has_request_context():
        record.request_id = g.get("request_id")
    return True


def configure_logging(app: Flask, level: str) -> None:
    """Send every log record to one JSON handler on the root logger, at `level`.

    Building several applications in one process (the tests do) replaces the handler rather
    than adding another; Flask's own text handler on `app.logger` is taken off.

    A record is made without the caller's file and line, which no line shows and which cost a
    walk of the stack per record (the logging module's documented switch, "Optimization" in its
    HOWTO). The process and thread stay: gunicorn's own lines, in the same process, print
    `%(process)d`.
    """
    from flask.logging import default_handler

    logging._srcfile = None

    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _LOG_HANDLER_NAME]:
        root.removeHandler(handler)
    handler = log_handler()
    handler.set_name(_LOG_HANDLER_NAME)
    root.addHandler(handler)
    root.setLevel(level)
    app.logger.removeHandler(default_handler)
