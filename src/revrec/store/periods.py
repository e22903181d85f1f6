"""The accounting periods of every book, as rows: what `revrec period status` lists.

Reads and writes only; the rules of opening and closing periods are the services'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from revrec.store import schema as t


def list_periods(conn: sa.Connection) -> Sequence[sa.Row[Any, Any, Any]]:
    """Every period of every book (book, period, status), ordered by book, then period."""
    p = t.periods
    return conn.execute(
        sa.select(p.c.book, p.c.period, p.c.status).order_by(p.c.book, p.c.period)
    ).all()


def set_status(conn: sa.Connection, book: str, period: str, status: str) -> None:
    """A book's period gets this status; a period not stored yet is added with it."""
    p = t.periods
    where = (p.c.book == book) & (p.c.period == period)
    if conn.execute(sa.select(p.c.period).where(where)).scalar() is not None:
        conn.execute(p.update().where(where).values(status=status))
    else:
        conn.execute(p.insert().values(book=book, period=period, status=status))


def release_future_rows(conn: sa.Connection, through: str) -> None:
    """Future stage rows of periods through this one become pending."""
    s = t.stage_rows
    conn.execute(
        s.update()
        .where((s.c.status == "future") & (s.c.period <= through))
        .values(status="pending")
    )


def close_open(conn: sa.Connection, book: str, period: str) -> bool:
    """The book's period goes from open to closed, only if it is still open: False when another
    run closed it first (a conditional update: on PostgreSQL the second run waits for the
    first's row lock, then finds nothing to update)."""
    p = t.periods
    done = conn.execute(
        p.update()
        .where((p.c.book == book) & (p.c.period == period) & (p.c.status == "open"))
        .values(status="closed")
    )
    return done.rowcount == 1
