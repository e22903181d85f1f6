"""Rows a file format makes unreadable are row errors of their own lines; the other rows go on
(SPEC §4.2). A file whose headings cannot be read, or of which no row can, is rejected whole,
naming the line. Every file is written in the test."""

import polars as pl
import pytest
from test_files import Cell, write_xlsx

from revrec.errors import InputError
from revrec.imports.checks import ERROR_SCHEMA
from revrec.imports.files import read_upload, read_upload_rows
from revrec.imports.mappings import SHIPPED

SO_HEADS = (
    "contract_id,customer_id,so_number,so_line_id,order_date,item_code,pob_template,amount,"
    "currency,service_start_date,service_end_date"
)
RAGGED = "(a ',' inside a value needs quotes around the value)"
LATIN_1 = "(latin-1? save the file as CSV UTF-8)"
READ_ON = "the row was not read; the lines after it were read on their own"


def so_line(number: int) -> str:
    return (
        f"C{number},ACME,SO-{number},L{number},2024-03-01,ITEM,saas_daily,100.00,USD,"
        "2024-03-01,2025-02-28"
    )


def _write(tmp_path, content: bytes, name: str = "x.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _errors(upload) -> list[tuple[object, ...]]:
    return upload.errors.rows()


def test_one_ragged_row_in_a_thousand_is_an_error_and_the_other_999_are_read(tmp_path):
    lines = [SO_HEADS] + [so_line(n) for n in range(1, 1001)]
    lines[500] += ",oops"  # file line 501
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    upload = read_upload_rows(path)
    assert upload.rows.height == 999
    assert upload.rows["line"].to_list() == [n for n in range(2, 1002) if n != 501]
    assert upload.rows.filter(pl.col("line") == 502)["so_line_id"].to_list() == ["L501"]
    assert _errors(upload) == [(501, "", lines[500], f"expected 11 columns, found 12 {RAGGED}")]
    assert upload.errors.schema == pl.Schema(ERROR_SCHEMA)
    assert upload.where == "x.csv"


def test_extra_empty_cells_at_the_end_of_a_row_and_short_rows_are_read(tmp_path):
    # As on the fast path: a missing trailing cell is empty; extra cells are an error only when
    # they hold something (a column with values needs a heading).
    path = _write(tmp_path, b"id,note,amount\nA,x,1,\nB,y\nC,z,3,,4\n")
    upload = read_upload_rows(path)
    assert upload.rows.rows() == [("A", "x", "1", 2), ("B", "y", None, 3)]
    assert _errors(upload) == [(4, "", "C,z,3,,4", f"expected 3 columns, found 5 {RAGGED}")]


def test_an_unterminated_quote_is_the_error_of_its_line_and_the_lines_after_it_are_read(
    tmp_path,
):
    path = _write(tmp_path, b'id,note\nA,1\nB,"abc\nC,4\nD,5\n')
    upload = read_upload_rows(path)
    assert upload.rows.rows() == [("A", "1", 2), ("C", "4", 4), ("D", "5", 5)]
    assert _errors(upload) == [
        (3, "", 'B,"abc', f"unterminated quote starting on line 3: {READ_ON}")
    ]


def test_a_quote_that_runs_into_the_next_quoted_cell_loses_no_other_row(tmp_path):
    path = _write(tmp_path, b'id,note\nA,1\nB,"abc\nC,"x"\nD,"y\nz"\nE,"""q"""\nF,"ab"c\n')
    upload = read_upload_rows(path)
    assert upload.rows.rows() == [
        ("A", "1", 2), ("C", "x", 4), ("D", "y\nz", 5), ("E", '"q"', 7),
    ]  # fmt: skip
    assert _errors(upload) == [
        (3, "", 'B,"abc',
         ("unterminated quote starting on line 3 (the next quote, on line 4, is followed by "
          f"text): {READ_ON}")),
        (8, "", 'F,"ab"c',
         ('text after the closing quote of a cell on line 8: a quote inside a quoted cell is '
          'written twice ("")')),
    ]  # fmt: skip


def test_an_unterminated_quote_on_the_last_line_is_its_error(tmp_path):
    upload = read_upload_rows(_write(tmp_path, b'id,note\nA,1\nB,"abc\n'))
    assert upload.rows.rows() == [("A", "1", 2)]
    assert _errors(upload) == [(3, "", 'B,"abc', "unterminated quote starting on line 3")]


def test_a_latin_1_byte_in_row_5_names_its_line_and_offset_and_keeps_the_others(tmp_path):
    content = "id,name,amount\nA,Ann,1\nB,Bob,2\nC,Cy,3\nD,Ren\xe9e,4\nE,Eve,5\n".encode("latin-1")
    upload = read_upload_rows(_write(tmp_path, content))
    assert upload.rows["id"].to_list() == ["A", "B", "C", "E"]
    assert upload.rows["line"].to_list() == [2, 3, 4, 6]
    assert _errors(upload) == [
        (5, "", "D,Ren\ufffde,4", f"not UTF-8: byte 0xe9 at offset 5 of the line {LATIN_1}")
    ]
    # The cells of the row are where they were: the stage area shows its key.
    assert upload.unreadable.rows() == [("D", "Ren\ufffde", "4", 5)]


def test_a_bad_byte_inside_a_cell_over_two_lines_names_the_line_it_is_on(tmp_path):
    upload = read_upload_rows(_write(tmp_path, b'id,note\nA,"one\ntw\xf6"\nB,x\n'))
    assert upload.rows.rows() == [("B", "x", 4)]
    assert _errors(upload) == [
        (2, "", 'A,"one\ntw\ufffd"', f"not UTF-8: byte 0xf6 at offset 2 of line 3 {LATIN_1}")
    ]


def test_a_byte_order_mark_and_crlf_lines_read_the_same_when_a_row_is_bad(tmp_path):
    path = _write(tmp_path, b'\xef\xbb\xbfid,note\r\nA,"x\r\ny"\r\nB,1,2\r\nC,\r\n')
    upload = read_upload_rows(path)
    assert upload.rows.columns == ["id", "note", "line"]
    assert upload.rows.rows() == [("A", "x\r\ny", 2), ("C", None, 5)]
    assert _errors(upload) == [(4, "", "B,1,2", f"expected 2 columns, found 3 {RAGGED}")]


def test_line_numbers_after_quoted_line_breaks_are_the_same_on_both_readers(tmp_path):
    body = b'id,note\nA,"two\nlines"\n\nB,""\n,\nC,"three\nlines\nhere"\nD,x\n'
    fast = read_upload_rows(_write(tmp_path, body, "fast.csv"))
    assert fast.errors.is_empty()
    # One ragged row at the end sends the whole file to the row-by-row reader.
    slow = read_upload_rows(_write(tmp_path, body + b"E,1,2\n", "slow.csv"))
    assert slow.rows.to_dicts() == fast.rows.to_dicts()
    assert fast.rows["line"].to_list() == [2, 5, 7, 10]
    assert _errors(slow) == [(11, "", "E,1,2", f"expected 2 columns, found 3 {RAGGED}")]


def test_a_semicolon_file_is_read_row_by_row_with_its_separator(tmp_path):
    upload = read_upload_rows(_write(tmp_path, b"id;note\nA;one, two\nB;1;2\n"))
    assert upload.rows.rows() == [("A", "one, two", 2)]
    assert _errors(upload) == [
        (3, "", "B;1;2",
         "expected 2 columns, found 3 (a ';' inside a value needs quotes around the value)"),
    ]  # fmt: skip


def test_many_unclosed_quotes_are_read_in_one_pass_each(tmp_path):
    lines = ["id,note", "A,ok"] + ['B,"x'] * 3000 + ["C,ok"]
    upload = read_upload_rows(_write(tmp_path, ("\n".join(lines) + "\n").encode()))
    assert upload.rows.rows() == [("A", "ok", 2), ("C", "ok", 3003)]
    assert upload.errors.height == 3000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"i\xe9,note\nA,1\n",
         (f"x.csv: stopped at line 1 (the headings): not UTF-8: byte 0xe9 at offset 1 of the line "
          f"{LATIN_1}")),
        (b'"id,note\nA,1\nB,2\n',
         ("x.csv: stopped at line 1 (the headings): unterminated quote starting on line 1: the "
          "rest of the file could not be read")),
        (b"\xff\xfei\x00d\x00\n\x00",
         "x.csv: stopped at line 1: UTF-16 text: save the file as CSV UTF-8"),
        (b"id,\x00\x01\x02\nA,1\n",
         ("x.csv: stopped at line 1: a NUL byte at offset 3 of the line: not a text file "
          "(UTF-16?): expected a CSV saved as UTF-8")),
        (b"PK\x03\x04\x14\x00",
         "x.csv: stopped at line 1: this is an XLSX (zip) file, not a CSV: name it .xlsx"),
        (b"id,note\nA,1,2\nB,\xe9\n",
         (f"x.csv: no row could be read: line 2: expected 2 columns, found 3 {RAGGED} "
          "(and 1 more)")),
        (b"\nid,note\nA,1,2\n", "x.csv: no headings in the first line"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_read_is_rejected_naming_the_line(tmp_path, content, message):
    with pytest.raises(InputError) as caught:
        read_upload_rows(_write(tmp_path, content))
    assert str(caught.value) == message


def test_read_upload_takes_no_row_errors_and_names_the_first(tmp_path):
    path = _write(tmp_path, b"id,note\nA,1\nB,2,3\nC,\xe9\n")
    with pytest.raises(InputError) as caught:
        read_upload(path)
    assert str(caught.value) == f"x.csv: line 3: expected 2 columns, found 3 {RAGGED}"


def test_unreadable_rows_join_the_renamed_rows_and_the_validators_errors_in_line_order(
    tmp_path,
):
    path = _write(tmp_path, b"ID,Name\nA,Ann\nB,Ren\xe9e\nC,1,2\nD,Dee\n")
    upload = read_upload_rows(path)
    rows = upload.rows.rename({"ID": "id", "Name": "name"})
    found = pl.DataFrame([(5, "name", "Dee", "too short")], schema=ERROR_SCHEMA, orient="row")
    every, errors = upload.with_unreadable(rows, found, {"ID": "id", "Name": "name"})
    assert every.rows() == [("A", "Ann", 2), ("B", "Ren\ufffde", 3), (None, None, 4),
                            ("D", "Dee", 5)]  # fmt: skip
    assert errors["line"].to_list() == [3, 4, 5]
    assert errors["column"].to_list() == ["", "", "name"]
    # Nothing unreadable: the frames come back as they were.
    clean = read_upload_rows(_write(tmp_path, b"id\nA\n", "clean.csv"))
    same_rows, same_errors = clean.with_unreadable(clean.rows, found)
    assert same_rows is clean.rows
    assert same_errors is found


# Headings, with the mapping the file is read with


def test_a_title_line_above_the_csv_headings_is_named(tmp_path):
    mapping = SHIPPED["revrec", "sales_order"]
    body = "Sales orders, March\n\n" + SO_HEADS + "\n" + so_line(1) + "\n"
    with pytest.raises(InputError) as caught:
        read_upload_rows(_write(tmp_path, body.encode()), mapping)
    assert str(caught.value) == (
        "x.csv: the headings were not found on line 1 (it has 'Sales orders', 'March'); they "
        "were found on line 3: delete the lines above the headings"
    )
    upload = read_upload_rows(_write(tmp_path, (SO_HEADS + "\n" + so_line(1) + "\n").encode()),
                              mapping)  # fmt: skip
    assert upload.rows["so_line_id"].to_list() == ["L1"]


def test_headings_that_do_not_match_the_mapping_name_the_file(tmp_path):
    with pytest.raises(InputError) as caught:
        read_upload_rows(_write(tmp_path, b"cost_id,amount\nK1,1\n"), SHIPPED["revrec", "cost"])
    assert str(caught.value).startswith(
        "x.csv: the headings do not match the mapping 'revrec' for cost uploads: missing "
        "required heading 'cost_type'"
    )


# XLSX

COST_HEADS: list[Cell] = ["cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id"]


def cost(number: int, amount: Cell = 10.5) -> list[Cell]:
    return [f"K{number}", "commission", amount, "USD", "2024-03-01", f"L{number}"]


def test_a_title_row_above_the_xlsx_headings_is_named_with_the_sheet(tmp_path):
    path = tmp_path / "costs.xlsx"
    write_xlsx(path, {"Costs": [["Costs 2024"], [], COST_HEADS, cost(1)], "Notes": [["x"]]})
    with pytest.raises(InputError) as caught:
        read_upload_rows(path, SHIPPED["revrec", "cost"])
    assert str(caught.value) == (
        "costs.xlsx: the headings were not found on row 1 of sheet 'Costs' (it has "
        "'Costs 2024'); they were found on row 3: delete the rows above the headings"
    )


def test_xlsx_headings_that_do_not_match_name_the_sheet_read_and_the_others(tmp_path):
    path = tmp_path / "book.xlsx"
    write_xlsx(path, {"Read me": [["How to fill in"], ["..."]], "Costs": [COST_HEADS, cost(1)]})
    with pytest.raises(InputError) as caught:
        read_upload_rows(path, SHIPPED["revrec", "cost"])
    assert str(caught.value).startswith(
        "book.xlsx, sheet 'Read me' (the workbook's other sheets: 'Costs'): the headings do not "
        "match the mapping 'revrec' for cost uploads: "
    )
    upload = read_upload_rows(path, SHIPPED["revrec", "cost"], sheet="Costs")
    assert upload.where == "book.xlsx, sheet 'Costs'"
    assert upload.rows["cost_id"].to_list() == ["K1"]


def test_empty_rows_above_the_xlsx_headings_keep_the_sheets_row_numbers(tmp_path):
    path = tmp_path / "costs.xlsx"
    write_xlsx(path, {"Costs": [[], [], COST_HEADS, cost(1), [], cost(2)]})
    upload = read_upload_rows(path, SHIPPED["revrec", "cost"])
    assert upload.rows.select("cost_id", "line").rows() == [("K1", 4), ("K2", 6)]


def test_a_formula_without_a_saved_value_or_an_excel_error_is_an_error_of_its_row(tmp_path):
    path = tmp_path / "costs.xlsx"
    write_xlsx(
        path,
        {
            "Costs": [
                COST_HEADS,
                cost(1, ("formula", "2*5", 10)),  # a saved value: read
                cost(2, ("formula", "B3*2", None)),  # no saved value
                cost(3, ("error", "#DIV/0!")),
                [*cost(4)[:5], ("formula", 'IF(A6="","","x")', "")],  # an empty text result
            ]
        },
    )
    upload = read_upload_rows(path)
    assert upload.rows.select("cost_id", "amount", "so_line_id", "line").rows() == [
        ("K1", "10", "L1", 2), ("K4", "10.5", None, 5),
    ]  # fmt: skip
    assert _errors(upload) == [
        (3, "", "K2, commission, USD, 2024-03-01, L2",
         ("cell C3: a formula (=B3*2) without a saved value: open the file in Excel and save it "
          "again (or paste the values) so that the results are stored")),
        (4, "", "K3, commission, USD, 2024-03-01, L3", "cell C4: the Excel error #DIV/0!"),
    ]  # fmt: skip
    assert upload.unreadable["cost_id"].to_list() == ["K2", "K3"]


def test_a_heading_from_a_formula_without_a_value_rejects_the_xlsx(tmp_path):
    path = tmp_path / "costs.xlsx"
    write_xlsx(path, {"Costs": [["cost_id", ("formula", 'CONCAT("cost_","type")', None)],
                                ["K1", "x"]]})  # fmt: skip
    with pytest.raises(InputError) as caught:
        read_upload_rows(path)
    assert str(caught.value) == (
        "costs.xlsx, sheet 'Costs': the heading in cell B1: a formula "
        '(=CONCAT("cost_","type")) without a saved value: open the file in Excel and save it '
        "again (or paste the values) so that the results are stored"
    )
