"""Opening the next period (SPEC §7): every book's open period closes, the next one opens, and
future stage rows of the new period wait for the jobs."""

from __future__ import annotations

import sqlalchemy as sa

from revrec.calendar import parse_period, period_name
from revrec.errors import StateError
from revrec.services.context import Context
from revrec.services.setup import open_period
from revrec.store import lines as line_store
from revrec.store import periods as period_store
from revrec.store import setup as setup_store
from revrec.store.audit import record


def advance(conn: sa.Connection, books: list[str], period: str) -> str:
    """In the caller's transaction: the books' open `period` closes (refused if another run
    closed it first), the next opens, every line is touched (each may recognize revenue in the
    new period: revenue_process re-posts them all) and the new period's future rows become
    pending. Returns the new period."""
    opened = period_name(parse_period(period) + 1)
    for book in books:
        if not period_store.close_open(conn, book, period):
            raise StateError(f"period {period} of book {book} was closed by another run")
        period_store.set_status(conn, book, opened, "open")
    line_store.touch_every_line(conn)
    period_store.release_future_rows(conn, opened)
    return opened


def open_next_period(ctx: Context) -> str:
    """Close every book's open period and open the next, in one transaction; future stage rows
    of the new period become pending. No checklist: `services.close` is the close of SPEC §7."""
    with ctx.engine.begin() as conn:
        books = setup_store.book_names(conn)
        new_name = advance(conn, books, open_period(conn, books[0]))
        record(
            conn,
            user=ctx.user,
            now=ctx.now,
            action="period.open",
            entity=f"period:{new_name}",
            before=None,
            after={"open": new_name},
            period=new_name,
        )
    return new_name
