"""What an inbound delivery says about a ticket, read from each provider's documented payload.

Pure functions of (headers, verified body) to a `TicketNews`: the ticket (`system`, `key` as
the system writes it, `url`), what happened to it (a new state, gone, or nothing we act on),
its body (where the marker line may be) and who did it. A payload that should hold a field we
need and does not is malformed (400); events and actions we do not act on are news of nothing
(`ignore`), answered 202 and recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from app.errors import Problem
from app.schemas.items import TICKET_KEY_FORMATS
from app.vocabulary import Provider, TicketSystem, values


class HeaderLookup(Protocol):
    """A delivery's headers as the HTTP layer hands them over: looked up by name in any case
    (werkzeug's `Headers`), which is how the providers' header names are read here."""

    def get(self, key: str, /) -> str | None: ...


# The item status each provider state leads to; an integration's `status_map` overrides them.
# GitHub: the `state_reason` of a closed issue (absent in older payloads: `completed`), or
# `reopened`. Jira: the status category (never the status name, which workflows rename).
# Linear: the workflow state type. Generic: our own statuses, plus what the overrides add.
DEFAULT_STATUS_MAPS: Mapping[str, Mapping[str, str]] = {
    "github": {
        "completed": "done",
        "not_planned": "waived",
        "duplicate": "waived",
        "reopened": "open",
    },
    "jira": {"new": "open", "indeterminate": "in_progress", "done": "done"},
    "linear": {
        "triage": "open",
        "backlog": "open",
        "unstarted": "open",
        "started": "in_progress",
        "completed": "done",
        "canceled": "waived",
    },
    "generic": {"open": "open", "in_progress": "in_progress", "done": "done", "waived": "waived"},
}
# What a state may map to: an item status, or `ignore` (the item does not follow that state).
MAP_TARGETS: tuple[str, ...] = ("open", "in_progress", "done", "waived", "ignore")
PROVIDER_NAMES = {"github": "GitHub", "jira": "Jira", "linear": "Linear", "generic": "The ticket"}

_URL_MAX = 2000
_BODY_MAX = 200_000


class MalformedPayload(Problem):
    status, slug, title = 400, "malformed-payload", "Malformed payload"


@dataclass(frozen=True)
class TicketNews:
    """`action`: `status` (the ticket is now in `state`), `signoff` (its sender signs its
    items off), `unlink` (the ticket is gone), `ping` (a provider's test) or `ignore` (nothing
    we act on; `note` says why)."""

    event: str
    action: str
    ticket: dict[str, Any] | None = None
    state: str | None = None
    state_label: str | None = None
    body: str | None = None
    sender: str | None = None
    # Who the tracker says sent it, as a person's handle for it holds it: the GitHub login,
    # the Jira account id, the Linear user id (none for a generic system).
    sender_handle: str | None = None
    note: str | None = None
    reason: str | None = None
    # Linear's `webhookTimestamp` (ms), as sent: checked against replays once verified.
    sent_at: Any = None


def read(provider: str, headers: HeaderLookup, mimetype: str, body: bytes) -> TicketNews:
    """The news in a verified delivery of `provider`; `MalformedPayload` when it is not one."""
    payload = load_payload(mimetype, body)
    if provider == Provider.GITHUB:
        return _github(headers, payload)
    if provider == Provider.JIRA:
        return _jira(payload)
    if provider == Provider.LINEAR:
        return _linear(payload)
    return _generic(headers, payload)


def load_payload(mimetype: str, body: bytes) -> dict[str, Any]:
    """The JSON object of the body; GitHub's form encoding (`payload=<json>`) is read too."""
    try:
        text = body.decode("utf-8")
        if mimetype == "application/x-www-form-urlencoded":
            fields = parse_qs(text, strict_parsing=True, max_num_fields=10)
            text = fields["payload"][0]
        payload = json.loads(text, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError, KeyError, IndexError) as exc:
        raise MalformedPayload(
            "The body is not a JSON object (nor a form with `payload`)."
        ) from exc
    if not isinstance(payload, dict):
        raise MalformedPayload("The body is JSON but not an object.")
    return payload


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# --------------------------------------------------------------------------- field readers


def text(value: Any, max_length: int) -> str | None:
    """A string fit to store and show: NUL and lone surrogates replaced, cut to length."""
    if not isinstance(value, str) or not value:
        return None
    clean = value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return clean[:max_length]


def _get(payload: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(name)
    return payload


def _required(payload: Any, *path: str, kind: type | tuple[type, ...] = str) -> Any:
    value = _get(payload, *path)
    if isinstance(value, bool) or not isinstance(value, kind) or value == "":
        raise MalformedPayload(f"The payload has no `{'.'.join(path)}`.")
    return value


def _ticket(system: str, key: str, url: Any) -> dict[str, Any]:
    pattern, example = TICKET_KEY_FORMATS[system]
    if not pattern.match(key):
        raise MalformedPayload(f"`{key[:100]}` is not a {system} ticket key (like {example}).")
    return {"system": system, "key": key, "url": _url(url)}


def _url(value: Any) -> str | None:
    found = text(value, _URL_MAX + 1)
    if found is None or len(found) > _URL_MAX or any(c.isspace() for c in found):
        return None
    try:
        parts = urlsplit(found)
    except ValueError:  # a malformed IPv6 host
        return None
    return found if parts.scheme in ("http", "https") and parts.netloc else None


def _header(headers: HeaderLookup, name: str) -> str:
    return text(headers.get(name), 100) or ""


# --------------------------------------------------------------------------- providers


def _github(headers: HeaderLookup, payload: dict[str, Any]) -> TicketNews:
    event = _header(headers, "X-GitHub-Event")
    sender = text(_get(payload, "sender", "login"), 200)
    if event == "ping":
        return TicketNews(event="ping", action="ping", sender=sender, note=_zen(payload))
    if event not in ("issues", "issue_comment"):
        return TicketNews(
            event=event or "unknown",
            action="ignore",
            sender=sender,
            note=f"GitHub `{event or 'unknown'}` events change no item; only `issues` events "
            "and `/signoff` comments do.",
        )
    if event == "issue_comment":
        return _github_comment(payload, sender)
    action = text(payload.get("action"), 50) or "unknown"
    name = f"issues.{action}"
    if action not in ("closed", "reopened", "deleted", "transferred"):
        return TicketNews(
            event=name, action="ignore", sender=sender, note=f"An issue {action} changes no item."
        )
    repository = _required(payload, "repository", "full_name")
    number = _required(payload, "issue", "number", kind=int)
    ticket = _ticket("github", f"{repository}#{number}", _get(payload, "issue", "html_url"))
    body = text(_get(payload, "issue", "body"), _BODY_MAX)
    if action in ("deleted", "transferred"):
        moved = text(_get(payload, "changes", "new_repository", "full_name"), 200)
        note = (
            "deleted" if action == "deleted" else f"transferred to {moved or 'another repository'}"
        )
        return TicketNews(event=name, action="unlink", ticket=ticket, sender=sender, note=note)
    if action == "reopened":
        state, label = "reopened", "reopened"
    else:
        # Older payloads have no `state_reason`: a plain close means completed.
        state = text(_get(payload, "issue", "state_reason"), 50) or "completed"
        label = f"closed as {state.replace('_', ' ')}"
    return TicketNews(
        event=name,
        action="status",
        ticket=ticket,
        state=state,
        state_label=label,
        body=body,
        sender=sender,
        sender_handle=sender,
    )


# A comment whose first line is this signs the items of its ticket off as its author.
SIGNOFF_COMMAND = "/signoff"


def _github_comment(payload: dict[str, Any], sender: str | None) -> TicketNews:
    """An issue comment: a sign-off when it is new and its first line is `/signoff` (on an
    issue, not a pull request); nothing otherwise."""
    action = text(payload.get("action"), 50) or "unknown"
    name = f"issue_comment.{action}"
    comment = text(_get(payload, "comment", "body"), _BODY_MAX) or ""
    first_line = comment.strip().split("\n", 1)[0].strip()
    if action != "created" or first_line != SIGNOFF_COMMAND:
        return TicketNews(
            event=name,
            action="ignore",
            sender=sender,
            note=f"A comment changes no item unless it is new and its first line is "
            f"`{SIGNOFF_COMMAND}`.",
        )
    if _get(payload, "issue", "pull_request") is not None:
        return TicketNews(
            event=name, action="ignore", sender=sender, note="A pull request is not a ticket."
        )
    repository = _required(payload, "repository", "full_name")
    number = _required(payload, "issue", "number", kind=int)
    author = text(_get(payload, "comment", "user", "login"), 200) or sender
    return TicketNews(
        event=name,
        action="signoff",
        ticket=_ticket("github", f"{repository}#{number}", _get(payload, "issue", "html_url")),
        state_label=f"signed off in a comment ({SIGNOFF_COMMAND})",
        sender=author,
        sender_handle=author,
    )


def _zen(payload: dict[str, Any]) -> str:
    zen = text(payload.get("zen"), 200)
    return f"GitHub's ping: {zen}" if zen else "GitHub's ping"


def _jira(payload: dict[str, Any]) -> TicketNews:
    event = text(payload.get("webhookEvent"), 100) or "unknown"
    sender = text(_get(payload, "user", "displayName"), 200)
    if event not in ("jira:issue_updated", "jira:issue_deleted"):
        return TicketNews(
            event=event,
            action="ignore",
            sender=sender,
            note=f"Jira `{event}` events change no item; only `jira:issue_updated` does.",
        )
    key = _required(payload, "issue", "key")
    ticket = _ticket("jira", key, _jira_browse_url(_get(payload, "issue", "self"), key))
    if event == "jira:issue_deleted":
        return TicketNews(
            event=event, action="unlink", ticket=ticket, sender=sender, note="deleted"
        )
    changes = _get(payload, "changelog", "items")
    changed_status = isinstance(changes, list) and any(
        isinstance(c, dict) and (c.get("field") == "status" or c.get("fieldId") == "status")
        for c in changes
    )
    if not changed_status:
        return TicketNews(
            event=event,
            action="ignore",
            ticket=ticket,
            sender=sender,
            note="The update does not change the issue's status.",
        )
    category = _required(payload, "issue", "fields", "status", "statusCategory", "key")
    category = text(category, 50) or ""
    name = text(_get(payload, "issue", "fields", "status", "name"), 50)
    return TicketNews(
        event=event,
        action="status",
        ticket=ticket,
        state=category,
        state_label=f"{name} ({category})" if name else category,
        body=jira_text(_get(payload, "issue", "fields", "description")),
        sender=sender,
        sender_handle=text(_get(payload, "user", "accountId"), 128),
    )


def _jira_browse_url(api_url: Any, key: str) -> str | None:
    """`https://acme.atlassian.net/rest/api/2/issue/10001` → `…/browse/PROJ-123`."""
    found = _url(api_url)
    if found is None:
        return None
    parts = urlsplit(found)
    prefix = parts.path.split("/rest/api/", 1)[0] if "/rest/api/" in parts.path else ""
    return f"{parts.scheme}://{parts.netloc}{prefix}/browse/{key}"


def jira_text(description: Any) -> str | None:
    """The description as text: a string (API v2), or the text of an Atlassian document."""
    if isinstance(description, str):
        return text(description, _BODY_MAX)
    if not isinstance(description, dict):
        return None
    lines: list[str] = []
    stack: list[Any] = [description]
    current: list[str] = []
    # Depth-first over the document's nodes; each paragraph (or other block) ends a line.
    while stack:
        node = stack.pop()
        if node is _END_OF_BLOCK:
            lines.append("".join(current))
            current = []
            continue
        if not isinstance(node, dict):
            continue
        if node.get("type") == "text" and isinstance(node.get("text"), str):
            current.append(node["text"])
        elif node.get("type") == "hardBreak":
            lines.append("".join(current))
            current = []
        content = node.get("content")
        if isinstance(content, list):
            if node.get("type") not in ("doc", "text"):
                stack.append(_END_OF_BLOCK)
            stack.extend(reversed(content))
    lines.append("".join(current))
    return text("\n".join(lines), _BODY_MAX)


_END_OF_BLOCK = object()


def _linear(payload: dict[str, Any]) -> TicketNews:
    news = _linear_news(payload)
    return replace(news, sent_at=payload.get("webhookTimestamp"))


def _linear_news(payload: dict[str, Any]) -> TicketNews:
    kind = text(payload.get("type"), 50) or "unknown"
    action = text(payload.get("action"), 50) or "unknown"
    event = f"{kind}.{action}"
    sender = text(_get(payload, "actor", "name"), 200)
    if kind != "Issue":
        return TicketNews(
            event=event,
            action="ignore",
            sender=sender,
            note=f"Linear `{kind}` events change no item; only `Issue` events do.",
        )
    key = _required(payload, "data", "identifier")
    ticket = _ticket("linear", key, payload.get("url") or _get(payload, "data", "url"))
    if action == "remove":
        return TicketNews(
            event=event, action="unlink", ticket=ticket, sender=sender, note="deleted"
        )
    updated_from = payload.get("updatedFrom")
    if action != "update" or not isinstance(updated_from, dict) or "stateId" not in updated_from:
        return TicketNews(
            event=event,
            action="ignore",
            ticket=ticket,
            sender=sender,
            note=f"An issue {action} without a change of state changes no item.",
        )
    state_type = text(_required(payload, "data", "state", "type"), 50) or ""
    name = text(_get(payload, "data", "state", "name"), 50)
    return TicketNews(
        event=event,
        action="status",
        ticket=ticket,
        state=state_type,
        state_label=f"{name} ({state_type})" if name else state_type,
        body=text(_get(payload, "data", "description"), _BODY_MAX),
        sender=sender,
        sender_handle=text(_get(payload, "actor", "id"), 128),
    )


_GENERIC_STATUS = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _generic(headers: HeaderLookup, payload: dict[str, Any]) -> TicketNews:
    system = _required(payload, "ticket", "system")
    if system not in values(TicketSystem):
        raise MalformedPayload(f"`ticket.system` is one of {', '.join(TicketSystem)}.")
    key = _required(payload, "ticket", "key")
    status = _required(payload, "ticket", "status")
    if not _GENERIC_STATUS.fullmatch(status):
        raise MalformedPayload("`ticket.status` is 1 to 64 letters, digits and `_.:-`.")
    event = text(payload.get("type"), 100) or "ticket.status"
    return TicketNews(
        event=event,
        action="status",
        ticket=_ticket(system, key, _get(payload, "ticket", "url")),
        state=status,
        state_label=status,
        body=text(_get(payload, "ticket", "body"), _BODY_MAX),
        sender=text(_get(payload, "ticket", "changed_by"), 200),
        reason=text(_get(payload, "ticket", "reason"), 500),
    )
