"""Opening the next period (SPEC §7): every book's open period closes, the next one opens, and
future stage rows of the new period wait for the jobs."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from revrec.calendar import parse_period, period_name
from revrec.services.setup import open_period
from revrec.store import lines as line_store
from revrec.store import periods as period_store
from revrec.store import setup as setup_store
from revrec.store.audit import record


def open_next_period(conn: sa.Connection, *, user: str, now: datetime) -> str:
    """Close every book's open period and open the next; future stage rows of the new period
    become pending. (The checklist of SPEC §7 comes with the period-close issue.)"""
    new_name = ""
    for book in setup_store.book_names(conn):
        current = open_period(conn, book)
        new_name = period_name(parse_period(current) + 1)
        period_store.set_status(conn, book, current, "closed")
        period_store.set_status(conn, book, new_name, "open")
    # Every line may recognize revenue in the new period: revenue_process re-posts them all.
    line_store.touch_every_line(conn)
    period_store.release_future_rows(conn, new_name)
    record(
        conn,
        user=user,
        now=now,
        action="period.open",
        entity=f"period:{new_name}",
        before=None,
        after={"open": new_name},
        period=new_name,
    )
    return new_name
