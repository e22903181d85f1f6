"""Listings that scale (SPEC §11.1): `--limit` and `--offset` on every listing, a table of one
page that says how many rows there are, CSV and JSON of every row read in chunks; and the
stage area's duplicates and waiting lines. On SQLite and PostgreSQL."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from helpers import SO_HEADS, write_csv
from helpers import so as base_so

from revrec.services import stage, subledger
from revrec.services.context import Context
from revrec.store import db

ROWS = 2_500
DASH = "\N{EN DASH}"  # between a page's first and last row


def so(line_id, amount, **given):
    return base_so(line_id, amount, template="ratable_daily", **given)


def _key(n):
    return f"L{n:04d}"


@pytest.fixture
def big(cli, tmp_path):
    """2,500 processed sales order lines, five to a contract (C0000 holds L0000-L0004)."""
    cli("init", "--first-period", "2024-03")
    rows = [so(_key(n), "100.00", contract=f"C{n // 5:04d}") for n in range(ROWS)]
    path = write_csv(tmp_path / "so.csv", SO_HEADS, rows)
    cli("import", "transactions", path, "--type", "sales_order")
    return cli


def _table_rows(text):
    return [line for line in text.splitlines() if line.startswith("│")]


def _csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def _keys_in_every_format(cli, key, *words):
    """The `key` column of a listing as a table, CSV and JSON show it."""
    table = _table_rows(cli(*words).stdout)
    shown = [[cell.strip() for cell in line.strip("│").split("│")] for line in table]
    heads = [
        h.strip() for h in next(x for x in cli(*words).stdout.splitlines() if "┃" in x).split("┃")
    ][1:-1]
    return (
        [row[heads.index(key)] for row in shown],
        [r[key] for r in _csv(cli(*words, "--format", "csv").stdout)],
        [r[key] for r in json.loads(cli(*words, "--format", "json").stdout)["rows"]],
    )


def test_a_stage_listing_of_2500_rows_pages_in_every_format(big):
    table = big("stage", "list").stdout
    assert len(_table_rows(table)) == 50
    assert table.splitlines()[-1] == (
        f"showing rows 1{DASH}50 of 2,500: --offset 50 for the next page, --format csv for all"
    )
    # --limit 10 --offset 20: rows 21-30, in every format.
    window = [_key(n) for n in range(20, 30)]
    assert _keys_in_every_format(big, "key", "stage", "list", "--limit", 10, "--offset", 20) == (
        window,
        window,
        window,
    )
    assert big("stage", "list", "--limit", 10, "--offset", 20).stdout.splitlines()[-1] == (
        f"showing rows 21{DASH}30 of 2,500: --offset 30 for the next page, --format csv for all"
    )
    # CSV and JSON without a limit: every row, oldest first.
    every = [_key(n) for n in range(ROWS)]
    assert [r["key"] for r in _csv(big("stage", "list", "--format", "csv").stdout)] == every
    document = json.loads(big("stage", "list", "--format", "json").stdout)
    assert list(document) == ["rows", "notes"]
    assert [r["key"] for r in document["rows"]] == every
    assert list(document["rows"][0]) == [
        "row_id", "tab", "file", "line", "status", "key", "period", "messages",
    ]  # fmt: skip
    # The last page, past the end, and filters that the page counts.
    last = big("stage", "list", "--offset", 2_490).stdout
    assert len(_table_rows(last)) == 10
    assert last.splitlines()[-1] == f"showing rows 2,491{DASH}2,500 of 2,500: --format csv for all"
    past = big("stage", "list", "--offset", 3_000).stdout
    assert past.splitlines()[-1] == "showing no rows of 2,500: --offset 3000 is past the last row"
    found = big("stage", "list", "--text", "l002", "--limit", 4).stdout
    assert found.splitlines()[-1] == (
        f"showing rows 1{DASH}4 of 10: --offset 4 for the next page, --format csv for all"
    )
    text = json.loads(
        big(
            "stage", "list", "--text", "L002", "--limit", 5, "--offset", 3, "--format", "json"
        ).stdout
    )
    assert [r["key"] for r in text["rows"]] == [_key(n) for n in range(23, 28)]
    assert "showing" not in big("stage", "list", "--status", "error").stdout  # every row fits
    bad = big("stage", "list", "--limit", 0, ok=False)
    assert bad.exit_code == 2


def test_a_listing_of_2500_lines_pages_in_every_format(big):
    table = big("lines", "list").stdout
    assert len(_table_rows(table)) == 50
    assert table.splitlines()[-1] == (
        f"showing rows 1{DASH}50 of 2,500: --offset 50 for the next page, --format csv for all"
    )
    window = [_key(n) for n in range(20, 30)]
    found = _keys_in_every_format(big, "line_id", "lines", "list", "--limit", 10, "--offset", 20)
    assert found == (window, window, window)
    every = _csv(big("lines", "list", "--format", "csv").stdout)
    assert [r["line_id"] for r in every] == [_key(n) for n in range(ROWS)]
    assert {(r["allocated"], r["billed"]) for r in every} == {("100.00", "0.00")}
    rows = json.loads(big("lines", "list", "--format", "json").stdout)["rows"]
    assert len(rows) == ROWS
    one = big("lines", "list", "--contract", "C0001", "--limit", 2, "--offset", 1)
    assert [r.split("│")[2].strip() for r in _table_rows(one.stdout)] == ["L0006", "L0007"]
    assert one.stdout.splitlines()[-1] == (
        f"showing rows 2{DASH}3 of 5: --offset 3 for the next page, --format csv for all"
    )


def test_listings_are_read_in_chunks_each_cut_by_the_database(big):
    engine = db.engine(big.url)
    ctx = Context(engine, "test", datetime(2024, 3, 5, tzinfo=UTC))
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        found = stage.row_filter(status="processed")
        with stage.rows_of(ctx, found) as listed:
            whole = list(listed.rows)
            assert listed.count() == ROWS
        with stage.rows_of(ctx, found, chunk=300) as listed:
            statements.clear()
            chunked = list(listed.rows)
        assert chunked == whole
        assert len(whole) == ROWS
        assert len(statements) == 9  # 8 chunks of 300, then the last 100
        assert all("LIMIT" in s.upper() for s in statements)
        with stage.rows_of(ctx, found, limit=650, offset=20, chunk=300) as listed:
            window = list(listed.rows)
        assert window == whole[20:670]
        text = stage.row_filter(text="l01")  # L0100-L0199
        with stage.rows_of(ctx, text, limit=3, offset=98, chunk=7) as listed:
            assert [r["key"] for r in listed.rows] == ["L0198", "L0199"]
            assert listed.count() == 100
        lines = subledger.lines(ctx)
        with subledger.lines_of(ctx, limit=1_000, offset=100, chunk=300) as listed:
            pages = list(listed.pages)
            assert listed.count() == ROWS
        assert [p.height for p in pages] == [300, 300, 300, 100]
        assert (
            pages[0]
            .vstack(pages[1])
            .vstack(pages[2])
            .vstack(pages[3])
            .equals(lines.slice(100, 1_000))
        )
        with subledger.lines_of(ctx, contract="C0007") as listed:
            assert listed.count() == 5
    finally:
        engine.dispose()


def test_every_listing_takes_limit_and_offset(cli, tmp_path):
    """The second row of each listing alone, as CSV and JSON, is the second row of the whole."""
    cli("init", "--first-period", "2024-03")
    path = write_csv(tmp_path / "so.csv", SO_HEADS, [so(_key(n), "100.00") for n in range(3)])
    cli("import", "transactions", path, "--type", "sales_order")
    listings = [
        ("stage", "list"),
        ("stage", "files"),
        ("lines", "list"),
        ("lines", "show", _key(0)),
        ("jobs", "list"),
        ("mapping", "list"),
        ("period", "status"),
        ("je", "list"),
        ("je", "show"),
        ("je", "export"),
        ("audit", "list"),
    ]
    for words in listings:
        whole = cli(*words, "--format", "csv").stdout.splitlines()
        second = cli(*words, "--limit", 1, "--offset", 1, "--format", "csv").stdout.splitlines()
        assert second == whole[:1] + whole[2:3], words
        rows = json.loads(cli(*words, "--format", "json").stdout)["rows"]
        one = json.loads(cli(*words, "--format", "json", "--offset", 1, "--limit", 1).stdout)
        assert one["rows"] == rows[1:2], words
        assert cli(*words, "--offset", -1, ok=False).exit_code == 2, words


def test_stage_list_status_duplicate_lists_the_rows_skipped_as_duplicates(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    first = write_csv(
        tmp_path / "so.csv",
        SO_HEADS,
        [so("L1", "100.00"), so("L2", "50.00"), so("L2", "50.00")],  # line 4: the same row
    )
    cli("import", "transactions", first, "--type", "sales_order")
    again = write_csv(tmp_path / "so2.csv", SO_HEADS, [so("L1", "100.00"), so("L3", "7.00")])
    cli("import", "transactions", again, "--type", "sales_order")

    def listed(*options):
        rows = json.loads(cli("stage", "list", *options, "--format", "json").stdout)["rows"]
        return [(r["file"], r["line"], r["key"], r["status"]) for r in rows], rows

    duplicates, rows = listed("--status", "duplicate")
    assert duplicates == [("so.csv", 4, "L2", "processed"), ("so2.csv", 2, "L1", "processed")]
    assert [m["message"] for r in rows for m in r["messages"]] == [
        "duplicate of an identical row in this file: skipped",
        "duplicate of a processed row: skipped",
    ]
    processed, _ = listed("--status", "Processed")
    assert processed == [
        ("so.csv", 2, "L1", "processed"),
        ("so.csv", 3, "L2", "processed"),
        ("so2.csv", 3, "L3", "processed"),
    ]
    # As the file cards count them.
    cards = json.loads(cli("stage", "files", "--format", "json").stdout)["rows"]
    assert sum(c["duplicate"] for c in cards) == len(duplicates)
    assert sum(c["processed"] for c in cards) == len(processed)
    assert listed("--status", "duplicate", "--file", "so2.csv")[0] == [
        ("so2.csv", 2, "L1", "processed")
    ]
    bad = cli("stage", "list", "--status", "skipped", ok=False)
    assert str(bad.exception) == (
        "unknown status 'skipped': expected one of pending, future, error, processed, deleted, "
        "duplicate"
    )


def test_an_import_says_when_lines_wait_for_an_inactive_revenue_process(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    cli("jobs", "disable", "revenue_process")
    one = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "100.00")])
    result = cli("import", "transactions", one, "--type", "sales_order")
    assert "note: 1 line waits for job revenue_process, which is inactive" in result.stdout
    more = write_csv(tmp_path / "so2.csv", SO_HEADS, [so("L2", "100.00"), so("L3", "9.00")])
    result = cli("import", "transactions", more, "--type", "sales_order", "--format", "json")
    assert json.loads(result.stdout)["processed"] == 2
    note = "3 lines wait for job revenue_process, which is inactive"
    assert result.stderr == f"note: {note}\n"
    listing = json.loads(cli("stage", "list", "--format", "json").stdout)
    assert listing["notes"] == [note]
    assert f"note: {note}" in cli("stage", "list").stdout
    cli("jobs", "enable", "revenue_process")
    cli("process")
    assert json.loads(cli("stage", "list", "--format", "json").stdout)["notes"] == []
