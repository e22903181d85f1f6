"""Rows repeated within a file and rows re-submitted in a corrected file (SPEC §4.4, §4.5; issue
9), from the command line on SQLite and PostgreSQL.

A row repeated identically within one file takes the outcome of the row it repeats: it waits
while that row waits (future), is a duplicate once that row is processed, and an error when
that row ends in error; it is never `processed` for a row that was not. A future row sent again
in a corrected file is processed once when its period opens; the second copy is a duplicate.
"""

import json

from helpers import BILL_HEADS, SO_HEADS, bill, query, so, write_csv

SETUP = """
pob_templates:
  - {name: saas_daily, method: ratable_daily}
"""
COST_HEADS = ["cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id"]
IN_FILE = "duplicate of an identical row in this file: skipped"
PROCESSED_BEFORE = "duplicate of a processed row: skipped"
WAITS = "repeats line {}, an identical row of this file: it takes that row's outcome"


def _init(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    (tmp_path / "setup.yaml").write_text(SETUP)
    cli("setup", "load", tmp_path / "setup.yaml")


def _import(cli, path, *options):
    result = cli("import", *options[:1], path, *options[1:], "--format", "json")
    return json.loads(result.stdout)


def _rows(cli, name):
    """line -> (status, messages) of the stage rows of the file of this name."""
    found = query(
        cli.url,
        "select s.line, s.status, s.messages from stage_rows s join files f "
        "on f.file_id = s.file_id where f.name = :name order by s.line",
        name=name,
    )
    return {line: (status, json.loads(messages)) for line, status, messages in found}


def _note(column, value, text):
    return [{"column": column, "value": value, "message": text}]


def _close_march(cli, tmp_path, *options):
    """The month-end of 2024-03 (reconcile, approve, transfer, summarize, close): 2024-04 opens
    and its future rows are processed."""
    assert json.loads(cli("report", "reconcile", "--format", "json").stdout)["pass"] is True
    cli("je", "approve")
    cli("je", "transfer", "--output", tmp_path / "gl")
    cli("je", "summarize")
    closed = cli("period", "close", "--yes", *options)
    assert "period 2024-03 closed; 2024-04 is open (PRIMARY)" in closed.stdout


def test_a_repeat_of_a_future_row_waits_with_it_and_is_a_duplicate_once_it_is_processed(
    cli, tmp_path
):
    _init(cli, tmp_path)
    april = {"start": "2024-04-01", "end": "2024-04-30"}
    path = write_csv(
        tmp_path / "so.csv",
        SO_HEADS,
        [so("L1", "3100.00", end="2024-03-31"), so("L2", "300.00", **april),
         so("L2", "300.00", **april)],  # line 4 repeats line 3, a future row
    )  # fmt: skip
    summary = _import(cli, path, "transactions", "--type", "sales_order")
    assert (summary["processed"], summary["future"], summary["duplicate"]) == (1, 2, 0)
    assert _rows(cli, "so.csv") == {
        2: ("processed", []),
        3: ("future", []),
        4: ("future", _note("", "", WAITS.format(3))),
    }
    assert query(cli.url, "select line_id, version from line_versions order by line_id") == [
        ("L1", 1)
    ]
    _close_march(cli, tmp_path)
    assert _rows(cli, "so.csv") == {
        2: ("processed", []),
        3: ("processed", []),
        4: ("processed", _note("so_line_id", "L2", IN_FILE)),
    }
    # L2 once: 300.00 over April's 30 days, all of it posted in April.
    assert query(
        cli.url, "select line_id, version, amount from line_versions order by line_id"
    ) == [("L1", 1, 310_000), ("L2", 1, 30_000)]
    assert query(cli.url, "select line_id, period, amount from postings where line_id = 'L2'") == [
        ("L2", "2024-04", 30_000)
    ]
    card = json.loads(cli("stage", "files", "--format", "json").stdout)["rows"][0]
    assert (card["processed"], card["duplicate"], card["future"]) == (2, 1, 0)


def test_a_repeat_of_a_row_that_ends_error_in_processing_is_an_error_naming_that_row(cli, tmp_path):
    """Each original passes the import's checks and fails in processing (the store decides):
    its repeat is not processed as its duplicate but is an error row naming its line."""
    _init(cli, tmp_path)
    cli("import", "transactions", write_csv(tmp_path / "so.csv", SO_HEADS,
        [so("L1", "3660.00")]), "--type", "sales_order")  # fmt: skip
    other = so("L9", "100.00", customer="OTHER")  # contract C1 is ACME's
    orders = _import(cli, write_csv(tmp_path / "so2.csv", SO_HEADS, [other, other]),
                     "transactions", "--type", "sales_order")  # fmt: skip
    unknown = bill("INV", "I1", "I1-1", "2024-03-05", "50.00", so_line="NOPE")
    billings = _import(cli, write_csv(tmp_path / "docs.csv", BILL_HEADS, [unknown, unknown]),
                       "transactions", "--type", "billing")  # fmt: skip
    cost = ["K1", "commission", "10.00", "USD", "2024-03-10", "NOPE"]
    costs = _import(cli, write_csv(tmp_path / "costs.csv", COST_HEADS, [cost, cost]),
                    "transactions", "--type", "cost")  # fmt: skip
    events = tmp_path / "holds.csv"
    events.write_text(
        "so_line_id,event_date,action,event_id\nNOPE,2024-03-05,hold,H1\nNOPE,2024-03-05,hold,H1\n"
    )
    holds = _import(cli, events, "events", "--event", "expiration")
    for summary in (orders, billings, costs, holds):
        assert (summary["processed"], summary["duplicate"], summary["error"]) == (0, 0, 2)
    expected = {
        "so2.csv": ("customer_id", "OTHER", "contract C1 already has customer_id ACME",
                    "so_line_id", "L9"),
        "docs.csv": ("so_line_id", "NOPE", "unknown so_line_id: import the sales order first",
                     "doc_line_id", "I1-1"),
        "costs.csv": ("so_line_id", "NOPE", "unknown so_line_id", "cost_id", "K1"),
        "holds.csv": ("so_line_id", "NOPE", "event for an unknown line", "event_id", "H1"),
    }  # fmt: skip
    for name, (column, value, message, key_column, key) in expected.items():
        assert _rows(cli, name) == {
            2: ("error", _note(column, value, message)),
            3: ("error", _note(key_column, key, "repeats line 2, which has an error")),
        }, name
    assert query(cli.url, "select line_id from line_versions") == [("L1",)]
    for table in ("billings", "costs", "events"):
        assert query(cli.url, f"select count(*) from {table}") == [(0,)], table  # noqa: S608


def test_a_repeat_of_a_processed_row_is_a_duplicate_of_it_and_counts_once(cli, tmp_path):
    _init(cli, tmp_path)
    cli("import", "transactions", write_csv(tmp_path / "so.csv", SO_HEADS,
        [so("L1", "3660.00")]), "--type", "sales_order")  # fmt: skip
    invoice = bill("INV", "I1", "I1-1", "2024-03-05", "50.00", so_line="L1")
    summary = _import(cli, write_csv(tmp_path / "docs.csv", BILL_HEADS, [invoice, invoice]),
                      "transactions", "--type", "billing")  # fmt: skip
    assert (summary["processed"], summary["duplicate"], summary["error"]) == (1, 1, 0)
    assert _rows(cli, "docs.csv") == {
        2: ("processed", []),
        3: ("processed", _note("doc_line_id", "I1-1", IN_FILE)),
    }
    assert query(cli.url, "select doc_line_id, amount from billings") == [("I1-1", 5_000)]


def test_a_future_row_sent_again_in_a_corrected_file_is_processed_once(cli, tmp_path):
    """Issue 9 (3): a file with a current row in error and a future row, then the corrected
    file (the current row fixed, the future row as it was). When April opens, the future sales
    order line and the future invoice are each processed once: the second copy is a duplicate
    (SPEC §4.5)."""
    _init(cli, tmp_path)
    april = so("L2", "300.00", start="2024-04-01", end="2024-04-30")
    first = write_csv(
        tmp_path / "so.csv", SO_HEADS, [so("L1", "3100.001", end="2024-03-31"), april]
    )
    fixed = write_csv(
        tmp_path / "so2.csv", SO_HEADS, [so("L1", "3100.00", end="2024-03-31"), april]
    )
    assert _import(cli, first, "transactions", "--type", "sales_order")["error"] == 1
    corrected = _import(cli, fixed, "transactions", "--type", "sales_order")
    assert (corrected["processed"], corrected["future"]) == (1, 1)
    invoice = bill("INV", "I2", "I2-1", "2024-04-05", "300.00", so_line="L1")
    docs = write_csv(
        tmp_path / "docs.csv",
        BILL_HEADS,
        [bill("INV", "I1", "I1-1", "2024-03-05", "x", so_line="L1"), invoice],
    )
    docs2 = write_csv(
        tmp_path / "docs2.csv",
        BILL_HEADS,
        [bill("INV", "I1", "I1-1", "2024-03-05", "100.00", so_line="L1"), invoice],
    )
    assert _import(cli, docs, "transactions", "--type", "billing")["error"] == 1
    billed = _import(cli, docs2, "transactions", "--type", "billing")
    assert (billed["processed"], billed["future"]) == (1, 1)
    # The first files' error rows stay until deleted (decision 29): acknowledged at the close.
    _close_march(cli, tmp_path, "--acknowledge-errors")
    assert _rows(cli, "so.csv")[3] == ("processed", [])
    assert _rows(cli, "so2.csv") == {
        2: ("processed", []),
        3: ("processed", _note("so_line_id", "L2", PROCESSED_BEFORE)),
    }
    assert _rows(cli, "docs.csv")[3] == ("processed", [])
    assert _rows(cli, "docs2.csv") == {
        2: ("processed", []),
        3: ("processed", _note("doc_line_id", "I2-1", PROCESSED_BEFORE)),
    }
    assert query(
        cli.url, "select line_id, version, amount from line_versions order by line_id"
    ) == [("L1", 1, 310_000), ("L2", 1, 30_000)]
    assert query(
        cli.url, "select doc_line_id, period, amount from billings order by doc_line_id"
    ) == [("I1-1", "2024-03", 10_000), ("I2-1", "2024-04", 30_000)]


def test_a_line_changed_in_a_later_file_of_the_same_batch_is_its_next_version(cli, tmp_path):
    """Two files wait for one processing run (transaction_import inactive): the second file's
    row of L1 with another amount is L1's version 2, not an error; its repeat in the first file
    would be."""
    _init(cli, tmp_path)
    cli("jobs", "disable", "transaction_import")
    first = write_csv(tmp_path / "so1.csv", SO_HEADS, [so("L1", "1200.00")])
    second = write_csv(tmp_path / "so2.csv", SO_HEADS, [so("L1", "2400.00")])
    _import(cli, first, "transactions", "--type", "sales_order")
    _import(cli, second, "transactions", "--type", "sales_order")
    cli("jobs", "enable", "transaction_import")
    cli("process")
    assert _rows(cli, "so1.csv") == {2: ("processed", [])}
    assert _rows(cli, "so2.csv") == {2: ("processed", [])}
    assert query(cli.url, "select version, amount from line_versions order by version") == [
        (1, 120_000),
        (2, 240_000),
    ]
