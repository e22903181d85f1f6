"""The stage area (SPEC §4.4): listing rows with their messages, deleting rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.errors import InputError
from revrec.store import payloads
from revrec.store import schema as t
from revrec.store.audit import record

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
    limit: int | None = None,
) -> StageListing:
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
    """The rows whose key or any uploaded value contains `text` (ignoring case)."""
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
    return [r for r in found if r.row_id in matched or wanted in r.key.lower()]


def pending_notes(conn: sa.Connection) -> list[str]:
    """Why rows wait: 'N pending rows in contracts: job transaction_import is inactive'."""
    inactive = {r.name for r in conn.execute(sa.select(t.jobs.c.name).where(~t.jobs.c.active))}
    counts = conn.execute(
        sa.select(t.stage_rows.c.tab, sa.func.count())
        .where(t.stage_rows.c.status == "pending")
        .group_by(t.stage_rows.c.tab)
    ).all()
    return [
        f"{count} pending rows in {tab}: job {JOB_OF_TAB[tab]} is inactive"
        for tab, count in sorted(counts)
        if JOB_OF_TAB[tab] in inactive
    ]


def delete_rows(conn: sa.Connection, row_ids: list[int], *, user: str, now: datetime) -> int:
    """Mark rows deleted (kept for lineage, with who and when). Processed rows cannot be."""
    s = t.stage_rows
    found = conn.execute(sa.select(s.c.row_id, s.c.status).where(s.c.row_id.in_(row_ids))).all()
    missing = sorted(set(row_ids) - {r.row_id for r in found})
    if missing:
        raise InputError(f"no stage rows with ids {missing}")
    locked = [r.row_id for r in found if r.status in ("processed", "deleted")]
    if locked:
        raise InputError(f"rows {locked} are processed or already deleted and cannot be deleted")
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
