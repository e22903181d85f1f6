"""The stage area (SPEC §4.4): listing rows with their messages, the uploaded files, deleting
rows. Each function a shell calls takes the Context and opens its own connection."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.calendar import utc_text
from revrec.errors import InputError
from revrec.services.context import Context
from revrec.store import jobs as job_store
from revrec.store import lines as line_store
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
    "RowFilter",
    "StageListing",
    "StageRows",
    "check_deletable",
    "delete_rows",
    "file_cards",
    "list_rows",
    "pending_notes",
    "row_filter",
    "rows_of",
    "status_counts",
]
# A processed row with a note was not processed: it was skipped as a duplicate.
DUPLICATE = "duplicate"
STATUS_FILTERS = (*STATUSES, DUPLICATE)  # what `stage list --status` takes
LOCKED = ("processed", "deleted")  # statuses a row cannot be deleted from
CHUNK = 10_000  # stage rows read per query by `rows_of`
REVENUE_JOB = "revenue_process"  # the job the touched lines wait for


@dataclass(frozen=True)
class StageListing:
    rows: list[dict[str, Any]]
    notes: list[str]


@dataclass(frozen=True)
class RowFilter:
    """What `revrec stage list` asks for, checked and normalized by `row_filter`."""

    tab: str | None = None
    status: str | None = None
    file: str | None = None
    text: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def stored(self) -> dict[str, Any]:
        """The filters the store applies: `duplicate` is a processed row with a note, and
        `processed` the processed rows without one (as the file cards count them)."""
        noted = {"processed": False, DUPLICATE: True}.get(self.status or "")
        return {
            "tab": self.tab,
            "status": "processed" if self.status == DUPLICATE else self.status,
            "noted": noted,
            "file": self.file,
            "date_from": self.date_from,
            "date_to": self.date_to,
        }


def row_filter(
    *,
    tab: str | None = None,
    status: str | None = None,
    file: str | None = None,
    text: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> RowFilter:
    """Stage rows by tab, status (either in any case; `duplicate`: the rows skipped as
    duplicates, which `processed` leaves out), file (its name, or a path to it), accounting
    date (from/to, both inclusive) and text (in the key, any uploaded value or a message,
    ignoring case). An InputError names an unknown tab or status."""
    tab = tab.strip().lower() if tab else tab
    status = status.strip().lower() if status else status
    if tab is not None and tab not in TABS:
        raise InputError(f"unknown tab {tab!r}: expected one of {', '.join(TABS)}")
    if status is not None and status not in STATUS_FILTERS:
        raise InputError(f"unknown status {status!r}: expected one of {', '.join(STATUS_FILTERS)}")
    return RowFilter(
        tab=tab,
        status=status,
        file=Path(file).name if file else file,
        text=text or None,
        date_from=date_from,
        date_to=date_to,
    )


def list_rows(
    ctx: Context,
    *,
    tab: str | None = None,
    status: str | None = None,
    file: str | None = None,
    text: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> StageListing:
    """The rows `row_filter` describes, oldest first (a window of them: `limit` from
    `offset`), held whole, and the notes saying why rows wait. A listing of any size is read
    with `rows_of` instead."""
    found = row_filter(
        tab=tab, status=status, file=file, text=text, date_from=date_from, date_to=date_to
    )
    with rows_of(ctx, found, limit=limit, offset=offset) as listing:
        return StageListing(list(listing.rows), listing.notes)


@dataclass(frozen=True)
class StageRows:
    """The rows of a filter, read a chunk at a time, how many the filter finds, and the notes
    saying why rows wait."""

    rows: Iterator[dict[str, Any]]
    count: Callable[[], int]
    notes: list[str]


@contextmanager
def rows_of(
    ctx: Context,
    found: RowFilter,
    *,
    limit: int | None = None,
    offset: int = 0,
    chunk: int = CHUNK,
) -> Iterator[StageRows]:
    """The rows of a filter, oldest first, from `offset`, at most `limit` (None: all), read
    `chunk` rows a query (by row_id after the last row read) while the connection is open, so
    memory stays flat. A text filter is applied to each chunk (the uploaded values are
    compressed per file): the rows it skips are read too. Each row: row_id, tab, file, line,
    status, key, period and messages (a list of {column, value, message}). `count` counts the
    filter's rows in the database, unless a text filter asks to read them."""
    with ctx.engine.connect() as conn:
        notes = pending_notes(conn)
        yield StageRows(
            _rows(conn, found, limit=limit, offset=offset, chunk=chunk),
            lambda: _count(conn, found),
            notes,
        )


def _rows(
    conn: sa.Connection,
    found: RowFilter,
    *,
    limit: int | None = None,
    offset: int = 0,
    chunk: int = CHUNK,
) -> Iterator[dict[str, Any]]:
    if limit is not None and limit <= 0:
        return
    if found.text is None:
        stored = _stored(conn, found, limit=limit, offset=offset, chunk=chunk)
    else:
        matching = _TextMatch(conn, found.text)
        every = _stored(conn, found, limit=None, offset=0, chunk=chunk)
        hits = (r for part in _batches(every, chunk) for r in matching.of(part))
        stop = None if limit is None else offset + limit
        stored = islice(hits, offset, stop)
    for r in stored:
        yield {
            "row_id": r["row_id"],
            "tab": r["tab"],
            "file": r["file"],
            "line": r["line"],
            "status": r["status"],
            "key": r["key"],
            "period": r["period"],
            "messages": json.loads(r["messages"]),
        }


def _count(conn: sa.Connection, found: RowFilter) -> int:
    """How many rows `_rows` gives for a filter (all of them)."""
    if found.text is None:
        return store.listing_count(conn, **found.stored())
    return sum(1 for _ in _rows(conn, found))


def _stored(
    conn: sa.Connection, found: RowFilter, *, limit: int | None, offset: int, chunk: int
) -> Iterator[dict[str, Any]]:
    after, skip, left = None, offset, limit
    while left is None or left > 0:
        size = chunk if left is None else min(chunk, left)
        part = store.listing(conn, **found.stored(), limit=size, offset=skip, after=after)
        yield from part
        if len(part) < size:
            return
        after, skip = part[-1]["row_id"], 0
        left = None if left is None else left - len(part)


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while part := list(islice(rows, size)):
        yield part


class _TextMatch:
    """Which rows contain a text (ignoring case) in their key, a message or an uploaded value.
    Each file's uploaded values are decoded once, when a row of it is first asked about."""

    def __init__(self, conn: sa.Connection, text: str) -> None:
        self.conn = conn
        self.wanted = text.lower()
        self.lines: dict[int, set[int]] = {}  # file_id -> the lines whose values match

    def of(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for file_id in {int(r["file_id"]) for r in rows} - set(self.lines):
            self.lines[file_id] = self._matching_lines(file_id)
        return [
            r
            for r in rows
            if r["line"] in self.lines[int(r["file_id"])]
            or self.wanted in (r["key"] or "").lower()
            or self.wanted in r["messages"].lower()
        ]

    def _matching_lines(self, file_id: int) -> set[int]:
        values = payloads.read(self.conn, [file_id])
        columns = [c for c in values.columns if c not in ("file_id", "line")]
        hit = pl.any_horizontal(
            [pl.col(c).str.to_lowercase().str.contains(self.wanted, literal=True) for c in columns]
            or [pl.lit(value=False)]
        ).fill_null(value=False)
        return set(values.filter(hit)["line"].to_list())


def file_cards(ctx: Context, *, tab: str | None = None) -> list[dict[str, Any]]:
    """One card per uploaded file (SPEC §4.4), newest first: name, type, mapping, event, who
    uploaded it and when, rows read, and its rows per status (rows skipped as duplicates of
    processed rows counted apart from `processed`)."""
    if tab is not None and tab not in TABS:
        raise InputError(f"unknown tab {tab!r}: expected one of {', '.join(TABS)}")
    types = [k for k, v in TAB_OF_TYPE.items() if v == tab] if tab else list(TAB_OF_TYPE)
    with ctx.engine.connect() as conn:
        counts = status_counts(conn)
        files = store.files(conn, types)
    cards = []
    for card in files:
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
    """Why rows wait: '2 pending rows in contracts: job transaction_import is inactive', and
    why processed rows are not in the revenue yet: '12 lines wait for job revenue_process,
    which is inactive'."""
    inactive = job_store.inactive(conn)
    counts = store.counts_per_tab(conn, "pending")
    notes = [
        f"{counted(count, 'pending row')} in {tab}: job {JOB_OF_TAB[tab]} is inactive"
        for tab, count in counts
        if JOB_OF_TAB[tab] in inactive
    ]
    if REVENUE_JOB in inactive and (waiting := line_store.touched_count(conn)):
        verb = "waits" if waiting == 1 else "wait"
        notes.append(f"{counted(waiting, 'line')} {verb} for job {REVENUE_JOB}, which is inactive")
    return notes


def check_deletable(ctx: Context, row_ids: list[int]) -> int:
    """How many distinct rows `delete_rows` would delete; an InputError when a row does not
    exist or cannot be deleted (processed or already deleted). Changes nothing."""
    with ctx.engine.connect() as conn:
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


def delete_rows(ctx: Context, row_ids: list[int]) -> int:
    """Mark rows deleted (kept for lineage, with who and when; audit-logged), in one
    transaction. Processed rows cannot be."""
    with ctx.engine.begin() as conn:
        found = _deletable(conn, row_ids)
        store.set_status(conn, row_ids, "deleted", user=ctx.user, now=ctx.now)
        for row_id, status in found.items():
            record(
                conn,
                user=ctx.user,
                now=ctx.now,
                action="stage.delete",
                entity=f"stage_row:{row_id}",
                before={"status": status},
                after={"status": "deleted"},
            )
    return len(found)


def overview(ctx: Context) -> dict[str, Any]:
    """The stage area at a glance: rows per status over every file, and why rows wait."""
    with ctx.engine.connect() as conn:
        totals: dict[str, int] = dict.fromkeys((*STATUSES, DUPLICATE), 0)
        for counts in status_counts(conn).values():
            for status, count in counts.items():
                totals[status] = totals.get(status, 0) + count
        return {"statuses": totals, "notes": pending_notes(conn)}
