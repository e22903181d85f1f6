"""No row can block the subledger (SPEC §4.2): every value the engine cannot handle is an error
row at import naming its row and column, the other rows go on, and later imports work; rows that
disagree with the documents they name (another currency or customer than their line's contract)
are error rows too. On SQLite and PostgreSQL."""

import json

from helpers import BILL_HEADS, SO_HEADS, bill, postings, query, so, write_csv

from revrec.engine import run as engine

COST_HEADS = [
    "cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id", "contract_id",
    "amortization", "amortization_months", "expense_immediately",
]  # fmt: skip
SETUP = """
pob_templates:
  - {name: saas_daily, method: ratable_daily}
"""


def _init(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    (tmp_path / "setup.yaml").write_text(SETUP)
    cli("setup", "load", tmp_path / "setup.yaml")


def _errors(cli):
    found = json.loads(cli("stage", "list", "--status", "error", "--format", "json").stdout)
    return {
        (row["key"], m["column"], m["value"], m["message"])
        for row in found["rows"]
        for m in row["messages"]
    }


def _import(cli, path, kind):
    return json.loads(
        cli("import", "transactions", path, "--type", kind, "--format", "json").stdout
    )


def test_a_date_beyond_the_calendar_is_an_error_row_and_later_imports_work(cli, tmp_path):
    _init(cli, tmp_path)
    rows = [so("L1", "1200.00", end="9999-12-31"), so("L2", "310.00", start="2024-03-01",
                                                         end="2024-03-31")]  # fmt: skip
    summary = _import(cli, write_csv(tmp_path / "so.csv", SO_HEADS, rows), "sales_order")
    assert (summary["processed"], summary["error"]) == (1, 1)
    assert _errors(cli) == {
        ("L1", "service_end_date", "9999-12-31",
         "dates from 1900-01-01 to 2999-12-31 are supported"),
    }  # fmt: skip
    later = write_csv(tmp_path / "so2.csv", SO_HEADS, [so("L3", "31.00", contract="C2",
                      start="2024-03-01", end="2024-03-31")])  # fmt: skip
    assert _import(cli, later, "sales_order")["processed"] == 1
    cli("process")
    assert postings(cli.url) == {("L2", "2024-03"): 31_000, ("L3", "2024-03"): 3_100}


def test_service_ranges_and_quantities_that_make_no_sense_are_error_rows(cli, tmp_path):
    _init(cli, tmp_path)
    heads = [*SO_HEADS, "quantity"]
    rows = [
        [*so("L1", "100.00", start="", end="", order_date="2024-03-01"), "1"],  # no period
        [*so("L2", "100.00", contract="C2"), "0"],
        [*so("L3", "100.00", contract="C3"), "-2"],
        [*so("L4", "100.00", contract="C4"), "1"],
    ]
    summary = _import(cli, write_csv(tmp_path / "so.csv", heads, rows), "sales_order")
    assert (summary["processed"], summary["error"]) == (1, 3)
    ratable = "a value is required: POB template saas_daily recognizes over the service period"
    assert _errors(cli) == {
        ("L1", "service_start_date", "", ratable),
        ("L1", "service_end_date", "", ratable),
        ("L2", "quantity", "0", "expected a quantity above 0"),
        ("L3", "quantity", "-2", "expected a quantity above 0"),
    }


def test_an_empty_recurly_service_period_is_an_error_row(cli, tmp_path):
    _init(cli, tmp_path)
    heads = [
        "invoice_number",
        "invoice_date",
        "line_item_id",
        "line_item_start_date",
        "line_item_end_date",
        "total_amount",
        "currency",
        "schedule_type",
        "account_code",
    ]
    rows = [
        ["100", "2024-03-01", "A1", "2024-03-01", "2024-03-01", "10.00", "USD", "evenly", "ACC1"],
        ["101", "2024-03-01", "A2", "2024-03-01", "2024-04-01", "31.00", "USD", "evenly", "ACC1"],
    ]  # fmt: skip
    path = write_csv(tmp_path / "recurly.csv", heads, rows)
    summary = json.loads(
        cli(
            "import",
            "transactions",
            path,
            "--type",
            "billing",
            "--mapping",
            "recurly",
            "--format",
            "json",
        ).stdout
    )
    assert (summary["processed"], summary["error"]) == (1, 1)
    assert _errors(cli) == {
        ("A1", "line_item_end_date", "2024-03-01",
         "the service period is empty: its end (exclusive) is its start"),
    }  # fmt: skip
    assert postings(cli.url) == {("A2", "2024-03"): 3_100}


def test_a_billing_in_another_currency_or_for_another_customer_is_an_error_row(cli, tmp_path):
    _init(cli, tmp_path)
    _import(cli, write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "1200.00")]), "sales_order")
    rows = [
        bill("INV", "I-1", "I-1-1", "2024-03-05", "100.00", so_line="L1", currency="EUR"),
        bill("INV", "I-2", "I-2-1", "2024-03-05", "100.00", so_line="L1", customer="GLOBEX"),
        bill("INV", "I-3", "I-3-1", "2024-03-05", "100.00", so_line="L1"),
    ]
    summary = _import(cli, write_csv(tmp_path / "bill.csv", BILL_HEADS, rows), "billing")
    assert (summary["processed"], summary["error"]) == (1, 2)
    assert _errors(cli) == {
        ("I-1-1", "currency", "EUR", "line L1 is in USD"),
        ("I-2-1", "customer_id", "GLOBEX", "line L1 belongs to customer ACME"),
    }
    assert query(cli.url, "select doc_line_id, amount from billings") == [("I-3-1", 10_000)]


def test_a_cost_in_another_currency_or_on_another_contracts_line_is_an_error_row(cli, tmp_path):
    _init(cli, tmp_path)
    orders = [so("L1", "1200.00"), so("L2", "600.00", contract="C2")]
    _import(cli, write_csv(tmp_path / "so.csv", SO_HEADS, orders), "sales_order")
    rows = [
        ["K1", "commission", "10.00", "EUR", "2024-03-05", "L1", "", "follow_revenue", "", "false"],
        ["K2", "commission", "10.00", "USD", "2024-03-05", "L2", "C1", "follow_revenue", "",
         "false"],
        ["K3", "commission", "12.00", "USD", "2024-03-05", "", "C2", "straight_line", "12",
         "false"],
    ]  # fmt: skip
    summary = _import(cli, write_csv(tmp_path / "cost.csv", COST_HEADS, rows), "cost")
    assert (summary["processed"], summary["error"]) == (1, 2)
    assert _errors(cli) == {
        ("K1", "currency", "EUR", "the contract's currency is USD"),
        ("K2", "contract_id", "C1", "the so_line_id belongs to contract C2"),
    }
    assert query(cli.url, "select cost_id, contract_id from costs") == [("K3", "C2")]


def test_a_quantity_release_after_percent_releases_is_an_error_row(cli, tmp_path):
    """It used to wipe the line's posted revenue while every row said processed."""
    cli("init", "--first-period", "2024-03")
    line = [*so("L1", "8000.00", template="milestone_evt"), "8"]
    orders = write_csv(tmp_path / "so.csv", [*SO_HEADS, "quantity"], [line])
    cli("import", "transactions", orders, "--type", "sales_order")
    percents = tmp_path / "percents.csv"
    percents.write_text("so_line_id,event_date,percent,event_id\nL1,2024-03-10,25,P-1\n")
    cli("import", "events", percents, "--event", "milestone")
    assert postings(cli.url) == {("L1", "2024-03"): 200_000}
    units = tmp_path / "units.csv"
    units.write_text(
        "so_line_id,event_date,quantity,percent,event_id\n"
        "L1,2024-03-12,3,,U-1\nL1,2024-03-13,,25,P-2\n"
    )
    summary = json.loads(
        cli("import", "events", units, "--event", "milestone", "--format", "json").stdout
    )
    assert (summary["processed"], summary["error"]) == (1, 1)
    assert _errors(cli) == {
        ("U-1", "so_line_id", "L1",
         "line L1 is released by percents already: a release by quantity cannot be added"),
    }  # fmt: skip
    assert postings(cli.url) == {("L1", "2024-03"): 400_000}


def test_a_contract_the_engine_fails_on_does_not_stop_the_others(cli, tmp_path, monkeypatch):
    """The guarantee on top of the import checks: if processing still fails on a contract, the
    others are processed, the job says which contract failed and why, and retries it."""
    real = engine._month_end

    def failing(inputs, *args):
        if "C2" in inputs.lines["contract_id"].to_list():
            raise ValueError("year 10000 is out of range")
        return real(inputs, *args)

    monkeypatch.setattr(engine, "_month_end", failing)
    _init(cli, tmp_path)
    rows = [so("L1", "31.00", start="2024-03-01", end="2024-03-31"),
            so("L2", "62.00", contract="C2", start="2024-03-01", end="2024-03-31"),
            so("L3", "93.00", contract="C3", start="2024-03-01", end="2024-03-31")]  # fmt: skip
    result = cli("import", "transactions", write_csv(tmp_path / "so.csv", SO_HEADS, rows),
                 "--type", "sales_order")  # fmt: skip
    assert (
        "contract C2: could not be processed (ValueError: year 10000 is out of range); it is "
        "retried by the next run"
    ) in result.output
    assert postings(cli.url) == {("L1", "2024-03"): 3_100, ("L3", "2024-03"): 9_300}
    assert query(cli.url, "select contract_id from dirty_lines") == [("C2",)]
    monkeypatch.setattr(engine, "_month_end", real)
    cli("process")
    assert postings(cli.url)[("L2", "2024-03")] == 6_200
    assert query(cli.url, "select count(*) from dirty_lines") == [(0,)]


def test_importing_a_file_whose_rows_still_wait_processes_them_and_says_so(
    cli, tmp_path, monkeypatch
):
    """After a crash between staging and processing, the same import runs the jobs and gives
    the true counts (it used to say "duplicate ... nothing changed")."""
    from revrec.services import workflow  # noqa: PLC0415

    _init(cli, tmp_path)
    path = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "31.00", start="2024-03-01",
                     end="2024-03-31"), so("L2", "1.00", currency="EUR")])  # fmt: skip

    def crash(*_args, **_kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(workflow.process, "run", crash)
    crashed = cli("import", "transactions", path, "--type", "sales_order", ok=False)
    assert str(crashed.exception) == "killed"
    monkeypatch.undo()
    again = cli("import", "transactions", path, "--type", "sales_order", "--format", "json")
    summary = json.loads(again.stdout)
    assert summary == {"file": "so.csv", "rows_read": 2, "processed": 1, "future": 0,
                       "pending": 0, "error": 1, "duplicate": 0}  # fmt: skip
    assert "its rows were waiting: processed now" in again.stderr
    assert postings(cli.url) == {("L1", "2024-03"): 3_100}
    third = json.loads(
        cli("import", "transactions", path, "--type", "sales_order", "--format", "json").stdout
    )
    assert (third["duplicate"], third["processed"]) == (2, 0)  # nothing waits: unchanged


def test_over_long_cells_are_error_rows_and_the_others_go_on(cli, tmp_path):
    """A 2 MB cell used to exhaust memory (the content hash grew with the longest value), and an
    identifier longer than the subledger stores failed the whole import on PostgreSQL."""
    _init(cli, tmp_path)
    heads = [*SO_HEADS, "quantity"]
    rows = [
        [*so("L" * 129, "10.00"), "1"],
        [*so("L2", "10.00", contract="C2"), "1" * 2_000_000],
        [*so("L3", "31.00", contract="C3", start="2024-03-01", end="2024-03-31"), "1"],
    ]
    summary = _import(cli, write_csv(tmp_path / "so.csv", heads, rows), "sales_order")
    assert (summary["processed"], summary["error"]) == (1, 2)
    found = json.loads(cli("stage", "list", "--status", "error", "--format", "json").stdout)
    messages = sorted((m["column"], m["value"], m["message"]) for row in found["rows"]
                      for m in row["messages"])  # fmt: skip
    assert messages == [
        ("quantity", "1" * 40 + "...", "longer than 1,000 characters (2000000 characters)"),
        ("so_line_id", "L" * 40 + "...", "longer than 128 characters (129 characters)"),
    ]
    assert postings(cli.url) == {("L3", "2024-03"): 3_100}
