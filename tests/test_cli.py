"""The operator's commands: seed the catalog, create teams, create, list and revoke API keys."""

from __future__ import annotations

import dataclasses

from factories import assign, create_person, create_project
from sqlalchemy import select, text

import seed.loader
from app.extensions import db
from app.models import ApiKey, Team


def _invoke(runner, *args):
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_seeding_twice_changes_nothing_the_second_time(app, runner):
    with app.app_context():
        before = db.session.execute(text("SELECT version FROM catalog_versions")).all()

    output = _invoke(runner, "seed")

    assert "already current" in output
    with app.app_context():
        assert db.session.execute(text("SELECT version FROM catalog_versions")).all() == before


def test_an_operator_creates_a_team(app, runner):
    output = _invoke(runner, "teams", "create", "Research Lab")

    assert "slug: research-lab" in output
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.slug == "research-lab"))
    assert f"id: {team.id}" in output


def test_a_team_slug_is_unique(runner):
    _invoke(runner, "teams", "create", "Research Lab")

    result = runner.invoke(args=["teams", "create", "Research lab"])

    assert result.exit_code != 0
    assert "exists already" in result.output


def test_a_new_key_is_the_last_line_and_works_as_a_bearer_token(runner, client):
    _invoke(runner, "teams", "create", "Research Lab")

    output = _invoke(runner, "keys", "create", "research-lab", "--scopes", "read,write")

    token = output.strip().splitlines()[-1]
    assert token.startswith("sck_")
    response = client.get("/v1/people", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_only_the_hash_of_a_key_is_stored(app, runner):
    _invoke(runner, "teams", "create", "Research Lab")
    token = _invoke(runner, "keys", "create", "research-lab").strip().splitlines()[-1]

    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM api_keys")).all()
        key = db.session.scalar(select(ApiKey))
    assert token not in repr(rows)
    assert token[len("sck_") :] not in repr(rows)
    assert len(key.secret_hash) == 64
    assert key.prefix == token[: len(key.prefix)]


def test_an_unknown_scope_is_refused(runner):
    _invoke(runner, "teams", "create", "Research Lab")

    result = runner.invoke(args=["keys", "create", "research-lab", "--scopes", "read,root"])

    assert result.exit_code != 0
    assert "sck_" not in result.output


def test_listing_keys_never_prints_a_secret(runner):
    _invoke(runner, "teams", "create", "Research Lab")
    first = _invoke(runner, "keys", "create", "research-lab", "--name", "ci")
    second = _invoke(runner, "keys", "create", "research-lab", "--name", "portal")

    listing = _invoke(runner, "keys", "list", "research-lab")

    for created in (first, second):
        token = created.strip().splitlines()[-1]
        key_id = created.split("id: ", 1)[1].split()[0]
        assert key_id in listing
        assert token not in listing
        assert token[len("sck_") + 6 :] not in listing
    assert "ci" in listing and "portal" in listing


def test_a_revoked_key_gets_401(runner, client):
    _invoke(runner, "teams", "create", "Research Lab")
    created = _invoke(runner, "keys", "create", "research-lab")
    token = created.strip().splitlines()[-1]
    key_id = created.split("id: ", 1)[1].split()[0]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/people", headers=headers).status_code == 200

    output = _invoke(runner, "keys", "revoke", key_id)

    assert f"revoked {key_id}" in output
    response = client.get("/v1/people", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "revoked" in _invoke(runner, "keys", "list", "research-lab")


def test_revoking_a_key_that_does_not_exist_fails(runner):
    result = runner.invoke(args=["keys", "revoke", "key_nope"])

    assert result.exit_code != 0
    assert "key_nope" in result.output


def test_seed_refuses_a_catalog_that_drops_a_role_in_use_and_changes_nothing(
    app, runner, api, monkeypatch
):

    project = create_project(api)
    assign(api, project, "ai-researcher", create_person(api))
    real = seed.loader.load_catalog()
    without_researcher = dataclasses.replace(
        real,
        version="sha256:without-ai-researcher",
        roles=tuple(r for r in real.roles if r.key != "ai-researcher"),
    )
    monkeypatch.setattr(seed.loader, "load_catalog", lambda: without_researcher)

    result = runner.invoke(args=["seed"])

    assert result.exit_code == 1
    assert "still use" in result.output
    assert api.get("/v1/catalog").json["version"] == real.version
    assert api.get("/v1/catalog/roles/ai-researcher").status_code == 200
