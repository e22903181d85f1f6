"""The stage area's tables (SPEC §4.4): uploaded files (their cards) and their stage rows.

The rows' uploaded values are in `store.payloads`. Reads and writes only: what a status means,
what counts as a duplicate and what may be deleted are the services' rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.errors import StateError
from revrec.store import schema as t
from revrec.store.bulk import insert_frame


def find_file(
    conn: sa.Connection, sha256: str, upload_type: str, event_name: str | None
) -> tuple[int, int] | None:
    """(file_id, rows_read) of a file of this content, upload type and event imported before."""
    f = t.files
    same_event = f.c.event_name == event_name if event_name else f.c.event_name.is_(None)
    found = conn.execute(
        sa.select(f.c.file_id, f.c.rows_read).where(
            (f.c.sha256 == sha256) & (f.c.upload_type == upload_type) & same_event
        )
    ).first()
    return None if found is None else (int(found.file_id), int(found.rows_read))


def add_file(
    conn: sa.Connection,
    *,
    name: str,
    sha256: str,
    upload_type: str,
    mapping: str,
    event_name: str | None,
    uploaded_by: str,
    uploaded_at: datetime,
    rows_read: int,
) -> int:
    """A new file card; its file_id."""
    inserted = conn.execute(
        t.files.insert().values(
            name=name,
            sha256=sha256,
            upload_type=upload_type,
            mapping=mapping,
            event_name=event_name,
            uploaded_by=uploaded_by,
            uploaded_at=uploaded_at,
            rows_read=rows_read,
        )
    ).inserted_primary_key
    if inserted is None:
        raise StateError("the file card was not saved")
    return int(inserted[0])


def files(conn: sa.Connection, upload_types: Iterable[str]) -> list[dict[str, Any]]:
    """The cards of the files of these upload types, newest first, as stored."""
    f = t.files
    query = sa.select(f).where(f.c.upload_type.in_(list(upload_types)))
    return [r._asdict() for r in conn.execute(query.order_by(f.c.file_id.desc()))]


def add_rows(conn: sa.Connection, rows: pl.DataFrame) -> int:
    """New stage rows (columns named as the table's; others are ignored); how many."""
    return insert_frame(conn, t.stage_rows, rows)


def rows_of_file(conn: sa.Connection, file_id: int, status: str) -> list[tuple[int, str]]:
    """(line, messages as JSON text) of a file's rows in a status, by line."""
    s = t.stage_rows
    query = sa.select(s.c.line, s.c.messages).where(
        (s.c.file_id == file_id) & (s.c.status == status)
    )
    return [(int(r.line), str(r.messages)) for r in conn.execute(query.order_by(s.c.line))]


def counts(conn: sa.Connection, file_id: int | None = None) -> list[tuple[int, str, bool, int]]:
    """(file_id, status, noted, rows) of every file (or one): rows per status, apart by whether
    they carry messages (`noted`)."""
    s = t.stage_rows
    noted = (s.c.messages != "[]").label("noted")
    query = sa.select(s.c.file_id, s.c.status, noted, sa.func.count())
    if file_id is not None:
        query = query.where(s.c.file_id == file_id)
    found = conn.execute(query.group_by(s.c.file_id, s.c.status, noted))
    return [(int(f), str(status), bool(n), int(count)) for f, status, n, count in found]


def counts_per_tab(conn: sa.Connection, status: str) -> list[tuple[str, int]]:
    """(tab, rows) of the rows in a status, by tab."""
    s = t.stage_rows
    query = sa.select(s.c.tab, sa.func.count()).where(s.c.status == status).group_by(s.c.tab)
    return sorted((str(tab), int(count)) for tab, count in conn.execute(query))


def _listed(
    query: sa.Select[Any],
    *,
    tab: str | None = None,
    status: str | None = None,
    noted: bool | None = None,
    file: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> sa.Select[Any]:
    """The query's stage rows (joined to their files) that pass the listing's filters."""
    s, f = t.stage_rows, t.files
    query = query.select_from(s.join(f, f.c.file_id == s.c.file_id))
    if tab:
        query = query.where(s.c.tab == tab)
    if status:
        query = query.where(s.c.status == status)
    if noted is not None:
        query = query.where((s.c.messages != "[]") if noted else (s.c.messages == "[]"))
    if file:
        query = query.where(f.c.name == file)
    if date_from:
        query = query.where(s.c.accounting_date >= date_from)
    if date_to:
        query = query.where(s.c.accounting_date <= date_to)
    return query


def listing(
    conn: sa.Connection,
    *,
    tab: str | None = None,
    status: str | None = None,
    noted: bool | None = None,
    file: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int | None = None,
    offset: int = 0,
    after: int | None = None,
) -> list[dict[str, Any]]:
    """Stage rows with the name of their file, oldest first (by row_id): row_id, tab, file,
    line, status, key, messages (JSON text), period, file_id. Filters by tab, status, whether
    the row carries messages (`noted`), file name and accounting date (from/to, both
    inclusive), when given; then the rows after row_id `after`, skipping `offset` of them, at
    most `limit`."""
    s, f = t.stage_rows, t.files
    query = _listed(
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
        ),
        tab=tab,
        status=status,
        noted=noted,
        file=file,
        date_from=date_from,
        date_to=date_to,
    ).order_by(s.c.row_id)
    if after is not None:
        query = query.where(s.c.row_id > after)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [r._asdict() for r in conn.execute(query)]


def listing_count(
    conn: sa.Connection,
    *,
    tab: str | None = None,
    status: str | None = None,
    noted: bool | None = None,
    file: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> int:
    """How many stage rows `listing` finds with these filters (no limit)."""
    query = _listed(
        sa.select(sa.func.count()),
        tab=tab,
        status=status,
        noted=noted,
        file=file,
        date_from=date_from,
        date_to=date_to,
    )
    return int(conn.execute(query).scalar() or 0)


def statuses(conn: sa.Connection, row_ids: Iterable[int]) -> dict[int, str]:
    """row_id -> status of those of these rows that exist."""
    s = t.stage_rows
    query = sa.select(s.c.row_id, s.c.status).where(s.c.row_id.in_(list(row_ids)))
    return {int(r.row_id): str(r.status) for r in conn.execute(query)}


def set_status(
    conn: sa.Connection, row_ids: Iterable[int], status: str, *, user: str, now: datetime
) -> None:
    """These rows in a new status, changed by `user` at `now`."""
    s = t.stage_rows
    conn.execute(
        s.update()
        .where(s.c.row_id.in_(list(row_ids)))
        .values(status=status, changed_by=user, changed_at=now)
    )


def newest_status(conn: sa.Connection, key: str, among: Iterable[str]) -> str | None:
    """The status of the newest row with this key whose status is one of `among`."""
    s = t.stage_rows
    query = sa.select(s.c.status).where((s.c.key == key) & s.c.status.in_(list(among)))
    found = conn.execute(query.order_by(s.c.row_id.desc())).scalar()
    return None if found is None else str(found)


def status_count(conn: sa.Connection, status: str, *, through: str | None = None) -> int:
    """How many stage rows have this status (of periods through `through`, when given; a row
    with no period yet counts)."""
    s = t.stage_rows
    query = sa.select(sa.func.count()).select_from(s).where(s.c.status == status)
    if through is not None:
        query = query.where(s.c.period.is_(None) | (s.c.period <= through))
    return int(conn.execute(query).scalar() or 0)
