"""The body limit holds however the body is framed: with a Content-Length or chunked.

A chunked body has no length to check beforehand; the server (gunicorn, werkzeug's) marks its
end with `wsgi.input_terminated`, and the application reads it up to `MAX_BODY_BYTES`: one byte
more is a 413, whatever the content type, and nothing is changed.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import assert_problem, event_count
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from app.http.request_context import DRAIN_BYTES

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 4096


class ChunkedInput:
    """What a WSGI server hands the application for a chunked body: a stream with no length
    known beforehand, ending where the body ends (like gunicorn's, it only has `read`)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self.consumed = 0  # bytes taken from the client so far

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self.consumed += len(chunk)
            self._buffer += chunk
        size = len(self._buffer) if size < 0 else size
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def _pieces(body: bytes) -> Iterator[bytes]:
    return (body[i : i + CHUNK] for i in range(0, len(body), CHUNK))


def _person_of_size(size: int, email: str = "ada@example.com") -> bytes:
    """A valid person body of exactly `size` bytes (JSON allows the trailing blanks)."""
    body = json.dumps({"name": "Ada Lovelace", "email": email}).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


def _post_chunked(
    api: Any,
    chunks: Iterable[bytes],
    *,
    content_type: str = "application/json",
    terminated: bool = True,
) -> tuple[Any, ChunkedInput]:
    stream = ChunkedInput(chunks)
    environ: dict[str, Any] = {"wsgi.input": stream}
    if terminated:
        environ["wsgi.input_terminated"] = True
    response = api.request(
        "POST",
        "/v1/people",
        headers={"Content-Type": content_type, "Transfer-Encoding": "chunked"},
        environ_overrides=environ,
    )
    return response, stream


def _people(api: Any) -> list[dict[str, Any]]:
    response = api.get("/v1/people")
    assert response.status_code == 200
    return response.json["items"]


def test_a_chunked_body_of_the_limit_is_accepted(app, api):
    limit = app.config["MAX_CONTENT_LENGTH"]

    response, _ = _post_chunked(api, _pieces(_person_of_size(limit)))

    assert response.status_code == 201, response.json
    assert [person["email"] for person in _people(api)] == ["ada@example.com"]


@pytest.mark.parametrize("over", [1, CHUNK, 3 * 256 * 1024])
def test_a_chunked_body_over_the_limit_is_a_413_and_changes_nothing(app, api, over):
    limit = app.config["MAX_CONTENT_LENGTH"]
    events = event_count(app)

    response, _ = _post_chunked(api, _pieces(_person_of_size(limit + over)))

    body = assert_problem(response, 413)
    assert body["type"].endswith(":body-too-large")
    assert str(limit) in body["detail"]
    assert _people(api) == []
    assert event_count(app) == events


def test_an_endless_chunked_body_is_refused_once_past_the_limit(app, api):
    limit = app.config["MAX_CONTENT_LENGTH"]

    response, stream = _post_chunked(api, itertools.repeat(b" " * CHUNK))

    assert_problem(response, 413)
    # Read past the limit, then what is left dropped up to DRAIN_BYTES (rounded up to the
    # client's chunk) so that a client still sending reads the 413: never to the end.
    assert limit + DRAIN_BYTES <= stream.consumed <= limit + DRAIN_BYTES + 2 * CHUNK


@pytest.mark.parametrize("content_type", ["text/csv", "application/octet-stream", ""])
def test_the_limit_comes_before_the_content_type(app, api, content_type):
    limit = app.config["MAX_CONTENT_LENGTH"]

    chunked, _ = _post_chunked(api, _pieces(b"x" * (limit + 1)), content_type=content_type)
    declared = api.request(
        "POST", "/v1/people", data=b"x" * (limit + 1), headers={"Content-Type": content_type}
    )

    assert_problem(chunked, 413)
    assert_problem(declared, 413)
    # Under the limit, the content type is what is wrong.
    small, _ = _post_chunked(api, _pieces(b"x" * 10), content_type="text/csv")
    assert_problem(small, 415)


def test_a_server_that_does_not_end_chunked_bodies_gets_nothing_accepted(app, api):
    # Without `wsgi.input_terminated` werkzeug reads no body without a length: it is never cut.
    response, stream = _post_chunked(api, _pieces(_person_of_size(1000)), terminated=False)

    assert_problem(response, 400)
    assert stream.consumed == 0
    assert _people(api) == []


@pytest.mark.parametrize(("size", "too_large"), [(0, False), (100, False), (101, True)])
def test_any_reader_of_the_stream_meets_the_limit(app, size, too_large):
    """Not only the JSON check: whoever reads the body, in pieces or whole, gets the 413."""
    headers = {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"}
    for read_all in (True, False):
        environ = {"wsgi.input": ChunkedInput(_pieces(b"x" * size)), "wsgi.input_terminated": True}
        with app.test_request_context(
            "/upload", method="POST", headers=headers, environ_overrides=environ
        ):
            request.max_content_length = 100
            if too_large:
                with pytest.raises(RequestEntityTooLarge):
                    _read(read_all)
            else:
                assert _read(read_all) == b"x" * size


def _read(read_all: bool) -> bytes:
    if read_all:
        return request.get_data()
    pieces = []
    while piece := request.stream.read(7):
        pieces.append(piece)
    return b"".join(pieces)


# A real gunicorn, which sets `wsgi.input_terminated` and de-chunks the body itself.

GUNICORN_LIMIT = 64 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """A gunicorn on loopback, its own SQLite database migrated and seeded, and an API key."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "FLASK_APP": "wsgi:app",
        "DATABASE_URL": f"sqlite:///{tmp / 'x.db'}",
        "MAX_BODY_BYTES": str(GUNICORN_LIMIT),
        "LOG_LEVEL": "WARNING",
    }
    _flask(env, "db", "upgrade")
    _flask(env, "seed")
    _flask(env, "teams", "create", "Chunked")
    token = _flask(env, "keys", "create", "chunked", "--scopes", "read,write").splitlines()[-1]
    port = _free_port()
    with (tmp / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while _request(port, token, "GET", "/healthz")[0] != 200:
            assert server.poll() is None, (tmp / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port, token
    finally:
        server.terminate()
        server.wait(timeout=20)


def _request(
    port: int, token: str, method: str, path: str, body: Any = None, **options: Any
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        connection.request(method, path, body=body, headers=headers, **options)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    except ConnectionRefusedError:
        return 0, {}, b""
    finally:
        connection.close()


def _post_chunked_to(port: int, token: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    # An iterable body with encode_chunked: http.client frames it, without a Content-Length.
    return _request(port, token, "POST", "/v1/people", _pieces(body), encode_chunked=True)


def test_gunicorn_takes_a_chunked_body_just_under_and_at_the_limit(gunicorn):
    port, token = gunicorn

    under = _post_chunked_to(port, token, _person_of_size(GUNICORN_LIMIT - 1, "under@example.com"))
    at = _post_chunked_to(port, token, _person_of_size(GUNICORN_LIMIT, "at@example.com"))

    assert under[0] == 201, under[2]
    assert at[0] == 201, at[2]
    assert json.loads(under[2])["email"] == "under@example.com"


@pytest.mark.parametrize("over", [1, 3 * GUNICORN_LIMIT])
def test_gunicorn_refuses_a_chunked_body_over_the_limit(gunicorn, over):
    port, token = gunicorn
    email = f"over{over}@example.com"

    status, headers, body = _post_chunked_to(
        port, token, _person_of_size(GUNICORN_LIMIT + over, email)
    )

    assert status == 413, body
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["detail"] == (
        f"The request body is larger than the limit of {GUNICORN_LIMIT} bytes."
    )
    _, _, listed = _request(port, token, "GET", "/v1/people?limit=200")
    assert email not in {person["email"] for person in json.loads(listed)["items"]}


def test_a_client_still_sending_a_body_over_the_limit_reads_the_413(gunicorn):
    """The server answers once the limit is passed; the client, sending at its own pace, is
    still sending: the rest is read and dropped, so the 413 reaches it, not a reset."""
    port, token = gunicorn
    body = _person_of_size(4 * GUNICORN_LIMIT, "slow@example.com")

    def slowly() -> Iterator[bytes]:
        for piece in _pieces(body):
            time.sleep(0.002)
            yield piece

    status, _, answer = _request(port, token, "POST", "/v1/people", slowly(), encode_chunked=True)

    assert status == 413, answer
    assert json.loads(answer)["detail"] == (
        f"The request body is larger than the limit of {GUNICORN_LIMIT} bytes."
    )


def test_gunicorn_refuses_a_declared_length_over_the_limit(gunicorn):
    port, token = gunicorn

    status, _, _ = _request(port, token, "POST", "/v1/people", b" " * (GUNICORN_LIMIT + 1))

    assert status == 413
