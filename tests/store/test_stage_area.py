"""The stage area's file cards and its date filter (SPEC §4.4), on SQLite and PostgreSQL."""

import json

from helpers import SO_HEADS, write_csv
from helpers import so as base_so


def so(line_id, amount, **given):
    return base_so(line_id, amount, template="ratable_daily", **given)


def _json(cli, *args):
    return json.loads(cli(*args, "--format", "json").stdout)


def test_a_file_card_counts_its_rows_per_status(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    first = write_csv(
        tmp_path / "so.csv",
        SO_HEADS,
        [
            so("L1", "100.00"),
            so("L2", "1.234"),  # error: three decimals
            so("L3", "50.00", start="2024-05-01", end="2024-05-31"),  # future
            so("L4", "9.999"),  # error, then deleted
        ],
    )
    cli("import", "transactions", first, "--type", "sales_order")
    errors = _json(cli, "stage", "list", "--status", "error")["rows"]
    cli("stage", "delete", errors[1]["row_id"], "--yes")
    again = write_csv(tmp_path / "so2.csv", SO_HEADS, [so("L1", "100.00"), so("L5", "7.00")])
    cli("import", "transactions", again, "--type", "sales_order")
    cards = _json(cli, "stage", "files")["rows"]
    counts = [
        (c["file"], c["upload_type"], c["mapping"], c["rows_read"], c["pending"], c["future"],
         c["error"], c["processed"], c["deleted"], c["duplicate"])
        for c in cards
    ]  # fmt: skip
    assert counts == [
        ("so2.csv", "sales_order", "revrec", 2, 0, 0, 0, 1, 0, 1),
        ("so.csv", "sales_order", "revrec", 4, 0, 1, 1, 1, 1, 0),
    ]
    assert cards[0]["uploaded_at"].endswith("Z")
    assert _json(cli, "stage", "files", "--tab", "documents")["rows"] == []


def test_stage_rows_are_found_by_accounting_date(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    path = write_csv(
        tmp_path / "so.csv",
        SO_HEADS,
        [
            so("L1", "100.00", start="2024-03-01", end="2024-12-31"),
            so("L2", "100.00", start="2024-03-15", end="2024-12-31"),
            so("L3", "100.00", start="2024-04-02", end="2024-12-31"),
        ],
    )
    cli("import", "transactions", path, "--type", "sales_order")

    def keys(*options):
        return [r["key"] for r in _json(cli, "stage", "list", *options)["rows"]]

    assert keys("--from", "2024-03-15") == ["L2", "L3"]
    assert keys("--to", "2024-03-15") == ["L1", "L2"]
    assert keys("--from", "2024-03-02", "--to", "2024-04-01") == ["L2"]
    bad = cli("stage", "list", "--from", "15/03/2024", ok=False)
    assert (bad.exit_code, str(bad.exception)) == (
        1,
        "--from '15/03/2024': expected a date YYYY-MM-DD",
    )


def test_stage_list_takes_any_case_a_path_and_text_in_messages(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    path = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "100.00"), so("L2", "1.234")])
    cli("import", "transactions", path, "--type", "sales_order")
    found = _json(
        cli, "stage", "list", "--tab", "Contracts", "--status", "ERROR", "--file", str(path),
        "--text", "DECIMALS",
    )["rows"]  # fmt: skip
    assert [(r["key"], r["messages"][0]["message"]) for r in found] == [
        ("L2", "too many decimals: USD allows 2")
    ]


def test_an_import_says_when_a_contract_cannot_be_allocated(cli, tmp_path):
    """A negative line without an SSP gives its contract a negative weight: the rows are in
    the subledger, the contract is not allocated, and the import's notes say so."""
    cli("init", "--first-period", "2024-03")
    path = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "100.00"), so("L2", "-500.00")])
    result = cli("import", "transactions", path, "--type", "sales_order", "--format", "json")
    assert json.loads(result.stdout)["processed"] == 2
    note = "revenue_process: contract C1: a line has a negative SSP weight: give it an SSP or"
    assert result.stderr == f"note: {note} exclude it\n"
    lines = _json(cli, "lines", "list")["rows"]
    assert [(r["line_id"], r["allocated"], r["recognized"]) for r in lines] == [
        ("L1", None, "0.00"),
        ("L2", None, "0.00"),
    ]


def test_a_line_that_waits_in_the_stage_area_is_named_as_waiting(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    path = write_csv(
        tmp_path / "so.csv", SO_HEADS, [so("L9", "10.00", start="2024-06-01", end="2024-06-30")]
    )
    cli("import", "transactions", path, "--type", "sales_order")
    missing = cli("lines", "show", "L9", ok=False)
    assert str(missing.exception) == (
        "unknown line 'L9' (a row with this key waits in the stage area as future)"
    )
    jobs = _json(cli, "jobs", "list")["rows"]
    assert all(j["last_run_at"] is None or j["last_run_at"].endswith("Z") for j in jobs)
    assert any(j["last_run_at"] for j in jobs)
