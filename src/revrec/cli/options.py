"""The global options of a command (--db, --book, kept in Typer's context object) and the
Context it runs in: who runs it, and `now` read once for the whole command.

Services are imported when a Context is built, never on import: `revrec --help` stays fast.
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from revrec.cli.render import Format

if TYPE_CHECKING:
    from revrec.services.context import Context

FormatOption = Annotated[Format, typer.Option("--format", help="table, csv or json")]


@dataclass(frozen=True)
class Options:
    """What the global options say: the database URL and the book (None: their defaults)."""

    db: str | None = None
    book: str | None = None


def user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "revrec"


def context(cli: typer.Context, *, checked: bool = True) -> Context:
    """The Context of this command: the database of --db, checked (unless `checked` is False,
    for `init`) to be a current revrec database holding the book --book names, when it names
    one."""
    options = cli.find_object(Options) or Options()
    return _context(options.db, book=options.book, checked=checked)


def new_database(url: str) -> Context:
    """The Context of a command that creates its own database at `url` (`bench --store`):
    unchecked, in its primary book, whatever --db and --book say."""
    return _context(url, book=None, checked=False)


def _context(url: str | None, *, book: str | None, checked: bool) -> Context:
    from revrec.services import database

    return database.context(url, book=book, user=user(), now=datetime.now(UTC), checked=checked)


def can_ask() -> bool:
    """Whether a person can answer a question (stdin is a terminal)."""
    return sys.stdin.isatty()
