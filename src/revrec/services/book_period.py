"""The book and period a command is about: the Context's book (default the primary one) and
the period asked (default its open one), which must exist and not be in the future."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from revrec.errors import InputError, StateError
from revrec.services.context import Context
from revrec.services.subledger import primary_book
from revrec.store import journals as store
from revrec.store import setup as setup_store


@dataclass(frozen=True)
class Journal:
    book: str
    period: str


def book_period(conn: sa.Connection, ctx: Context, period: str | None) -> Journal:
    """The book of the Context (default primary) and the period asked (default its open one);
    the period must exist in the book and not be in the future."""
    book = primary_book(conn, ctx.book)
    if period is None:
        found = setup_store.open_period(conn, book)
        if found is None:
            raise StateError(f"book {book} has no open period")
        return Journal(book, found)
    status = store.period_status(conn, book, period)
    if status is None:
        raise InputError(f"period {period} does not exist in book {book}")
    if status == "future":
        raise InputError(f"period {period} of book {book} is in the future: it has no journal")
    return Journal(book, period)
