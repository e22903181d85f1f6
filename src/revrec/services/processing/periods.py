"""Opening the next period (SPEC §7): every book's open period closes, the next one opens, and
future stage rows of the new period wait for the jobs."""

from __future__ import annotations

from revrec.calendar import parse_period, period_name
from revrec.services.context import Context
from revrec.services.setup import open_period
from revrec.store import lines as line_store
from revrec.store import periods as period_store
from revrec.store import setup as setup_store
from revrec.store.audit import record


def open_next_period(ctx: Context) -> str:
    """Close every book's open period and open the next, in one transaction; future stage rows
    of the new period become pending. No checklist: `services.close` is the close of SPEC §7."""
    with ctx.engine.begin() as conn:
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
            user=ctx.user,
            now=ctx.now,
            action="period.open",
            entity=f"period:{new_name}",
            before=None,
            after={"open": new_name},
            period=new_name,
        )
    return new_name
