"""CSV renderer: one row an item, safe to open in a spreadsheet; its columns derive from the
item's public fields (`app.models.checklist.PUBLIC_FIELDS`), and a last one gives, for each
NIST AI 600-1 risk the item addresses, that risk's status in the checklist's risk register."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from app.models.checklist import PUBLIC_FIELDS
from app.render.layout import (
    Item,
    evidence_links,
    owner_emails,
    owner_names,
    references,
    ticket_label,
)

SEPARATOR = "; "
# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """The cell as text, with a leading quote when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def render_csv(doc: Mapping[str, Any]) -> str:
    """The checklist's items as CSV with a header row and `\\r\\n` line endings."""
    items = doc.get("items") or ()
    # Items gathered across projects (one person's work) say which project each belongs to.
    across_projects = any("project" in item for item in items)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("project", *COLUMNS) if across_projects else COLUMNS)
    statuses = {entry["risk"]: entry["status"] for entry in doc.get("risk_register") or ()}
    for item in items:
        row = [*_row(item), _genai_risks(item, statuses)]
        if across_projects:
            row.insert(0, (item.get("project") or {}).get("slug"))
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


def _joined(values: Iterable[str] | None) -> str:
    return SEPARATOR.join(values or ())


def _waiver(item: Item) -> Mapping[str, Any]:
    return item.get("waiver") or {}


def _ticket(item: Item) -> Mapping[str, Any]:
    return item.get("ticket") or {}


# A column: its header, the item field it shows, and its cell.
Cell = tuple[str, str, Callable[[Item], Any]]

# The columns, in the CSV's own order (what people read first comes first); a public field
# none of them shows and `NOT_SHOWN` does not name is shown after them, as it is (`_plain`).
_SHOWN: tuple[Cell, ...] = (
    ("key", "key", lambda item: item.get("key")),
    ("kind", "kind", lambda item: item.get("kind")),
    ("phase", "phase", lambda item: item.get("phase")),
    ("roles", "roles", lambda item: _joined(item.get("roles"))),
    ("title", "title", lambda item: item.get("title")),
    ("detail", "detail", lambda item: item.get("detail")),
    ("done_when", "done_when", lambda item: item.get("done_when")),
    ("owners", "owners", lambda item: _joined(owner_names(item))),
    ("owner_emails", "owners", lambda item: _joined(owner_emails(item))),
    ("priority", "priority", lambda item: item.get("priority")),
    ("status", "status", lambda item: item.get("status") or "open"),
    ("note", "note", lambda item: item.get("note")),
    ("waiver_reason", "waiver", lambda item: _waiver(item).get("reason")),
    (
        "waiver_approved_by",
        "waiver",
        lambda item: (
            _waiver(item).get("approver_name")
            or _waiver(item).get("approved_by")
            or _waiver(item).get("requested_by")
        ),
    ),
    ("waiver_expires_on", "waiver", lambda item: _waiver(item).get("expires_on")),
    ("waiver_residual_risk", "waiver", lambda item: _waiver(item).get("residual_risk")),
    ("ticket", "ticket", lambda item: ticket_label(item.get("ticket"))),
    ("ticket_url", "ticket", lambda item: _ticket(item).get("url")),
    ("signoff_required", "signoff_required", lambda item: _yes_no(item.get("signoff_required"))),
    ("reviewer_roles", "reviewer_roles", lambda item: _joined(item.get("reviewer_roles"))),
    (
        "signed_off_by",
        "signed_off_by",
        lambda item: item.get("signed_off_by_name") or item.get("signed_off_by"),
    ),
    (
        "evidence",
        "evidence",
        lambda item: _joined(
            f"{link.get('title')} <{link['url']}>" for link in evidence_links(item)
        ),
    ),
    ("because", "because", lambda item: _joined(item.get("because"))),
    ("references", "source", lambda item: _joined(references(item))),
)
# The public fields the CSV leaves out: ids and bookkeeping, what another column already says
# (role titles, the signer's name), and what only matters to a program (the signer's key).
NOT_SHOWN = frozenset(
    {
        "id",
        "role_titles",
        "reviewer_role_titles",
        "reviewers",
        "signed_off_by_name",
        "signed_off_at",
        "signed_off_with",
        "evidence_required",
        "version",
        "created_at",
        "updated_at",
    }
)


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _plain(name: str) -> Callable[[Item], Any]:
    """The cell of a field no column renders in its own way: lists joined, yes or no."""

    def cell(item: Item) -> Any:
        value = item.get(name)
        if isinstance(value, bool):
            return _yes_no(value)
        return _joined(map(str, value)) if isinstance(value, list) else value

    return cell


def cells_of(fields: Sequence[str]) -> tuple[Cell, ...]:
    """The CSV's columns for an item of these public fields: those of `_SHOWN`, then one plain
    column for each field neither they nor `NOT_SHOWN` name (a new field shows without more)."""
    shown = {name for _, name, _ in _SHOWN}
    unknown = (shown | NOT_SHOWN) - set(fields)
    if unknown:
        raise TypeError(f"CSV columns name fields an item does not have: {sorted(unknown)}")
    plain = [name for name in fields if name not in shown and name not in NOT_SHOWN]
    return (*_SHOWN, *((name, name, _plain(name)) for name in plain))


_CELLS = cells_of(PUBLIC_FIELDS)
# The item's columns, then the register's: a file of one row an item (a spreadsheet, a ticket
# import) shows the register where the item carries it. A risk no item addresses (a gap, one
# that does not apply) has no row: JSON, Markdown, text and HTML show the whole register.
REGISTER_COLUMNS: tuple[str, ...] = ("genai_risks",)
COLUMNS: tuple[str, ...] = (*(header for header, _, _ in _CELLS), *REGISTER_COLUMNS)


def _genai_risks(item: Item, statuses: Mapping[str, str]) -> str:
    """The NIST AI 600-1 risks the item addresses, each with its status in the register
    (`Data Privacy (addressed)`); without a register (a person's items), the names alone."""
    risks = (item.get("source") or {}).get("genai_risks") or ()
    return _joined(f"{r} ({statuses[r]})" if r in statuses else r for r in risks)


def _row(item: Item) -> list[Any]:
    return [cell(item) for _, _, cell in _CELLS]
