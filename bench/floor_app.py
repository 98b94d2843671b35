"""The floor: what an authenticated conditional GET of a checklist must do, in bare Flask.

`bench/server_bench.py` runs it under the same gunicorn as the service, beside it, and
compares each of the service's rows with this app's: the service may do more (problem+json,
the access log, metrics, request ids, a shared rate limit, tenancy, formats), but not much
more slowly than this. Per request it does only what such a GET cannot skip:

- reads the bearer key from a dict (the token → key id of the benchmark's one key) and counts
  it (a per-process counter: no shared budget);
- reads one row by its primary key through the driver (`sqlite3` or psycopg 3): the
  checklist's id and state;
- compares the `If-None-Match` ETag with the one that state gives, and answers 304, or 200
  with the service's own bytes of that checklist (fetched once by the benchmark and given as
  a file).

`/healthz` answers `{"status": "ok"}`: bare Flask under the same gunicorn.

Configured by the environment (the benchmark sets it):

    FLOOR_DATABASE_URL   sqlite:///PATH or postgresql://…
    FLOOR_TOKEN          the bearer token it accepts
    FLOOR_CHECKLIST_ID   the checklist whose state it reads
    FLOOR_BODY           a file holding the bytes it answers with (JSON)

Run by hand: `FLOOR_…=… .venv/bin/python -m gunicorn --chdir bench floor_app:app`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

DATABASE_URL = os.environ.get("FLOOR_DATABASE_URL", "")
TOKEN = os.environ.get("FLOOR_TOKEN", "")
CHECKLIST_ID = os.environ.get("FLOOR_CHECKLIST_ID", "")
BODY_FILE = os.environ.get("FLOOR_BODY", "")

KEYS = {TOKEN: "floor-key"}  # token -> key id
USES: dict[str, int] = {}  # key id -> requests counted in this process
BODY = Path(BODY_FILE).read_bytes() if BODY_FILE else b"{}"

app = Flask(__name__)
_connection: Any = None


def connection() -> Any:
    """This worker's one connection (opened after gunicorn forked it)."""
    global _connection
    if _connection is None:
        if DATABASE_URL.startswith("sqlite:///"):
            import sqlite3

            _connection = sqlite3.connect(DATABASE_URL[len("sqlite:///") :], isolation_level=None)
        else:
            import psycopg

            url = DATABASE_URL.replace("postgresql+psycopg://", "postgresql://")
            _connection = psycopg.connect(url, autocommit=True)
    return _connection


_BY_ID = {
    "sqlite": "SELECT id, state FROM checklists WHERE id = ?",
    "postgresql": "SELECT id, state FROM checklists WHERE id = %s",
}


def read_state(checklist_id: str) -> tuple[str, int] | None:
    sql = _BY_ID["sqlite" if DATABASE_URL.startswith("sqlite") else "postgresql"]
    row = connection().execute(sql, (checklist_id,)).fetchone()
    return None if row is None else (row[0], row[1])


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/checklist")
def checklist() -> Response:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    key_id = KEYS.get(token) if scheme == "Bearer" else None
    if key_id is None:
        return Response(status=401)
    USES[key_id] = USES.get(key_id, 0) + 1
    state = read_state(CHECKLIST_ID)
    if state is None:
        return Response(status=404)
    etag = hashlib.sha256(repr(state).encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(BODY, mimetype="application/json")
    response.set_etag(etag)
    return response
