"""The fast path: a thin WSGI layer in front of Flask that answers the hottest, simplest reads
itself, and hands everything else to Flask untouched.

It answers:

- `GET /healthz`;
- `GET /v1/projects/<ref>/checklist` without a query string, in JSON (no `Accept`, `*/*` or
  `application/json`), or with only `?format=json` or `?format=markdown` (no filters, the
  default layout), with a key the key cache holds: a 304 when the client's `If-None-Match`
  holds the checklist's current ETag, the 200 when its rendering is already in
  `render_cache` (it never renders);
- `GET /v1/catalog`, on the same terms: the 304 when the client holds the current version's
  ETag, the 200 when the catalog view has already encoded that version.

For these it does what Flask's path does, by calling the same functions: the key from the key
cache (`secret_hash_of`, `KeyCache`), the shared rate limit's one hit (`DirectBudget`), the
key generation that hit reads (as `confirm`), the read scope (`VerifiedKey.allows`), the
checklist's header by the team's project (`checklist_header_read`: the statement the view
runs, compiled once and run on a pooled connection by the driver, outside a transaction, see
`app.services.driver_reads`), the ETag (`cache_key`, `make_etag`), the rendering cache
(`cached_rendering`), the catalog's version, ETag and encoded answer (`latest_version_read`,
`catalog_etag`, `encoded`), the request id (`request_id_for`),
the access line (`log_access`), the metrics (`count_request`), the key's use
(`note_key_use`) and the rate-limit headers (`window_headers`).
`tests/api/test_fast_reads.py` holds each answer equal to Flask's (`FAST_READS` off), status,
body and every header.

Anything else goes to Flask as it came (its body unread): another method, a query string,
another `Accept`, a conditional header other than `If-None-Match`, a path that is not plain,
no key or a malformed one, a key not in the cache, revoked, of another generation or without
the read scope, a budget spent, a storage that fails, a checklist not found (another team's
project, a missing one), a rendering not cached, any exception. A request handed over after
its hit carries that hit in the environ (`PRECOUNTED`): Flask's count takes it instead of
hitting the budget again, so a request is counted once whichever path answers it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from sqlalchemy import Engine
from werkzeug.http import http_date, parse_etags, quote_etag
from werkzeug.utils import get_content_type

from app.api.catalog import catalog_etag, encoded
from app.api.operations import healthy_body
from app.errors import Unauthorized
from app.extensions import db
from app.http.auth import VerifiedKey, key_cache_of, secret_hash_of
from app.http.etags import make_etag
from app.http.key_use import key_use_log, note_key_use
from app.http.metrics import count_request
from app.http.rate_limits import PRECOUNTED, DirectBudget, Precounted, window_headers
from app.http.request_context import log_access, request_id_for
from app.render import DEFAULT_LAYOUT, FORMATS
from app.services.catalog.store import latest_version_read
from app.services.checklists.reads import cache_key, cached_rendering, checklist_header_read
from app.services.driver_reads import DriverReads

HEALTHZ = "/healthz"
CATALOG = "/v1/catalog"
CHECKLIST_ROUTE = "/v1/projects/<string:project_ref>/checklist"
# A plain project reference (an id, `prj_…`, or a slug): anything else is Flask's to answer.
_CHECKLIST_PATH = re.compile(r"/v1/projects/([A-Za-z0-9_-]{1,128})/checklist")
# The query strings of a checklist read that ask only for a format (`negotiate_format` takes
# `format` over `Accept`), with the default layout and no filters: the format each asks for.
_FORMAT_QUERIES = {"": "json", "format=json": "json", "format=markdown": "markdown"}
# The `Accept` values that negotiate JSON (`negotiate_format`'s default) beyond doubt.
_JSON_ACCEPT = frozenset({"", "*/*", "application/json"})
# Conditional and range headers that Flask's `make_conditional` would weigh: not ours.
_OTHER_CONDITIONS = (
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
    "HTTP_RANGE",
)

StartResponse = Callable[..., Any]
# The status line, the headers, the body, and what to log and count once it is decided
# (`FastReads._done`'s arguments: route, path, status, request id, team, key).
Done = tuple[str, str, int, str, str | None, str | None]
Answer = tuple[str, list[tuple[str, str]], bytes, Done]
# What a read found: the status, the headers of the resource, the body.
Read = tuple[int, list[tuple[str, str]], bytes]
# A read, given the key and the client's `If-None-Match`: its answer, or None for Flask's.
Reader = Callable[[VerifiedKey, str | None], Read | None]


class FastReads:
    """The WSGI application in front of `app.wsgi_app` (see the module); on while the app's
    `FAST_READS` is (read on every request: a test may turn it off and on)."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        # How many requests this layer answered itself (a test reads it).
        self.answered = 0
        self.keys = key_cache_of(app)
        self.budget: DirectBudget = app.extensions["v1_rate_limit_direct"]
        self.uses = key_use_log(app)
        with app.app_context():
            self.engine: Engine = db.engine
        reads = DriverReads(self.engine)
        self.header = checklist_header_read(reads)
        self.latest_version = latest_version_read(reads)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or not self.app.config.get("FAST_READS", True):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        answer: Answer | None = None
        if path == HEALTHZ and not query:
            try:
                answer = self._healthz(environ)
            except Exception:  # Flask answers it, and says what went wrong
                answer = None
        elif (match := _CHECKLIST_PATH.fullmatch(path)) is not None and (
            fmt := _FORMAT_QUERIES.get(query)
        ) is not None:
            answer = self._guarded(
                environ, CHECKLIST_ROUTE, self._checklist(match.group(1), fmt), asked=bool(query)
            )
        elif path == CATALOG and not query:
            answer = self._guarded(environ, CATALOG, self._catalog)
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body, done = answer
        self._done(*done, started)
        self.answered += 1
        start_response(status, headers)
        return [body]

    def _guarded(
        self,
        environ: dict[str, Any],
        route: str,
        read: Reader,
        *,
        asked: bool = False,
    ) -> Answer | None:
        try:
            return self._keyed(environ, route, read, asked=asked)
        except Exception:  # Flask answers it, and says what went wrong
            return None

    def _healthz(self, environ: dict[str, Any]) -> Answer:
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        body = healthy_body(self.app)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-Request-ID", request_id),
        ]
        return "200 OK", headers, body, (HEALTHZ, HEALTHZ, 200, request_id, None, None)

    def _keyed(
        self,
        environ: dict[str, Any],
        route: str,
        read: Reader,
        *,
        asked: bool = False,
    ) -> Answer | None:
        """A `/v1` read with a cached key: authenticated, counted, confirmed and authorized
        as Flask's blueprint hook does, then `read` (given the key and the client's
        `If-None-Match`) says the answer, or None for Flask's. `asked`: the
        query names the format, which `Accept` then does not choose."""
        if not asked and environ.get("HTTP_ACCEPT", "") not in _JSON_ACCEPT:
            return None
        if any(name in environ for name in _OTHER_CONDITIONS):
            return None
        if not self.keys.enabled or not self.budget.usable():
            return None
        try:
            secret_hash = secret_hash_of(environ.get("HTTP_AUTHORIZATION", ""))
        except Unauthorized:
            return None
        entry = self.keys.get(secret_hash)
        if entry is None or entry.key.revoked_at is not None:
            return None
        key = entry.key
        identity = f"key:{key.id}"
        try:
            counted = self.budget.counted(identity)
        except Exception:
            # Not counted: Flask's count goes straight to the library's path, as after a
            # direct hit that failed there.
            environ[PRECOUNTED] = Precounted(identity, None)
            return None
        # From here on, Flask takes this hit rather than making another.
        environ[PRECOUNTED] = Precounted(identity, counted)
        allowed, window = counted
        self.keys.saw(window.generation)  # as `confirm` does
        if not allowed or window.generation != entry.generation or not key.allows("read"):
            return None
        found = read(key, environ.get("HTTP_IF_NONE_MATCH"))
        if found is None:
            return None
        code, headers, body = found
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        headers += window_headers(window, code)
        headers.append(("X-Request-ID", request_id))
        note_key_use(self.uses, key.id, self.engine)
        path = environ.get("PATH_INFO", "")
        status = "304 NOT MODIFIED" if code == 304 else "200 OK"
        # Answered here: nothing is left for Flask to take (the last step that could fail).
        del environ[PRECOUNTED]
        return status, headers, body, (route, path, code, request_id, key.team_id, key.id)

    def _checklist(self, ref: str, fmt: str) -> Reader:
        """The checklist view's short path (`checklist_answer`) for a query that names at most
        its format (`fmt`): no filters, the default layout."""

        def read(key: VerifiedKey, if_none_match: str | None) -> Read | None:
            header = self.header(key.team_id, ref)
            if header is None:
                return None
            rendering = cache_key(header.checklist_id, header.state, fmt, {}, DEFAULT_LAYOUT)
            etag = make_etag(*rendering)
            if parse_etags(if_none_match).contains(etag):
                return 304, [("ETag", quote_etag(etag)), ("Vary", "Accept")], b""
            body = cached_rendering(rendering)
            if body is None:
                return None
            return 200, [*_typed(body, etag, FORMATS[fmt]), ("Vary", "Accept"), _date()], body

        return read

    def _catalog(self, _key: VerifiedKey, if_none_match: str | None) -> Read | None:
        """The catalog view (`_answer`): its version, then a 304 or the answer encoded."""
        version = self.latest_version()
        if version is None:
            return None
        etag = catalog_etag(version)
        if parse_etags(if_none_match).contains(etag):
            return 304, [("ETag", quote_etag(etag))], b""
        body = encoded(version, "catalog")
        if body is None:
            return None
        return 200, [*_json(body, etag), _date()], body

    @staticmethod
    def _done(
        route: str,
        path: str,
        status: int,
        request_id: str,
        team_id: str | None,
        api_key_id: str | None,
        started: float,
    ) -> None:
        """What every answer ends with: its metrics and its access line."""
        count_request("GET", route, status, started)
        log_access(
            "GET",
            route,
            path,
            status,
            request_id=request_id,
            team_id=team_id,
            api_key_id=api_key_id,
            started=started,
        )


def _json(body: bytes, etag: str) -> list[tuple[str, str]]:
    return _typed(body, etag, "application/json")


def _typed(body: bytes, etag: str, mimetype: str) -> list[tuple[str, str]]:
    """The headers Flask's response class gives `body` as `mimetype` (a text type with its
    charset), with its ETag."""
    return [
        ("Content-Type", get_content_type(mimetype, "utf-8")),
        ("Content-Length", str(len(body))),
        ("ETag", quote_etag(etag)),
    ]


def _date() -> tuple[str, str]:
    """`make_conditional` (the v1 blueprint's `conditional_get`) dates a GET's 200."""
    return "Date", http_date()


def install(app: Flask) -> None:
    """Put the fast path in front of the app's WSGI application (see `FAST_READS`)."""
    app.wsgi_app = FastReads(app, app.wsgi_app)  # type: ignore[method-assign]
