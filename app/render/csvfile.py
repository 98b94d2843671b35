"""CSV renderer: one row an item, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from app.render.layout import (
    Item,
    evidence_links,
    owner_emails,
    owner_names,
    references,
    ticket_label,
)

COLUMNS: tuple[str, ...] = (
    "key",
    "kind",
    "phase",
    "roles",
    "title",
    "detail",
    "done_when",
    "owners",
    "owner_emails",
    "priority",
    "status",
    "note",
    "waiver_reason",
    "waiver_approved_by",
    "waiver_expires_on",
    "ticket",
    "ticket_url",
    "signoff_required",
    "reviewer_roles",
    "signed_off_by",
    "evidence",
    "because",
    "references",
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
    for item in items:
        row = _row(item)
        if across_projects:
            row.insert(0, (item.get("project") or {}).get("slug"))
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


def _row(item: Item) -> list[Any]:
    waiver = item.get("waiver") or {}
    ticket = item.get("ticket") or {}
    return [
        item.get("key"),
        item.get("kind"),
        item.get("phase"),
        SEPARATOR.join(item.get("roles") or ()),
        item.get("title"),
        item.get("detail"),
        item.get("done_when"),
        SEPARATOR.join(owner_names(item)),
        SEPARATOR.join(owner_emails(item)),
        item.get("priority"),
        item.get("status") or "open",
        item.get("note"),
        waiver.get("reason"),
        waiver.get("approver_name") or waiver.get("approved_by") or waiver.get("requested_by"),
        waiver.get("expires_on"),
        ticket_label(item.get("ticket")),
        ticket.get("url"),
        "yes" if item.get("signoff_required") else "no",
        SEPARATOR.join(item.get("reviewer_roles") or ()),
        item.get("signed_off_by_name") or item.get("signed_off_by"),
        SEPARATOR.join(f"{link.get('title')} <{link['url']}>" for link in evidence_links(item)),
        SEPARATOR.join(item.get("because") or ()),
        SEPARATOR.join(references(item)),
    ]
