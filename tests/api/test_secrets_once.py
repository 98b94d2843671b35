"""A secret is shown once and stored nowhere: not even an `Idempotency-Key`'s stored answer
keeps it. A retry with the key is told that the first request succeeded, and where, and how
to get a secret again; it creates or rotates nothing."""

from __future__ import annotations

from typing import Any

import pytest
from factories import assert_problem
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import IdempotencyRecord, Integration, WebhookEndpoint

PUBLIC_URL = "https://93.184.216.34/hooks/checklists"  # a literal public address: no DNS


def _stored_answers(app: Flask) -> list[tuple[int | None, str | None, dict[str, Any] | None]]:
    with app.app_context():
        return [
            (r.status_code, r.response_body, r.response_headers)
            for r in db.session.scalars(select(IdempotencyRecord))
        ]


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return len(db.session.scalars(select(model)).all())


CREATES = {
    "webhook": ("/v1/webhooks", {"url": PUBLIC_URL, "event_types": ["*"]}, WebhookEndpoint),
    "integration": ("/v1/integrations", {"provider": "github", "name": "Issues"}, Integration),
}


@pytest.mark.parametrize("what", sorted(CREATES))
def test_a_created_secret_is_not_kept_for_a_replay(app, api, what):
    path, body, model = CREATES[what]
    headers = {"Idempotency-Key": f"create-{what}"}

    first = api.post(path, json=body, headers=headers)
    again = api.post(path, json=body, headers=headers)

    assert first.status_code == 201, first.json
    secret = first.json["secret"]
    assert secret
    ((status, stored_body, stored_headers),) = _stored_answers(app)
    assert status == 201 and stored_body is None
    assert secret not in repr(stored_headers)
    problem = assert_problem(again, 409)
    assert first.headers["Location"] in problem["detail"]
    assert "shown only once" in problem["detail"]
    assert again.headers["Location"] == first.headers["Location"]
    assert "Idempotent-Replayed" not in again.headers
    assert _count(app, model) == 1  # the retry created nothing


@pytest.mark.parametrize("what", sorted(CREATES))
def test_a_rotated_secret_is_not_kept_for_a_replay(app, api, what):
    path, body, _ = CREATES[what]
    created = api.post(path, json=body).json
    rotate = f"{path}/{created['id']}/rotate-secret"
    headers = {"Idempotency-Key": f"rotate-{what}"}

    first = api.post(rotate, headers=headers)
    again = api.post(rotate, headers=headers)

    assert first.status_code == 200, first.json
    assert all(first.json["secret"] not in repr(row) for row in _stored_answers(app))
    assert "rotate" in assert_problem(again, 409)["detail"]
    # The retry rotated nothing: the secret of the first rotation still verifies alone with
    # the original one (a second rotation would have replaced the one shown).
    third = api.post(rotate, headers={"Idempotency-Key": f"rotate-{what}-2"})
    assert third.status_code == 200 and third.json["secret"] != first.json["secret"]


def test_answers_without_a_secret_are_still_replayed(app, api):
    headers = {"Idempotency-Key": "person"}
    body = {"name": "Ada Lovelace", "email": "ada@example.com"}

    first = api.post("/v1/people", json=body, headers=headers)
    again = api.post("/v1/people", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
