"""A report as an XLSX workbook a controller sends on (xlsxwriter): the rows with a frozen,
filtered heading, money as numbers formatted with each currency's decimals, a bold totals row
per currency, and for the waterfall a native stacked-column chart sheet per currency.

Writes only the file it is given; no rules (the figures come computed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from revrec.errors import InputError
from revrec.money import exponent

MAX_ROWS = 1_048_576  # a sheet's rows, the heading included
SERIES = 10  # the waterfall chart's largest rows of a currency; the rest is one "other" series


def write(
    name: str,
    title: str,
    rows: pl.DataFrame,
    money: list[str],
    totals: pl.DataFrame,
    path: Path,
) -> None:
    """`rows` and `totals` in minor units beside their `currency`; `title` names the book and
    period in the workbook's properties."""
    if rows.height + totals.height + 1 > MAX_ROWS:
        raise InputError(
            f"the {name} report has {rows.height:,} rows: more than an XLSX sheet holds "
            f"({MAX_ROWS - 1:,}); write it as .csv instead"
        )
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    book.set_properties({"title": f"{name} {title}", "author": "revrec"})
    sheet = book.add_worksheet(name[:31])
    formats = _formats(book)
    keys = [c for c in rows.columns if c not in money]
    sheet.write_row(0, 0, rows.columns, formats["heading"])
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(keys) - 1, 18)
    sheet.set_column(len(keys), len(rows.columns) - 1, 14)
    at = _write_rows(sheet, rows, money, formats, first=1)
    labelled = (
        totals.with_columns(pl.lit("total").alias(keys[0])) if keys[0] != "currency" else totals
    )
    shown = labelled.select(
        pl.col(c) if c in labelled.columns else pl.lit(None) for c in rows.columns
    )
    _write_rows(sheet, shown, money, formats, first=at, bold=True)
    sheet.autofilter(0, 0, max(rows.height, 1), len(rows.columns) - 1)
    if name == "waterfall":
        _charts(book, rows, money, formats)
    book.close()


def _formats(book: Any) -> dict[Any, Any]:
    found: dict[Any, Any] = {"heading": book.add_format({"bold": True, "bottom": 1})}
    for digits in range(5):
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        found[digits] = book.add_format({"num_format": pattern})
        found[("bold", digits)] = book.add_format({"num_format": pattern, "bold": True})
    found["bold"] = book.add_format({"bold": True})
    return found


def _write_rows(
    sheet: Any,
    rows: pl.DataFrame,
    money: list[str],
    formats: dict[Any, Any],
    *,
    first: int,
    bold: bool = False,
) -> int:
    """The rows from sheet row `first`; money as numbers in major units. Returns the next row."""
    columns = rows.columns
    is_money = [c in money for c in columns]
    digits = {code: exponent(code) for code in rows["currency"].unique().drop_nulls().to_list()}
    for offset, row in enumerate(rows.iter_rows()):
        places = digits.get(row[columns.index("currency")], 2)
        number = formats[("bold", places) if bold else places]
        text = formats["bold"] if bold else None
        for col, (value, cash) in enumerate(zip(row, is_money, strict=True)):
            if value is None:
                continue
            if cash:
                sheet.write_number(first + offset, col, value / 10**places, number)
            else:
                sheet.write_string(first + offset, col, str(value), text)
    return first + rows.height


def _charts(book: Any, rows: pl.DataFrame, money: list[str], formats: dict[Any, Any]) -> None:
    """Per currency, a stacked column chart of the scheduled revenue by month (and thereafter):
    its largest rows by total_scheduled, the rest as one "other" series."""
    months = money[money.index("recognized_to_date") + 1 : money.index("total_scheduled")]
    keys = [c for c in rows.columns if c not in money and c != "currency"]
    data = book.add_worksheet("chart data")
    line = 0
    for currency in sorted(rows["currency"].unique().to_list()):
        places = exponent(currency)
        mine = rows.filter(pl.col("currency") == currency).sort("total_scheduled", descending=True)
        top, rest = mine.head(SERIES), mine.slice(SERIES)
        series = [(" / ".join(str(v) for v in r[: len(keys)]), r[len(keys) :]) for r in
                  top.select(*keys, *months).iter_rows()]  # fmt: skip
        if rest.height:
            series.append(("other", rest.select(months).sum().row(0)))
        data.write_row(line, 0, [currency, *months], formats["heading"])
        chart = book.add_chart({"type": "column", "subtype": "stacked"})
        for index, (label, values) in enumerate(series, start=line + 1):
            data.write_string(index, 0, label)
            for col, value in enumerate(values, start=1):
                data.write_number(index, col, (value or 0) / 10**places, formats[places])
            chart.add_series({
                "name": ["chart data", index, 0],
                "categories": ["chart data", line, 1, line, len(months)],
                "values": ["chart data", index, 1, index, len(months)],
            })  # fmt: skip
        chart.set_title({"name": f"Revenue waterfall ({currency})"})
        chart.set_y_axis({"num_format": "#,##0" + ("." + "0" * places if places else "")})
        sheet = book.add_chartsheet(f"chart {currency}")
        sheet.set_chart(chart)
        line += len(series) + 2
