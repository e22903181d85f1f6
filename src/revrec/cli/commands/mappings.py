"""`revrec mapping list|export|import`: attribute mappings (SPEC §4.3)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format, LimitOption, OffsetOption, Page
from revrec.errors import InputError

mapping_app = typer.Typer(
    no_args_is_help=True, help="Attribute mappings: list, export and import (SPEC §4.3)."
)


@mapping_app.command("list")
def mapping_list(
    cli: typer.Context,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """List every mapping per upload type: shipped or the user's, and its attributes."""
    from revrec.services import columns, mappings

    rows = mappings.list_mappings(context(cli))
    page = Page.of(fmt, limit, offset)
    render.listing(
        page.of_list(rows), columns.MAPPING_COLUMNS, fmt, page=page, count=lambda: len(rows)
    )


@mapping_app.command("export")
def mapping_export(
    cli: typer.Context,
    name: str,
    upload_type: Annotated[
        str | None, typer.Option("--type", help="only this upload type (default: all it has)")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="default: stdout")] = None,
) -> None:
    """Write a mapping as YAML, in the setup file's shape: `mapping import` reads it back."""
    from revrec.services import mappings

    text = mappings.export_mapping(context(cli), name, upload_type)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(f"{output}: cannot write the mapping: {error.strerror}") from None
    typer.echo(f"{output}: exported mapping {name!r}")


@mapping_app.command("import")
def mapping_import(
    cli: typer.Context,
    file: Path,
    name: Annotated[
        str | None, typer.Option("--name", help="import under this name (default: the file's)")
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Create or replace a user mapping from a YAML file; a bad file changes nothing."""
    from revrec.services import mappings

    result = mappings.import_mapping_file(context(cli), file, name=name)
    if fmt is Format.json:
        render.emit_json(result.as_json())
    elif not result.changed:
        typer.echo(
            f"{result.file}: mapping {result.name!r} is stored as in this file: nothing changed"
        )
    else:
        done = [
            f"{verb} for {', '.join(kinds)} uploads"
            for verb, kinds in (
                ("created", result.created),
                ("replaced", result.replaced),
                ("unchanged", result.unchanged),
            )
            if kinds
        ]
        typer.echo(f"{result.file}: mapping {result.name!r} " + "; ".join(done))


def register(app: typer.Typer) -> None:
    app.add_typer(mapping_app, name="mapping")
