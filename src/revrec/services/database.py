"""Opening the database a command or request works on, and the Context it runs in.

The shells' one way to the store's engine: the URL (--db), its migrations, the book (--book) it
names. No command logic here, and nothing rendered.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from revrec.services import setup
from revrec.services.context import Context
from revrec.store import db


def open_engine(url: str | None) -> sa.Engine:
    """The engine of --db, else $REVREC_DATABASE_URL, else ./revrec.db; nothing is connected
    yet, and a URL revrec does not support is an InputError."""
    return db.engine(url)


def check(engine: sa.Engine, book: str | None = None) -> None:
    """A StateError unless the database exists at the code's migration; an InputError unless it
    holds `book`, when one is named."""
    db.check_current(engine)
    if book is not None:
        with engine.connect() as conn:
            setup.check_book(conn, book)


def migrate(engine: sa.Engine) -> None:
    """Create the database, or bring it to the newest migration (idempotent)."""
    db.migrate(engine)


def shown(url: sa.URL) -> str:
    """A URL as messages show it: the password hidden, the driver left out."""
    return db.shown(url)


def context(
    url: str | None,
    *,
    book: str | None,
    user: str,
    now: datetime,
    checked: bool = True,
) -> Context:
    """The Context of one command: the database of `url`, checked (unless `checked` is False,
    for `init`, which creates it) to be current and to hold `book`."""
    engine = open_engine(url)
    if checked:
        check(engine, book)
    return Context(engine, user, now, book)


def problem(error: BaseException) -> str | None:
    """The one line to show when the database could not be reached or its URL is not one; None
    for any other error."""
    if not isinstance(error, sa.exc.OperationalError | sa.exc.ArgumentError):
        return None
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
