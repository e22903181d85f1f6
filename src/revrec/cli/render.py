"""Rendering results for people (rich tables) and scripts (CSV, JSON). No business logic."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def table(frame: pl.DataFrame, title: str | None = None) -> None:
    out = Table(title=title, title_justify="left")
    for name, dtype in frame.schema.items():
        out.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        out.add_row(*("" if v is None else str(v) for v in row))
    # A terminal wraps to its width; a pipe or file gets whole values, never "C-1…".
    Console(width=None if sys.stdout.isatty() else 240).print(out)


def frame(data: pl.DataFrame, fmt: Format, title: str | None = None) -> None:
    if fmt is Format.json:
        emit_json({"rows": data.to_dicts()})
    elif fmt is Format.csv:
        sys.stdout.write(data.write_csv())
    else:
        table(data, title)


def emit_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, default=str) + "\n")
