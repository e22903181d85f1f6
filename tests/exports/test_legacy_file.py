"""The legacy schedules file (SPEC §10) as written: money with each currency's decimals, dates
at midnight UTC, empty cells for missing values; and the streaming XLSX writer."""

import io
import zipfile
from datetime import date

import fastexcel
import polars as pl
import pytest

from revrec.engine.legacy_schedules import COLUMNS, OUTPUT_SCHEMA
from revrec.errors import InputError
from revrec.exports import legacy_schedules, xlsx


def row(currency, total, **given):
    found = dict.fromkeys(COLUMNS)
    found.update(
        revenue_schedule_id=7, invoice_number="1", invoice_date=date(2024, 3, 1),
        account_code="ACME", line_item_id="L1", line_item_start_date=date(2024, 3, 1),
        origin="charge", total_amount=total, currency=currency, schedule_type="evenly",
        deferred_revenue_balance=total, arrears=0, future_revenue=0, invoice_origin="purchase",
        **{f"month_{k}": 0 for k in range(1, 13)},
    )  # fmt: skip
    found.update(given)
    return found


def frame(*rows):
    return pl.DataFrame(list(rows), schema=OUTPUT_SCHEMA, orient="row")


def csv_rows(*pages):
    out = io.BytesIO()
    count = legacy_schedules.write_csv(list(pages), out)
    lines = out.getvalue().decode().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert count == len(lines) - 1
    return [dict(zip(COLUMNS, line.split(","), strict=True)) for line in lines[1:]]


MONEY = ("total_amount", "amount_per_day", "month_1", "deferred_revenue_balance")


@pytest.mark.parametrize(
    ("currency", "minor", "shown"),
    [
        ("USD", (10_000, 333, -5, 0), ("100.00", "3.33", "-0.05", "0.00")),
        ("JPY", (100, 33, -5, 0), ("100", "33", "-5", "0")),
        ("KWD", (1_000, 143, -5, 0), ("1.000", "0.143", "-0.005", "0.000")),
    ],
)
def test_money_has_exactly_the_currencys_decimals(currency, minor, shown):
    total, *others = minor
    given = dict(zip(MONEY[1:], others, strict=True))
    [found] = csv_rows(frame(row(currency, total, **given)))
    assert tuple(found[name] for name in MONEY) == shown


def test_a_page_of_several_currencies_keeps_each_ones_decimals():
    page = frame(row("USD", 12_345), row("JPY", 12_345), row("KWD", -12_345), row("EUR", 5))
    assert [r["total_amount"] for r in csv_rows(page)] == ["123.45", "12345", "-12.345", "0.05"]


def test_amounts_of_any_int64_size_are_written_exactly():
    # Past 18 digits the page's money takes the 38-digit decimals; below, 18.
    big = 2**63 - 1
    page = frame(row("USD", big), row("JPY", -big), row("KWD", 10**18))
    assert [r["total_amount"] for r in csv_rows(page)] == [
        "92233720368547758.07", "-9223372036854775807", "1000000000000000.000",
    ]  # fmt: skip
    assert [r["total_amount"] for r in csv_rows(frame(row("KWD", 10**18 - 1)))] == [
        "999999999999999.999"
    ]


def test_dates_are_midnight_utc_and_missing_values_are_empty():
    [found] = csv_rows(frame(row("USD", 100, revenue_recognition_date=date(2024, 4, 1))))
    assert found["invoice_date"] == "2024-03-01 00:00:00 UTC"
    assert found["revenue_recognition_date"] == "2024-04-01 00:00:00 UTC"
    assert (found["line_item_end_date"], found["days"], found["amount_per_day"]) == ("", "", "")
    assert (found["invoice_state"], found["accounting_code"]) == ("", "")


def test_no_rows_is_the_heading_alone():
    assert csv_rows() == []
    assert csv_rows(frame()) == []


def test_the_schema_lists_the_engines_columns_in_order():
    assert legacy_schedules.COLUMNS == COLUMNS
    schema = legacy_schedules.schema_frame()
    assert schema.columns == ["column", "type", "example", "description"]
    assert schema.height == 32
    money = schema.filter(pl.col("type") == "money")["column"].to_list()
    assert money == [n for n, t in OUTPUT_SCHEMA.items() if t == pl.Int64 and n not in (
        "revenue_schedule_id", "days")]  # fmt: skip


def test_an_xlsx_sheet_holds_text_and_numbers_under_a_frozen_heading(tmp_path):
    path = tmp_path / "a.xlsx"
    with xlsx.sheet(path, ["name", "amount", "n"], numbers={"amount": "places", "n": None}) as put:
        put(pl.DataFrame({"name": ["a & <b>", " x\x01", None], "amount": ["1.50", "-2", None],
                          "n": ["3", None, "4"], "places": [2, 0, 3]}))  # fmt: skip
        put(pl.DataFrame({"name": ["c"], "amount": ["0.125"], "n": ["5"], "places": [3]}))
    found = fastexcel.read_excel(path).load_sheet(0).to_polars()
    assert found.columns == ["name", "amount", "n"]
    assert found["name"].to_list() == ["a & <b>", " x", None, "c"]
    assert found["amount"].to_list() == [1.5, -2.0, None, 0.125]
    assert found["n"].to_list() == [3.0, None, 4.0, 5.0]
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        styles = archive.read("xl/styles.xml").decode()
    assert 'state="frozen"' in sheet
    assert '<c r="B2" s="3"><v>1.50</v></c>' in sheet  # 0.00
    assert '<c r="B5" s="4"><v>0.125</v></c>' in sheet  # 0.000
    assert 'formatCode="0.000"' in styles


def test_an_xlsx_sheet_refuses_more_rows_than_it_holds(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)  # the heading and two rows
    path = tmp_path / "big.xlsx"
    with xlsx.sheet(path, ["a"], numbers={}) as put:
        put(pl.DataFrame({"a": ["1", "2"]}))
        with pytest.raises(InputError, match=r"^big\.xlsx: more than 2 rows, the most an XLSX"):
            put(pl.DataFrame({"a": ["3"]}))


def test_column_letters_go_past_z():
    assert [xlsx._letters(i) for i in (0, 25, 26, 31, 701, 702)] == [
        "A", "Z", "AA", "AF", "ZZ", "AAA",
    ]  # fmt: skip
