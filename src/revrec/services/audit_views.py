"""The web app's Audit page: a page of the audit log, newest first, filtered as `audit list`
is (kind, user, from and to dates, period), from the text a form sends.

Reads through `services.audit` only. The log only grows at its end, so the newest-first window
is the oldest-first window counted from the end; an entry written between the count and the
read shifts the page by that entry, as it would a moment later.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from revrec.errors import InputError
from revrec.services import audit
from revrec.services.context import Context

PAGE = 50  # entries a page shows unless asked
# The kinds of entries the services write (the part of an action before its first '.').
KINDS = ("setup", "mapping", "import", "stage", "job", "period", "je", "user")


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name} {text!r}: expected a date YYYY-MM-DD") from None


def newest_first(
    ctx: Context,
    *,
    kind: str | None = None,
    user: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    period: str | None = None,
    limit: int = PAGE,
    offset: int = 0,
) -> dict[str, Any]:
    """A page of entries, newest first: `offset` entries from the newest skipped, at most
    `limit`. Empty filters are no filters; dates are YYYY-MM-DD (UTC, both inclusive). The
    entries are `audit.list_entries`'s (before and after as values), with how many the filters
    find, the filters as understood, and the offsets of the pages before and after (None at
    either end)."""
    if limit < 1 or offset < 0:
        raise InputError("limit must be at least 1 and offset cannot be negative")
    filters: dict[str, Any] = {
        "kind": kind or None,
        "user": user or None,
        "since": _day(date_from, "from"),
        "until": _day(date_to, "to"),
        "period": period or None,
    }
    with audit.entries_of(ctx, **filters, limit=0) as found:
        count = found.count()
    size = min(limit, count - offset)
    rows = []
    if size > 0:
        start = count - offset - size
        rows = audit.list_entries(ctx, **filters, limit=size, offset=start)[::-1]
    return {
        "rows": rows,
        "count": count,
        "limit": limit,
        "offset": offset,
        "prev_offset": max(offset - limit, 0) if offset else None,
        "next_offset": offset + limit if offset + limit < count else None,
        "filters": {
            "kind": filters["kind"] or "",
            "user": filters["user"] or "",
            "from": date_from or "",
            "to": date_to or "",
            "period": filters["period"] or "",
        },
    }


def verify(ctx: Context, head: str | None = None) -> dict[str, object]:
    """`audit.verify`'s result as JSON: whether the chain holds, the entries found intact, the
    first altered or removed entry and what is wrong, and the head to keep elsewhere."""
    return audit.verify(ctx, head=head or None).as_json()
