"""The legacy Revenue Recognition Schedules file (SPEC §10): its schema, and its rows written as
CSV or XLSX a page at a time (money in major units with each currency's decimals, dates as
`YYYY-MM-DD 00:00:00 UTC`, an empty cell for a missing value).

Formats and writes; computes nothing. Writes only the file or stream it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import IO, NamedTuple

import polars as pl

from revrec.exports import xlsx
from revrec.money import exponent


def _month(k: int) -> str:
    if k == 1:
        return "The revenue dated in the calendar month of --as-of (the current month)."
    after = "" if k == 2 else f" {k - 1} months"
    return f"The revenue dated in the calendar month{after} after month_1."


class Column(NamedTuple):
    column: str
    type: str  # integer, text, datetime, money (major units), currency (ISO 4217)
    example: str
    description: str


SCHEMA: tuple[Column, ...] = (
    Column("revenue_schedule_id", "integer", "1899116660302871078",
           "The schedule's stable id: a hash of line_item_id below 2^63 (the same data gives "
           "the same id)."),
    Column("invoice_number", "text", "192880", "The invoice (document) number."),
    Column("invoice_date", "datetime", "2017-06-01 00:00:00 UTC",
           "The invoice's date; --from and --to select on it."),
    Column("invoice_state", "text", "paid",
           "The invoice's state as uploaded (paid, processing, open, failed); empty when the "
           "upload did not give it."),
    Column("account_code", "text", "11734", "The customer charged (customer_id)."),
    Column("accounting_code", "text", "monthly_fee",
           "The line item's accounting code as uploaded, else its item code; empty when "
           "neither is known."),
    Column("line_item_id", "text", "3a6ae2555a2e2a76c077604bf5b90457",
           "The billing line (doc_line_id); line_item_uuid or adjustment_uuid elsewhere."),
    Column("line_item_start_date", "datetime", "2017-06-01 00:00:00 UTC",
           "The first day of service (the invoice date when none was given)."),
    Column("line_item_end_date", "datetime", "2017-07-01 00:00:00 UTC",
           "The day after the last day of service (exclusive); empty for a one-time charge."),
    Column("origin", "text", "plan",
           "The line item's source as uploaded (plan, add_on, credit, charge); else credit "
           "for a credit (CM, CMC) and charge for the others."),
    Column("days", "integer", "30",
           "Days from line_item_start_date to line_item_end_date (end exclusive); empty "
           "without an end date."),
    Column("amount_per_day", "money", "3.33",
           "total_amount / days, rounded half-even to the currency's decimals; display only "
           "(no other column uses it); empty without days."),
    Column("total_amount", "money", "100.00",
           "The schedule's amount: positive for a charge (INV) or a cancelled credit (CMC), "
           "negative for a credit (CM) or a cancelled invoice (IVC)."),
    Column("currency", "currency", "USD", "The currency of every amount of the row."),
    Column("schedule_type", "text", "evenly",
           "evenly (per day, cumulative half-even rounding), at_range_start (all on the start "
           "date) or at_range_end (all on line_item_end_date); without an end date, all on "
           "the start date."),
    Column("revenue_recognition_date", "datetime", "2017-06-01 00:00:00 UTC",
           "The day all the revenue is recognized; only for at_range_start and at_range_end."),
    Column("deferred_revenue_balance", "money", "50.00",
           "total_amount minus the revenue dated on or before --as-of (default: today, UTC)."),
    Column("arrears", "money", "0.00", "The revenue dated before the first day of month_1."),
    *(
        Column(f"month_{k}", "money", "100.00" if k == 1 else "0.00", _month(k))
        for k in range(1, 13)
    ),
    Column("future_revenue", "money", "0.00",
           "The revenue dated after month_12. arrears + month_1..month_12 + future_revenue = "
           "total_amount on every row."),
    Column("invoice_origin", "text", "purchase",
           "The event that created the invoice as uploaded (purchase, refund, renewal, ...); "
           "else refund for a credit (CM, CMC) and purchase for the others."),
)  # fmt: skip
COLUMNS = tuple(c.column for c in SCHEMA)
MONEY = tuple(c.column for c in SCHEMA if c.type == "money")
DATES = tuple(c.column for c in SCHEMA if c.type == "datetime")
DATE_FORMAT = "%Y-%m-%d 00:00:00 UTC"  # a stored date, at midnight UTC
_DECIMALS = "_decimals"  # the XLSX writer's decimals of a row's money
# Numbers in a sheet; the id stays text (19 digits: a spreadsheet keeps 15).
_NUMBERS: dict[str, str | None] = {"days": None, **dict.fromkeys(MONEY, _DECIMALS)}


def schema_frame() -> pl.DataFrame:
    """The schema file: column, type, example, description."""
    return pl.DataFrame(list(SCHEMA), schema=list(Column._fields), orient="row")


def with_major_units(rows: pl.DataFrame) -> pl.DataFrame:
    """The export's rows with money in major units: exact decimals with the currency's places
    when the page has one number of places (most do), else text. Dates stay dates."""
    places = _places(rows)
    # 18 digits when every amount of the page has at most 18 (nearly always): such a Decimal
    # column is written about a fifth faster than one of 38.
    widest = rows.select(pl.max_horizontal(pl.col(*MONEY).abs().max())).item()
    precision = 18 if widest is None or widest < 10**18 else 38
    if len(set(places.values())) <= 1:
        count = next(iter(places.values()), 2)
        return rows.with_columns(_decimal(name, count, precision) for name in MONEY)
    digits = pl.col("currency").replace_strict(places, return_dtype=pl.Int64)
    return rows.with_columns(
        _when_places(digits, name, sorted(set(places.values())), precision) for name in MONEY
    )


def _decimal(name: str, places: int, precision: int = 38) -> pl.Expr:
    # An exact product (minor units x 10^-places): a Decimal column prints every place.
    unit = pl.lit(Decimal(1).scaleb(-places), dtype=pl.Decimal(precision, places))
    exact = pl.col(name).cast(pl.Decimal(precision, 0)) * unit
    return exact.cast(pl.Decimal(precision, places)).alias(name)


def _when_places(digits: pl.Expr, name: str, counts: list[int], precision: int) -> pl.Expr:
    shown = pl.lit(None, dtype=pl.String)
    for count in counts:
        as_text = _decimal(name, count, precision).cast(pl.String)
        shown = pl.when(digits == count).then(as_text).otherwise(shown)
    return shown.alias(name)


def write_csv(pages: Iterable[pl.DataFrame], out: IO[bytes]) -> int:
    """The rows of every page (typed rows) as CSV, the headings once; how many rows."""
    count = 0
    out.write((",".join(COLUMNS) + "\n").encode())
    for page in pages:
        if page.height:
            with_major_units(page).select(COLUMNS).write_csv(
                out, include_header=False, date_format=DATE_FORMAT
            )
            count += page.height
    return count


def write_xlsx(pages: Iterable[pl.DataFrame], path: Path, *, sheet: str = "schedules") -> int:
    """The rows of every page as one XLSX sheet, its heading row frozen; how many rows. More
    than a sheet holds is an InputError (the file is then incomplete: the caller removes it)."""
    count = 0
    with xlsx.sheet(path, COLUMNS, numbers=_NUMBERS, name=sheet) as write:
        for page in pages:
            if page.height:
                digits = pl.col("currency").replace_strict(
                    _places(page), default=2, return_dtype=pl.Int64
                )
                cells = with_major_units(page).with_columns(
                    pl.col(*DATES).dt.strftime(DATE_FORMAT), digits.alias(_DECIMALS)
                )
                write(cells)
                count += page.height
    return count


def write_schema(
    out: IO[str] | None = None, *, path: Path | None = None, as_xlsx: bool = False
) -> None:
    """The schema file as CSV on `out`, or into `path` (CSV, or XLSX when `as_xlsx`)."""
    frame = schema_frame()
    if path is not None and as_xlsx:
        with xlsx.sheet(path, frame.columns, numbers={}, name="schema") as write:
            write(frame)
    elif path is not None:
        path.write_text(frame.write_csv(), encoding="utf-8")
    elif out is not None:
        out.write(frame.write_csv())


def _places(page: pl.DataFrame) -> dict[str, int]:
    return {code: exponent(code) for code in page["currency"].unique().drop_nulls().to_list()}
