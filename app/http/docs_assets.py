"""Swagger UI's files served from the `swagger-ui-bundle` package: `/docs` needs no network."""

from __future__ import annotations

from flask import Flask, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS_URL = "/docs/assets/"


def init_docs_assets(app: Flask) -> None:
    """Serve the viewer's scripts and styles beside `/docs` (flask-smorest's page loads them
    from `OPENAPI_SWAGGER_UI_URL`, which the config points here)."""

    def asset(filename: str) -> Response:
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

    app.add_url_rule(f"{ASSETS_URL}<path:filename>", "docs_asset", asset)
