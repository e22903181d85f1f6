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
