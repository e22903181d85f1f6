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
    from revrec.services import database

    options = cli.find_object(Options) or Options()
    return database.context(
        options.db, book=options.book, user=user(), now=datetime.now(UTC), checked=checked
    )


def can_ask() -> bool:
    """Whether a person can answer a question (stdin is a terminal)."""
    return sys.stdin.isatty()
