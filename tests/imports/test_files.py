import hashlib
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl
import pytest

from revrec.errors import InputError
from revrec.imports.files import file_sha256, read_upload, read_upload_rows

# Neither xlsxwriter nor openpyxl is a dependency (polars' write_excel needs xlsxwriter), so the
# test writes the few XML parts of an XLSX itself. A cell is a str, int, float, bool, None,
# ("date", serial) / ("datetime", serial) for a number styled as a date (Excel's storage),
# ("formula", text, saved value or None) or ("error", "#DIV/0!").
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006"
Cell = str | int | float | bool | tuple[str, float] | tuple[str, str, object] | None


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _cell(ref: str, value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, tuple) and value[0] in {"formula", "error"}:
        return _computed(ref, value)
    if isinstance(value, tuple):
        style = 1 if value[0] == "date" else 2
        return f'<c r="{ref}" s="{style}"><v>{value[1]}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def _computed(ref: str, value: tuple[str, str, object] | tuple[str, float]) -> str:
    """A formula cell (with its saved value, or none) or a cell holding an Excel error."""
    if value[0] == "error":
        return f'<c r="{ref}" t="e"><v>{escape(str(value[1]))}</v></c>'
    formula, saved = f"<f>{escape(str(value[1]))}</f>", value[2] if len(value) > 2 else None
    if saved is None:
        return f'<c r="{ref}">{formula}</c>'
    if isinstance(saved, str):
        return f'<c r="{ref}" t="str">{formula}<v>{escape(saved)}</v></c>'
    return f'<c r="{ref}">{formula}<v>{saved!r}</v></c>'


def write_xlsx(path: Path, sheets: dict[str, list[list[Cell]]]) -> None:
    count = len(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, count + 1)
    )
    listed = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(sheets, start=1)
    )
    links = (
        "".join(
            f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, count + 1)
        )
        + f'<Relationship Id="rId{count + 1}" Type="{REL}/styles" Target="styles.xml"/>'
    )
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{PKG}/content-types">'
            f'<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{listed}</sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}/relationships">{links}'
        "</Relationships>",
        # Style 1 is Excel's built-in date format 14, style 2 a date-time format.
        "xl/styles.xml": (
            f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" '
            'formatCode="yyyy-mm-dd hh:mm"/></numFmts><fonts count="1"><font/></fonts>'
            '<fills count="1"><fill/></fills><borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0"/>'
            '<xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/>'
            "</cellXfs></styleSheet>"
        ),
    }
    for i, rows in enumerate(sheets.values(), start=1):
        body = "".join(
            f'<row r="{r}">'
            + "".join(_cell(f"{_column(c)}{r}", v) for c, v in enumerate(row))
            + "</row>"
            for r, row in enumerate(rows, start=1)
        )
        parts[f"xl/worksheets/sheet{i}.xml"] = (
            f'<worksheet xmlns="{MAIN}"><sheetData>{body}</sheetData></worksheet>'
        )
    with zipfile.ZipFile(path, "w") as archive:
        for name, xml in parts.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8"?>' + xml)


def _rows(frame: pl.DataFrame) -> list[dict[str, object]]:
    return frame.to_dicts()


def test_a_csv_with_a_byte_order_mark_reads_like_one_without(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"\xef\xbb\xbfdoc_number,amount\r\nINV-1,100.00\r\nINV-2,\r\n")
    frame = read_upload(path)
    assert frame.columns == ["doc_number", "amount", "line"]
    assert frame.schema["line"] == pl.Int64
    assert _rows(frame) == [
        {"doc_number": "INV-1", "amount": "100.00", "line": 2},
        {"doc_number": "INV-2", "amount": None, "line": 3},
    ]


def test_a_semicolon_csv_is_detected_from_its_heading_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("doc_number;note;amount\nINV-1;one, two;100.00\n", encoding="utf-8")
    assert _rows(read_upload(path)) == [
        {"doc_number": "INV-1", "note": "one, two", "amount": "100.00", "line": 2}
    ]


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('id,note\nA,"two\nlines"\n\nB,""\n,\nC,x\n', encoding="utf-8")
    assert _rows(read_upload(path)) == [
        {"id": "A", "note": "two\nlines", "line": 2},
        # line 4 is blank and line 6 has only empty cells: left out, and counted.
        {"id": "B", "note": None, "line": 5},
        {"id": "C", "note": "x", "line": 7},
    ]


def test_cr_only_crlf_and_lf_line_ends_read_the_same_rows_and_lines(tmp_path):
    """An old Mac CSV ends its lines with CR alone: read as line ends (universal newlines), not
    as one heading row of every cell, with the lines numbered as in its LF twin."""
    lf = b'id,note,amount\nA,plain,1.00\n\nB,"x, y",2.00\n,,\nC,,3.00\n'
    read = {}
    for name, end in (("lf", b"\n"), ("crlf", b"\r\n"), ("cr", b"\r")):
        path = tmp_path / f"{name}.csv"
        path.write_bytes(lf.replace(b"\n", end))
        read[name] = _rows(read_upload(path))
    assert (
        read["cr"]
        == read["crlf"]
        == read["lf"]
        == [
            {"id": "A", "note": "plain", "amount": "1.00", "line": 2},
            {"id": "B", "note": "x, y", "amount": "2.00", "line": 4},
            {"id": "C", "note": None, "amount": "3.00", "line": 6},
        ]
    )


def test_a_cr_only_csv_keeps_quoted_line_breaks_and_names_the_line_of_a_bad_row(tmp_path):
    """A line break inside a quoted cell of a CR-only file is a line break of the cell (read
    as LF, as in the file's LF twin) and counts as a line; a row the slow reader refuses is
    the row error of its own line."""
    lf = b'id,note\nA,"two\nlines"\nB,1,extra\nC,x\n'
    cr = tmp_path / "cr.csv"
    cr.write_bytes(lf.replace(b"\n", b"\r"))
    twin = tmp_path / "lf.csv"
    twin.write_bytes(lf)
    upload, lf_upload = read_upload_rows(cr), read_upload_rows(twin)
    assert (
        _rows(upload.rows)
        == _rows(lf_upload.rows)
        == [
            {"id": "A", "note": "two\nlines", "line": 2},
            {"id": "C", "note": "x", "line": 5},
        ]
    )
    assert upload.errors.to_dicts() == lf_upload.errors.to_dicts() == [
        {"line": 4, "column": "", "value": "B,1,extra",
         "message": "expected 2 columns, found 3 (a ',' inside a value needs quotes around the "
                    "value)"},
    ]  # fmt: skip


def test_a_cr_alone_inside_a_cell_of_an_lf_csv_is_not_a_line_end(tmp_path):
    """Only the heading line's end says the file is CR-only: a CR inside a cell of an LF (or
    CRLF) file stays a character of the cell."""
    path = tmp_path / "x.csv"
    path.write_bytes(b'id,note\nA,"one\rtwo"\nB,2\n')
    assert _rows(read_upload(path)) == [
        {"id": "A", "note": "one\rtwo", "line": 2},
        {"id": "B", "note": "2", "line": 3},
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "x.csv: the file is empty: expected a heading line"),
        (b"id,amount\n\xff\xfe,1\n",
         ("x.csv: no row could be read: line 2: not UTF-8: byte 0xff at offset 0 of the line "
          "(latin-1? save the file as CSV UTF-8)")),
        # read_upload takes no row errors: the first names its line (read_upload_rows keeps
        # the good rows, see test_unreadable_rows.py).
        (b"id,amount\nA,1\nB,2,3\n",
         ("x.csv: line 3: expected 2 columns, found 3 (a ',' inside a value needs quotes around "
          "the value)")),
        (b"id,,amount\nA,1,2\n", "x.csv: column 2 has values but no heading"),
        (b"id,id\nA,B\n", "x.csv: heading given twice: id"),
        (b"id,line\nA,1\n", "x.csv: the heading 'line' is reserved for the file line number"),
    ],
)  # fmt: skip
def test_an_unreadable_csv_names_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_upload(path)
    assert str(caught.value) == message


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"^nope.csv: no such file$"):
        read_upload(tmp_path / "nope.csv")


def test_an_xlsx_reads_as_strings_with_excel_dates_as_iso_dates(tmp_path):
    path = tmp_path / "billings.xlsx"
    # 45292 is 2024-01-01 in Excel's day count; 12.300000000000001 is what =12.1+0.2 stores.
    documents: list[list[Cell]] = [
        ["doc_number", "doc_date", "stamp", "amount", "computed", "paid", "zip"],
        ["INV-1", ("date", 45292), ("datetime", 45292.5), 1234.5, 12.300000000000001, True,
         "0012"],
        [None, None, None, None, None, None, None],
        ["INV-2", "2024-02-29", None, 100, -0.1, False, None],
    ]  # fmt: skip
    write_xlsx(path, {"Documents": documents, "Other": [["x"], ["y"]]})
    frame = read_upload(path)
    assert frame.columns == [
        "doc_number", "doc_date", "stamp", "amount", "computed", "paid", "zip", "line",
    ]  # fmt: skip
    assert all(dtype == pl.String for name, dtype in frame.schema.items() if name != "line")
    assert _rows(frame) == [
        {"doc_number": "INV-1", "doc_date": "2024-01-01", "stamp": "2024-01-01 12:00:00 UTC",
         "amount": "1234.5", "computed": "12.3", "paid": "true", "zip": "0012", "line": 2},
        {"doc_number": "INV-2", "doc_date": "2024-02-29", "stamp": None, "amount": "100",
         "computed": "-0.1", "paid": "false", "zip": None, "line": 4},
    ]  # fmt: skip
    assert _rows(read_upload(path, sheet="Other")) == [{"x": "y", "line": 2}]


def test_an_unreadable_xlsx_names_the_file_and_the_problem(tmp_path):
    path = tmp_path / "one.xlsx"
    write_xlsx(path, {"Sheet1": [["a"], ["1"]]})
    with pytest.raises(InputError) as caught:
        read_upload(path, sheet="Costs")
    assert str(caught.value) == "one.xlsx: no sheet named 'Costs' (the sheets: 'Sheet1')"
    empty = tmp_path / "empty.xlsx"
    write_xlsx(empty, {"Sheet1": []})
    with pytest.raises(InputError) as caught:
        read_upload(empty)
    assert str(caught.value) == (
        "empty.xlsx, sheet 'Sheet1': the sheet is empty: expected a heading row"
    )
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(InputError, match=r"^broken.xlsx: not a readable XLSX file \("):
        read_upload(broken)
    text = tmp_path / "x.csv"
    text.write_text("a\n1\n")
    with pytest.raises(InputError) as caught:
        read_upload(text, sheet="Costs")
    assert str(caught.value) == "x.csv: a sheet can only be named for an XLSX file"


def test_the_file_hash_is_the_sha256_of_its_bytes(tmp_path):
    path = tmp_path / "h.csv"
    path.write_bytes(b"id\nA\n")
    assert file_sha256(path) == hashlib.sha256(b"id\nA\n").hexdigest()
