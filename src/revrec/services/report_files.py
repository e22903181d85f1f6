"""A report as people and scripts receive it: money in major units with each currency's
decimals, the JSON document of SPEC §8, and files (CSV, JSON, XLSX) picked by extension.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from revrec.errors import InputError
from revrec.money import major_units
from revrec.services.reports import Report

SUFFIXES = (".csv", ".xlsx", ".json")


def check_output(path: Path) -> None:
    """The file's extension must name a format (checked before anything is computed)."""
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(
            f"--output {path}: the extension {path.suffix or '(none)'!r} is not one of "
            + ", ".join(SUFFIXES)
        )


def shown(found: Report) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The report's rows and its totals per currency, money in major units (strings)."""
    return major_units(found.rows, found.money), major_units(found.totals, found.money)


def document(found: Report, rows: pl.DataFrame, totals: pl.DataFrame) -> dict[str, Any]:
    """`{"report", "book", "period", "rows": [...], "totals": [{per currency}]}` (SPEC §8)."""
    return {
        "report": found.name,
        "book": found.book,
        "period": found.period,
        "rows": rows.to_dicts(),
        "totals": totals.to_dicts(),
    }


def write(found: Report, path: Path) -> None:
    """The report into a file of the format its extension names; written whole, then renamed,
    so that a reader never sees half a file."""
    check_output(path)
    suffix = path.suffix.lower()
    partial = path.with_name(path.name + ".partial")
    if suffix == ".xlsx":
        from revrec.exports import report_xlsx  # noqa: PLC0415 - xlsxwriter only when asked

        report_xlsx.write(found.name, f"{found.book} {found.period}", found.rows, found.money,
                          found.totals, partial)  # fmt: skip
    else:
        rows, totals = shown(found)
        if suffix == ".json":
            partial.write_text(json.dumps(document(found, rows, totals)) + "\n", encoding="utf-8")
        else:
            rows.write_csv(partial)
    partial.replace(path)
