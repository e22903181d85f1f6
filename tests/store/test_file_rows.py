"""A file with rows its format makes unreadable, imported through the CLI: the good rows are
processed, each bad one is an error row of the stage area with its message (SPEC §4.2), on
SQLite and PostgreSQL."""

import csv
import io
import json

from helpers import SO_HEADS
from helpers import so as base_so


def so(line_id, amount):
    return base_so(line_id, amount, template="ratable_daily")


def _line(cells):
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow(cells)
    return text.getvalue().encode()


def _json(cli, *args):
    return json.loads(cli(*args, "--format", "json").stdout)


def test_a_ragged_row_and_a_latin_1_row_are_error_rows_and_the_others_are_processed(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    rows = [_line(SO_HEADS)] + [_line(so(f"L{n}", "100.00")) for n in range(1, 7)]
    rows[3] += b",oops"  # file line 4: twelve cells
    rows[5] = rows[5].replace(b"ACME", b"Soci\xe9t\xe9")  # file line 6: latin-1
    path = tmp_path / "so.csv"
    path.write_bytes(b"\r\n".join(rows) + b"\r\n")
    result = cli("import", "transactions", path, "--type", "sales_order", "--format", "json")
    summary = json.loads(result.stdout)
    assert (summary["rows_read"], summary["processed"], summary["error"]) == (6, 4, 2)
    errors = _json(cli, "stage", "list", "--status", "error")["rows"]
    assert [(r["file"], r["line"], r["key"], r["status"]) for r in errors] == [
        ("so.csv", 4, "", "error"),
        ("so.csv", 6, "L5", "error"),
    ]
    assert errors[0]["messages"] == [
        {
            "column": "",
            "value": rows[3].decode(),
            "message": "expected 11 columns, found 12 (a ',' inside a value needs quotes around "
            "the value)",
        }
    ]
    assert [m["message"] for m in errors[1]["messages"]] == [
        "not UTF-8: byte 0xe9 at offset 7 of the line (latin-1? save the file as CSV UTF-8)"
    ]
    processed = _json(cli, "stage", "list", "--status", "processed")["rows"]
    assert [(r["line"], r["key"]) for r in processed] == [
        (2, "L1"), (3, "L2"), (5, "L4"), (7, "L6"),
    ]  # fmt: skip
    # The text search finds the error row by its message.
    found = _json(cli, "stage", "list", "--text", "not utf-8")["rows"]
    assert [r["line"] for r in found] == [6]


def test_a_file_whose_headings_cannot_be_read_is_rejected_naming_the_line(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    path = tmp_path / "so.csv"
    path.write_bytes(_line(SO_HEADS).replace(b"currency", b"devis\xe9") + b"\n")
    result = cli("import", "transactions", path, "--type", "sales_order", ok=False)
    assert (result.exit_code, str(result.exception)) == (
        1,
        (
            "so.csv: stopped at line 1 (the headings): not UTF-8: byte 0xe9 at offset 91 of the "
            "line (latin-1? save the file as CSV UTF-8)"
        ),
    )
    assert _json(cli, "stage", "files")["rows"] == []
