"""The stage area (SPEC §4.4): listing rows with their messages, deleting rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.calendar import utc_text
from revrec.errors import InputError
from revrec.store import jobs as job_store
from revrec.store import payloads
from revrec.store import stage as store
from revrec.store.audit import record
from revrec.vocab import JOB_OF_TAB, STATUSES, TAB_OF_TYPE, TABS
from revrec.words import counted

__all__ = [
    "JOB_OF_TAB",
    "STATUSES",
    "TABS",
    "TAB_OF_TYPE",
    "StageListing",
    "check_deletable",
    "delete_rows",
    "file_cards",
    "list_rows",
    "pending_notes",
    "status_counts",
]
# A processed row with a note was not processed: it was skipped as a duplicate.
DUPLICATE = "duplicate"
LOCKED = ("processed", "deleted")  # statuses a row cannot be deleted from


@dataclass(frozen=True)
class StageListing:
    rows: list[dict[str, Any]]
    notes: list[str]


def list_rows(
    conn: sa.Connection,
    *,
    tab: str | None = None,
    status: str | None = None,
    file: str | None = None,
    text: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int | None = None,
) -> StageListing:
    """Stage rows by tab, status (either in any case), file (its name, or a path to it),
    accounting date (from/to, both inclusive) and text (in the key, any uploaded value or a
    message, ignoring case), oldest first."""
    tab = tab.strip().lower() if tab else tab
    status = status.strip().lower() if status else status
    file = Path(file).name if file else file
    if tab is not None and tab not in TABS:
        raise InputError(f"unknown tab {tab!r}: expected one of {', '.join(TABS)}")
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown status {status!r}: expected one of {', '.join(STATUSES)}")
    found = store.listing(
        conn,
        tab=tab,
        status=status,
        file=file,
        date_from=date_from,
        date_to=date_to,
        limit=None if text else limit,
    )
    if text:
        found = _with_text(conn, found, text)[:limit]
    rows = [
        {
            "row_id": r["row_id"],
            "tab": r["tab"],
            "file": r["file"],
            "line": r["line"],
            "status": r["status"],
            "key": r["key"],
            "period": r["period"],
            "messages": json.loads(r["messages"]),
        }
        for r in found
    ]
    return StageListing(rows, pending_notes(conn))


def _with_text(conn: sa.Connection, found: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The rows whose key, any uploaded value or a message contains `text` (ignoring case)."""
    if not found:
        return found
    wanted = text.lower()
    rows = pl.DataFrame(
        [(r["row_id"], r["file_id"], r["line"]) for r in found],
        schema={"row_id": pl.Int64, "file_id": pl.Int64, "line": pl.Int64},
        orient="row",
    )
    values = payloads.of_rows(conn, rows)
    columns = [c for c in values.columns if c != "row_id"]
    hit = pl.any_horizontal(
        [pl.col(c).str.to_lowercase().str.contains(wanted, literal=True) for c in columns]
        or [pl.lit(value=False)]
    ).fill_null(value=False)
    matched = set(values.filter(hit)["row_id"].to_list())
    return [
        r
        for r in found
        if r["row_id"] in matched or wanted in r["key"].lower() or wanted in r["messages"].lower()
    ]


def file_cards(conn: sa.Connection, *, tab: str | None = None) -> list[dict[str, Any]]:
    """One card per uploaded file (SPEC §4.4), newest first: name, type, mapping, event, who
    uploaded it and when, rows read, and its rows per status (rows skipped as duplicates of
    processed rows counted apart from `processed`)."""
    if tab is not None and tab not in TABS:
        raise InputError(f"unknown tab {tab!r}: expected one of {', '.join(TABS)}")
    types = [k for k, v in TAB_OF_TYPE.items() if v == tab] if tab else list(TAB_OF_TYPE)
    counts = status_counts(conn)
    cards = []
    for card in store.files(conn, types):
        found = counts.get(card["file_id"], {})
        cards.append(
            {
                "file_id": card["file_id"],
                "file": card["name"],
                "upload_type": card["upload_type"],
                "mapping": card["mapping"],
                "event": card["event_name"],
                "uploaded_by": card["uploaded_by"],
                "uploaded_at": utc_text(card["uploaded_at"]),
                "rows_read": card["rows_read"],
                **{status: found.get(status, 0) for status in (*STATUSES, DUPLICATE)},
            }
        )
    return cards


def status_counts(conn: sa.Connection, file_id: int | None = None) -> dict[int, dict[str, int]]:
    """Rows per status of each file (or of one): a processed row whose note says it was
    skipped as a duplicate counts as `duplicate`, not `processed`."""
    counts: dict[int, dict[str, int]] = {}
    for found, status, noted, count in store.counts(conn, file_id):
        of_file = counts.setdefault(found, {})
        if status == "processed" and noted:
            of_file[DUPLICATE] = of_file.get(DUPLICATE, 0) + count
            of_file.setdefault("processed", 0)
        else:
            of_file[status] = of_file.get(status, 0) + count
    return counts


def pending_notes(conn: sa.Connection) -> list[str]:
    """Why rows wait: '2 pending rows in contracts: job transaction_import is inactive'."""
    inactive = job_store.inactive(conn)
    counts = store.counts_per_tab(conn, "pending")
    return [
        f"{counted(count, 'pending row')} in {tab}: job {JOB_OF_TAB[tab]} is inactive"
        for tab, count in counts
        if JOB_OF_TAB[tab] in inactive
    ]


def check_deletable(conn: sa.Connection, row_ids: list[int]) -> int:
    """How many distinct rows `delete_rows` would delete; an InputError when a row does not
    exist or cannot be deleted (processed or already deleted). Changes nothing."""
    return len(_deletable(conn, row_ids))


def _deletable(conn: sa.Connection, row_ids: list[int]) -> dict[int, str]:
    found = store.statuses(conn, row_ids)
    missing = sorted(set(row_ids) - set(found))
    if missing:
        raise InputError(f"no stage rows with ids {missing}")
    locked = sorted(row_id for row_id, status in found.items() if status in LOCKED)
    if locked:
        raise InputError(f"rows {locked} are processed or already deleted and cannot be deleted")
    return found


def delete_rows(conn: sa.Connection, row_ids: list[int], *, user: str, now: datetime) -> int:
    """Mark rows deleted (kept for lineage, with who and when). Processed rows cannot be."""
    found = _deletable(conn, row_ids)
    store.set_status(conn, row_ids, "deleted", user=user, now=now)
    for row_id, status in found.items():
        record(
            conn,
            user=user,
            now=now,
            action="stage.delete",
            entity=f"stage_row:{row_id}",
            before={"status": status},
            after={"status": "deleted"},
        )
    return len(found)
