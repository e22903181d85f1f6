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
from revrec.store import payloads
from revrec.store import schema as t
from revrec.store.audit import record
from revrec.words import counted

TABS = ("contracts", "documents", "cost", "events")
STATUSES = ("pending", "future", "error", "processed", "deleted")
TAB_OF_TYPE = {
    "sales_order": "contracts",
    "billing": "documents",
    "cost": "cost",
    "event": "events",
}
JOB_OF_TAB = {
    "contracts": "transaction_import",
    "documents": "transaction_import",
    "cost": "transaction_import",
    "events": "event_import",
}


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
    s, f = t.stage_rows, t.files
    query = (
        sa.select(
            s.c.row_id,
            s.c.tab,
            f.c.name.label("file"),
            s.c.line,
            s.c.status,
            s.c.key,
            s.c.messages,
            s.c.period,
            s.c.file_id,
        )
        .join(f, f.c.file_id == s.c.file_id)
        .order_by(s.c.row_id)
    )
    if tab:
        query = query.where(s.c.tab == tab)
    if status:
        query = query.where(s.c.status == status)
    if file:
        query = query.where(f.c.name == file)
    if date_from:
        query = query.where(s.c.accounting_date >= date_from)
    if date_to:
        query = query.where(s.c.accounting_date <= date_to)
    if limit and not text:
        query = query.limit(limit)
    found = list(conn.execute(query))
    if text:
        found = _with_text(conn, found, text)[:limit]
    rows = [
        {
            "row_id": r.row_id,
            "tab": r.tab,
            "file": r.file,
            "line": r.line,
            "status": r.status,
            "key": r.key,
            "period": r.period,
            "messages": json.loads(r.messages),
        }
        for r in found
    ]
    return StageListing(rows, pending_notes(conn))


def _with_text(conn: sa.Connection, found: list[Any], text: str) -> list[Any]:
    """The rows whose key, any uploaded value or a message contains `text` (ignoring case)."""
    if not found:
        return found
    wanted = text.lower()
    rows = pl.DataFrame(
        [(r.row_id, r.file_id, r.line) for r in found],
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
        if r.row_id in matched or wanted in r.key.lower() or wanted in r.messages.lower()
    ]


def file_cards(conn: sa.Connection, *, tab: str | None = None) -> list[dict[str, Any]]:
    """One card per uploaded file (SPEC §4.4), newest first: name, type, mapping, event, who
    uploaded it and when, rows read, and its rows per status (rows skipped as duplicates of
    processed rows counted apart from `processed`)."""
    if tab is not None and tab not in TABS:
        raise InputError(f"unknown tab {tab!r}: expected one of {', '.join(TABS)}")
    f = t.files
    types = [k for k, v in TAB_OF_TYPE.items() if v == tab] if tab else list(TAB_OF_TYPE)
    counts = status_counts(conn)
    cards = []
    for card in conn.execute(
        sa.select(f).where(f.c.upload_type.in_(types)).order_by(f.c.file_id.desc())
    ):
        found = counts.get(card.file_id, {})
        cards.append(
            {
                "file_id": card.file_id,
                "file": card.name,
                "upload_type": card.upload_type,
                "mapping": card.mapping,
                "event": card.event_name,
                "uploaded_by": card.uploaded_by,
                "uploaded_at": utc_text(card.uploaded_at),
                "rows_read": card.rows_read,
                **{status: found.get(status, 0) for status in (*STATUSES, "duplicate")},
            }
        )
    return cards


def status_counts(conn: sa.Connection, file_id: int | None = None) -> dict[int, dict[str, int]]:
    """Rows per status of each file (or of one): a processed row whose note says it was
    skipped as a duplicate counts as `duplicate`, not `processed`."""
    s = t.stage_rows
    skipped = (s.c.status == "processed") & (s.c.messages != "[]")
    by_status = sa.select(s.c.file_id, s.c.status, sa.func.count())
    duplicates = sa.select(s.c.file_id, sa.func.count()).where(skipped)
    if file_id is not None:
        by_status = by_status.where(s.c.file_id == file_id)
        duplicates = duplicates.where(s.c.file_id == file_id)
    counts: dict[int, dict[str, int]] = {}
    for found, status, count in conn.execute(by_status.group_by(s.c.file_id, s.c.status)):
        counts.setdefault(found, {})[status] = int(count)
    for found, count in conn.execute(duplicates.group_by(s.c.file_id)):
        counts[found]["duplicate"] = int(count)
        counts[found]["processed"] -= int(count)
    return counts


def pending_notes(conn: sa.Connection) -> list[str]:
    """Why rows wait: '2 pending rows in contracts: job transaction_import is inactive'."""
    inactive = {r.name for r in conn.execute(sa.select(t.jobs.c.name).where(~t.jobs.c.active))}
    counts = conn.execute(
        sa.select(t.stage_rows.c.tab, sa.func.count())
        .where(t.stage_rows.c.status == "pending")
        .group_by(t.stage_rows.c.tab)
    ).all()
    return [
        f"{counted(count, 'pending row')} in {tab}: job {JOB_OF_TAB[tab]} is inactive"
        for tab, count in sorted(counts)
        if JOB_OF_TAB[tab] in inactive
    ]


def check_deletable(conn: sa.Connection, row_ids: list[int]) -> int:
    """How many distinct rows `delete_rows` would delete; an InputError when a row does not
    exist or cannot be deleted (processed or already deleted). Changes nothing."""
    return len(_deletable(conn, row_ids))


def _deletable(conn: sa.Connection, row_ids: list[int]) -> list[Any]:
    s = t.stage_rows
    found = conn.execute(sa.select(s.c.row_id, s.c.status).where(s.c.row_id.in_(row_ids))).all()
    missing = sorted(set(row_ids) - {r.row_id for r in found})
    if missing:
        raise InputError(f"no stage rows with ids {missing}")
    locked = sorted(r.row_id for r in found if r.status in ("processed", "deleted"))
    if locked:
        raise InputError(f"rows {locked} are processed or already deleted and cannot be deleted")
    return list(found)


def delete_rows(conn: sa.Connection, row_ids: list[int], *, user: str, now: datetime) -> int:
    """Mark rows deleted (kept for lineage, with who and when). Processed rows cannot be."""
    s = t.stage_rows
    found = _deletable(conn, row_ids)
    conn.execute(
        s.update()
        .where(s.c.row_id.in_(row_ids))
        .values(status="deleted", changed_by=user, changed_at=now)
    )
    for row in found:
        record(
            conn,
            user,
            "stage.delete",
            f"stage_row:{row.row_id}",
            {"status": row.status},
            {"status": "deleted"},
        )
    return len(found)
