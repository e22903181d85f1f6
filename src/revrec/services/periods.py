"""Accounting periods as the CLI and the web app show them: each book's periods and status.

A read-only use case over the store; no SQL here (it is in `store.periods`).
"""

from __future__ import annotations

from revrec.services.context import Context
from revrec.store.periods import list_periods


def status(ctx: Context) -> list[dict[str, str]]:
    """Every period of every book with its status (future, open, closed), by book and period."""
    with ctx.engine.connect() as conn:
        return [
            {"book": row.book, "period": row.period, "status": row.status}
            for row in list_periods(conn)
        ]
