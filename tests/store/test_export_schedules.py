"""`revrec export schedules` (SPEC §10) through the CLI, on SQLite and PostgreSQL: the shipped
Recurly export imported and exported again, whole rows as a person can check them, the filters,
XLSX, the schema file and bad input."""

import csv
import io
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import fastexcel
import pytest
import sqlalchemy as sa
from helpers import BILL_HEADS, SO_HEADS, bill, so, write_csv
from typer.testing import CliRunner

from revrec.cli.main import app
from revrec.engine.legacy_schedules import COLUMNS
from revrec.errors import InputError

EXAMPLES = Path(__file__).parents[2] / "examples"
RUNNER = CliRunner()
HEADINGS = ",".join(COLUMNS)
ZEROS = ",".join(["0.00"] * 11)  # month_2 .. month_12
# The shipped example, as of 2024-03-15 (month_1 is March 2024).
ROWS = [
    # 1,000.00 over March (31 days, 32.26 a day): 15 days recognized, 516.13 deferred.
    (
        "1899116660302871078,192880,2024-03-01 00:00:00 UTC,paid,11734,monthly_fee,"
        "3a6ae2555a2e2a76c077604bf5b90457,2024-03-01 00:00:00 UTC,2024-04-01 00:00:00 UTC,plan,"
        f"31,32.26,1000.00,USD,evenly,,516.13,0.00,1000.00,{ZEROS},0.00,purchase"
    ),
    # A one-time charge: no end, no days, all on its start date.
    (
        "1034205401690066200,192881,2024-03-02 00:00:00 UTC,paid,11735,setup_fee,"
        "5b7cf3666b3f3b87d188715cf6c01568,2024-03-02 00:00:00 UTC,,charge,,,250.00,USD,"
        f"at_range_start,2024-03-02 00:00:00 UTC,0.00,0.00,250.00,{ZEROS},0.00,purchase"
    ),
    # 12,000.00 over 365 days from 2024-03-03: 29 days in March, 2 days of March 2025 after
    # month_12; 13 days through the 15th.
    (
        "3651803980842618863,192882,2024-03-03 00:00:00 UTC,open,11736,annual_fee,"
        "6c8d04777c4a4c98e299826d07d12679,2024-03-03 00:00:00 UTC,2025-03-03 00:00:00 UTC,plan,"
        "365,32.88,12000.00,USD,evenly,,11572.60,0.00,953.42,986.31,1019.17,986.31,1019.17,"
        "1019.18,986.30,1019.18,986.30,1019.18,1019.18,920.55,65.75,renewal"
    ),
    # A -100.00 credit over 31 days: 28 March days -90.32; 12 days through the 15th.
    (
        "850590965302399129,192883,2024-03-04 00:00:00 UTC,paid,11734,monthly_fee,"
        "7d9e15888d5b5da9f3aa937e18e2378a,2024-03-04 00:00:00 UTC,2024-04-04 00:00:00 UTC,credit,"
        "31,-3.23,-100.00,USD,evenly,,-61.29,0.00,-90.32,-9.68,"
        f"{','.join(['0.00'] * 10)},0.00,refund"
    ),
]


@pytest.fixture
def recurly(cli):
    cli("init", "--first-period", "2024-03")
    cli("import", "transactions", EXAMPLES / "recurly_revenue_schedules.csv", "--type",
        "billing", "--mapping", "recurly")  # fmt: skip
    return cli


def _lines(result):
    return result.stdout.splitlines()


def test_the_shipped_recurly_export_comes_back_row_for_row(recurly, tmp_path):
    assert _lines(recurly("export", "schedules", "--as-of", "2024-03-15")) == [HEADINGS, *ROWS]
    path = tmp_path / "out" / "schedules.csv"
    path.parent.mkdir()
    result = recurly("export", "schedules", "--as-of", "2024-03-15", "--output", path)
    assert result.stdout == f"4 schedules written: {path}\n"
    assert path.read_text(encoding="utf-8").splitlines() == [HEADINGS, *ROWS]
    # Written whole, then renamed: nothing else is left beside it.
    assert [p.name for p in path.parent.iterdir()] == ["schedules.csv"]


def test_the_status_filter_and_the_invoice_date_range(recurly):
    def ids(*options):
        rows = _lines(recurly("export", "schedules", "--as-of", "2024-03-15", *options))[1:]
        return [row.split(",")[1] for row in rows]

    assert ids("--status", "all") == ["192880", "192881", "192882", "192883"]
    assert ids("--status", "charge") == ["192880", "192881", "192882"]
    assert ids("--status", "credit") == ["192883"]
    # Inclusive dates; a time of day is dropped.
    assert ids("--from", "2024-03-02", "--to", "2024-03-03") == ["192881", "192882"]
    assert ids("--from", "2024-03-04T10:00:00Z") == ["192883"]
    assert ids("--to", "2024-02-29") == []
    assert ids("--status", "credit", "--to", "2024-03-03") == []


def test_as_of_moves_the_months_and_defaults_to_today(recurly):
    # As of 2024-04-30, month_1 is April: March is arrears; 59 days (29 + 30) recognized.
    rows = list(csv.DictReader(io.StringIO(
        recurly("export", "schedules", "--as-of", "2024-04-30").stdout)))  # fmt: skip
    year = rows[2]
    assert (year["arrears"], year["month_1"], year["deferred_revenue_balance"]) == (
        "953.42", "986.31", "10060.27",
    )  # fmt: skip
    assert [r["deferred_revenue_balance"] for r in rows] == ["0.00", "0.00", "10060.27", "0.00"]
    today = datetime.now(UTC).date().isoformat()
    assert (
        recurly("export", "schedules").stdout
        == recurly("export", "schedules", "--as-of", today).stdout
    )


def test_billing_driven_lines_of_the_revrec_mapping_are_exported_and_so_billings_are_not(
    cli, tmp_path
):
    cli("init", "--first-period", "2024-03")
    cli("import", "transactions", write_csv(tmp_path / "so.csv", SO_HEADS, [
        so("SO-1", "500.00", template="ratable_daily")]), "--type", "sales_order")  # fmt: skip
    heads = [*BILL_HEADS, "item_code", "pob_template", "schedule_type"]
    rows = [
        [*bill("INV", "B-1", "B-1-1", "2024-03-01", "310.00", customer="WAYNE",
               start="2024-03-01", end="2024-03-31"), "TRAINING", "", "evenly"],
        [*bill("INV", "B-2", "B-2-1", "2024-03-05", "50.00", customer="WAYNE",
               start="2024-03-05", end="2024-04-04"), "LIC", "license_pit", ""],
        [*bill("CM", "C-1", "C-1-1", "2024-03-10", "31.00", customer="WAYNE", ref_number="B-1",
               ref_line="B-1-1"), "TRAINING", "", ""],
        [*bill("INV", "S-1", "S-1-1", "2024-03-01", "500.00", so_line="SO-1"), "ITEM", "", ""],
    ]  # fmt: skip
    cli("import", "transactions", write_csv(tmp_path / "bills.csv", heads, rows), "--type",
        "billing")  # fmt: skip
    found = _lines(cli("export", "schedules", "--as-of", "2024-03-15"))
    assert [",".join(row.split(",")[1:]) for row in found[1:]] == [
        # 310.00 over March, 10.00 a day: 150.00 through the 15th.
        (
            "B-1,2024-03-01 00:00:00 UTC,,WAYNE,TRAINING,B-1-1,2024-03-01 00:00:00 UTC,"
            "2024-04-01 00:00:00 UTC,charge,31,10.00,310.00,USD,evenly,,160.00,0.00,310.00,"
            f"{ZEROS},0.00,purchase"
        ),
        # A point-in-time template: at range start.
        (
            "B-2,2024-03-05 00:00:00 UTC,,WAYNE,LIC,B-2-1,2024-03-05 00:00:00 UTC,"
            "2024-04-05 00:00:00 UTC,charge,31,1.61,50.00,USD,at_range_start,"
            f"2024-03-05 00:00:00 UTC,0.00,0.00,50.00,{ZEROS},0.00,purchase"
        ),
        # The credit of B-1-1 spreads over its line's service, negative.
        (
            "C-1,2024-03-10 00:00:00 UTC,,WAYNE,TRAINING,C-1-1,2024-03-01 00:00:00 UTC,"
            "2024-04-01 00:00:00 UTC,credit,31,-1.00,-31.00,USD,evenly,,-16.00,0.00,-31.00,"
            f"{ZEROS},0.00,refund"
        ),
    ]


def test_chunks_and_pages_do_not_change_a_row(cli, monkeypatch):
    monkeypatch.setattr("revrec.store.exports.CHUNK", 3)  # the kept rows in two chunks
    monkeypatch.setattr("revrec.store.payloads.CHUNK", 3)  # the file's rows in two chunks
    cli("init", "--first-period", "2024-03")
    cli("import", "transactions", EXAMPLES / "recurly_revenue_schedules.csv", "--type",
        "billing", "--mapping", "recurly")  # fmt: skip
    expected = [HEADINGS, *ROWS]
    assert _lines(cli("export", "schedules", "--as-of", "2024-03-15")) == expected
    assert _kept(cli.url) == (2, 4, None)
    # A store whose billings came before the kept rows (migration 0009 marks it): its first
    # export fills them from the billings, lines and uploads, here one billing a page with
    # one decoded payload chunk kept, so each page decodes the chunk it needs.
    _as_before_0009(cli.url)
    monkeypatch.setattr("revrec.store.exports.PAGE", 1)
    monkeypatch.setattr("revrec.store.exports.KEPT", 1)
    assert _lines(cli("export", "schedules", "--as-of", "2024-03-15")) == expected
    assert _kept(cli.url) == (4, 4, None)  # a chunk a page; the mark is gone
    assert _lines(cli("export", "schedules", "--as-of", "2024-03-15")) == expected


def test_each_processing_run_keeps_its_rows_after_those_of_the_runs_before(cli, tmp_path):
    """Rows come in the order processing kept them, each run's by line_item_id: a credit
    imported later (against an invoice of an earlier file) follows, spread over the invoice's
    line; a store filled from its billings at once (migration 0009) has the same rows."""
    cli("init", "--first-period", "2024-03")
    heads = [*BILL_HEADS, "item_code", "pob_template", "schedule_type"]
    first = [
        [*bill("INV", "B-2", "B-2-1", "2024-03-05", "62.00", customer="WAYNE",
               start="2024-03-01", end="2024-03-31"), "TRAINING", "", "evenly"],
        [*bill("INV", "B-1", "B-1-1", "2024-03-01", "310.00", customer="WAYNE",
               start="2024-03-01", end="2024-03-31"), "TRAINING", "", "evenly"],
    ]  # fmt: skip
    later = [
        [*bill("CM", "A-1", "A-1-1", "2024-03-10", "31.00", customer="WAYNE", ref_number="B-1",
               ref_line="B-1-1"), "TRAINING", "", ""],
        [*bill("INV", "A-2", "A-2-1", "2024-03-11", "7.00", customer="WAYNE",
               start="2024-03-11", end="2024-03-11"), "SETUP", "", "at_range_start"],
    ]  # fmt: skip
    for name, rows in (("first.csv", first), ("later.csv", later)):
        cli("import", "transactions", write_csv(tmp_path / name, heads, rows), "--type",
            "billing")  # fmt: skip
    found = _lines(cli("export", "schedules", "--as-of", "2024-03-15"))[1:]
    ids = [row.split(",")[6] for row in found]
    assert ids == ["B-1-1", "B-2-1", "A-1-1", "A-2-1"]
    credit = found[2].split(",")
    # The credit spreads over B-1-1's March, -1.00 a day: -15.00 through the 15th.
    assert credit[7:19] == [
        "2024-03-01 00:00:00 UTC", "2024-04-01 00:00:00 UTC", "credit", "31", "-1.00", "-31.00",
        "USD", "evenly", "", "-16.00", "0.00", "-31.00",
    ]  # fmt: skip
    _as_before_0009(cli.url)
    again = _lines(cli("export", "schedules", "--as-of", "2024-03-15"))[1:]
    assert [row.split(",")[6] for row in again] == ["A-1-1", "A-2-1", "B-1-1", "B-2-1"]
    assert sorted(again) == sorted(found)


def _as_before_0009(url):
    """The store as migration 0009 leaves one that had billings: no kept rows, and marked."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM legacy_rows"))
        conn.execute(
            sa.text("INSERT INTO settings (key, value) VALUES ('legacy_rows_pending', '1')")
        )
    engine.dispose()


def _kept(url):
    """(chunks, rows) of the kept export rows, and the mark of a store still to fill."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        chunks, rows = conn.execute(sa.text("SELECT count(*), sum(rows) FROM legacy_rows")).one()
        mark = conn.execute(
            sa.text("SELECT value FROM settings WHERE key = 'legacy_rows_pending'")
        ).scalar()
    engine.dispose()
    return chunks, rows, mark


def test_an_xlsx_export_reads_back_with_its_heading_frozen(recurly, tmp_path):
    path = tmp_path / "schedules.xlsx"
    result = recurly("export", "schedules", "--as-of", "2024-03-15", "--output", path)
    assert result.stdout == f"4 schedules written: {path}\n"
    sheet = fastexcel.read_excel(path).load_sheet(0)
    assert sheet.name == "schedules"
    frame = sheet.to_polars()
    assert tuple(frame.columns) == COLUMNS
    assert frame["revenue_schedule_id"].to_list() == [row.split(",")[0] for row in ROWS]
    assert frame["total_amount"].to_list() == [1000.0, 250.0, 12000.0, -100.0]
    assert frame["month_2"].to_list() == [0.0, 0.0, 986.31, -9.68]
    assert frame["days"].to_list() == [31, None, 365, 31]
    assert frame["line_item_end_date"].to_list()[:2] == ["2024-04-01 00:00:00 UTC", None]
    with zipfile.ZipFile(path) as archive:
        data = archive.read("xl/worksheets/sheet1.xml").decode()
    assert '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' in data
    # Money shows the currency's decimals (number format 0.00).
    assert re.search(r'<c r="M2" s="3"><v>1000\.00</v></c>', data)


def test_more_rows_than_a_sheet_holds_is_an_error_before_any_file(recurly, tmp_path, monkeypatch):
    monkeypatch.setattr("revrec.services.legacy_export.MAX_ROWS", 4)  # 3 data rows
    path = tmp_path / "out" / "schedules.xlsx"
    path.parent.mkdir()
    result = recurly("export", "schedules", "--output", path, ok=False)
    assert (result.exit_code, type(result.exception)) == (1, InputError)
    assert str(result.exception) == (
        "4 schedules are more than an XLSX sheet holds (3 rows): write a .csv file, "
        "or narrow the export with --status, --from or --to"
    )
    assert list(path.parent.iterdir()) == []


def _revrec(tmp_path, *args):
    """A command run against a database that is never created (the checks come first)."""
    result = RUNNER.invoke(app, ["--db", f"sqlite:///{tmp_path / 'none.db'}", *map(str, args)])
    assert not (tmp_path / "none.db").exists()
    return result


def test_the_schema_file_describes_every_column(tmp_path):
    rows = list(csv.DictReader(io.StringIO(_revrec(tmp_path, "export", "schedules",
                                                   "--schema").stdout)))  # fmt: skip
    assert [r["column"] for r in rows] == list(COLUMNS)
    assert {r["type"] for r in rows} == {"integer", "text", "datetime", "money", "currency"}
    assert all(r["description"] for r in rows)
    assert rows[0] == {
        "column": "revenue_schedule_id",
        "type": "integer",
        "example": "1899116660302871078",
        "description": "The schedule's stable id: a hash of line_item_id below 2^63 (the same "
        "data gives the same id).",
    }
    path = tmp_path / "schema.xlsx"
    assert _revrec(tmp_path, "export", "schedules", "--schema", "--output", path).stdout == (
        f"schema written: {path}\n"
    )
    frame = fastexcel.read_excel(path).load_sheet(0).to_polars()
    assert frame.columns == ["column", "type", "example", "description"]
    assert frame["column"].to_list() == list(COLUMNS)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--status", "paid"], "--status 'paid': expected one of all, charge, credit"),
        (["--from", "2024-02-30"],
         "--from '2024-02-30' is not a date: expected YYYY-MM-DD (optionally with a UTC time)"),
        (["--as-of", "soon"],
         "--as-of 'soon' is not a date: expected YYYY-MM-DD (optionally with a UTC time)"),
        (["--from", "2024-03-02", "--to", "2024-03-01"],
         "--from 2024-03-02 is after --to 2024-03-01"),
        (["--output", "schedules.json"], "--output schedules.json: expected a .csv or .xlsx file"),
        (["--schema", "--output", "schema.txt"],
         "--output schema.txt: expected a .csv or .xlsx file"),
    ],
)  # fmt: skip
def test_bad_input_is_an_input_error_and_exit_code_1(tmp_path, options, message):
    result = _revrec(tmp_path, "export", "schedules", *options)
    assert (result.exit_code, type(result.exception), result.stdout) == (1, InputError, "")
    assert str(result.exception) == message


def test_the_command_line_says_it_in_one_line_on_stderr(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "revrec", "export", "schedules", "--output", "x.txt"],
        cwd=tmp_path,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: --output x.txt: expected a .csv or .xlsx file\n"
