"""What a service needs to know of whoever calls it: the actor, the request and the settings.

The HTTP layer, the CLI and background workers each build one, so services never reach for
`flask.g` or `current_app` and run the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.config import Settings


@dataclass(frozen=True)
class Context:
    """`actor` is recorded on every event: `api_key:<id>`, `cli`, `system`, or an integration.
    `person_id` is the person the caller is, when that is proven: the person of a personal API
    key, or a tracker's sender an authenticated delivery maps to; `signed_with` is what proves
    it (the key's id, or the integration's). Only such a caller signs off or approves."""

    actor: str
    request_id: str | None = None
    settings: Settings = field(default_factory=Settings.from_env)
    person_id: str | None = None
    signed_with: str | None = None


SYSTEM = "system"
