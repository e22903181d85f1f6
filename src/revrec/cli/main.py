"""revrec's command line: the Typer app, its global options, and errors as one line each.

The commands are in `revrec.cli.commands`, one module per area. Nothing heavy is imported here or
there on import (no Polars, SQLAlchemy or services): `revrec --help` loads only Typer.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from revrec.cli.commands import (
    audit,
    explain,
    exports,
    imports,
    jobs,
    journals,
    lines,
    mappings,
    periods,
    reports,
    setup,
    stage,
    tools,
    users,
    web,
)
from revrec.cli.options import Options
from revrec.errors import RevrecError

AREAS = (
    setup,
    mappings,
    imports,
    stage,
    jobs,
    periods,
    journals,
    reports,
    lines,
    explain,
    exports,
    audit,
    users,
    web,
    tools,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help and usage errors: rich's help formatter costs ~0.3 s of start-up (it imports
    # rich.markdown and markdown-it) for every `--help`.
    rich_markup_mode=None,
    help="revrec: a revenue recognition subledger (ASC 606 / IFRS 15).",
)


@app.callback()
def _options(
    cli: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="database URL (default $REVREC_DATABASE_URL or ./revrec.db)"),
    ] = None,
    book: Annotated[str | None, typer.Option("--book", help="book name (default: primary)")] = None,
) -> None:
    cli.obj = Options(db=db, book=book)


for area in AREAS:
    area.register(app)


def main() -> None:
    try:
        app()
    except RevrecError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
    except Exception as error:
        problem = _database_problem(error)
        if problem is None:
            raise
        # The database could not be reached or the URL is not one: say which, no traceback.
        typer.echo(f"error: database: {problem}", err=True)
        sys.exit(1)


def _database_problem(error: Exception) -> str | None:
    if "sqlalchemy" not in sys.modules:  # no database was opened: not a database error
        return None
    from revrec.services import database

    return database.problem(error)


def command_words() -> list[tuple[str, ...]]:
    """Every command of the app as the words that call it, e.g. ("stage", "list")."""
    return words_of(app)


def words_of(typer_app: typer.Typer) -> list[tuple[str, ...]]:
    """Every command of a Typer app as the words that call it."""
    import typer.main

    found: list[tuple[str, ...]] = []

    def walk(command: Any, words: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*words, name))
        else:
            found.append(words)

    walk(typer.main.get_command(typer_app), ())
    return found
