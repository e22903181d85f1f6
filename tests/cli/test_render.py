"""Rendering listings: JSON written row by row as one document, CSV headed once, a table of
one page and the line that says how to get the rest."""

import io
import json
from datetime import date

import polars as pl
import pytest

from revrec.cli import render
from revrec.cli.render import Format, Page

DASH = "\N{EN DASH}"  # between a page's first and last row


def test_the_json_writer_writes_each_row_before_the_next_is_produced():
    out = io.StringIO()
    seen = []

    def rows():
        for n in range(5):
            seen.append(out.getvalue())  # what was written before row n was produced
            yield {"n": n, "day": f"2024-03-0{n + 1}"}

    render.write_json(rows(), head={"journal": {"book": "PRIMARY"}}, tail={"notes": ["a"]}, out=out)
    assert seen[0] == '{"journal": {"book": "PRIMARY"}, "rows": ['
    assert seen[4].endswith('{"n": 3, "day": "2024-03-04"}')  # row 3 out before row 4 exists
    document = json.loads(out.getvalue())
    assert document == {
        "journal": {"book": "PRIMARY"},
        "rows": [{"n": n, "day": f"2024-03-0{n + 1}"} for n in range(5)],
        "notes": ["a"],
    }
    # The same text as the document written whole.
    assert out.getvalue() == json.dumps(document) + "\n"


def test_the_json_writer_keeps_the_documents_shape_without_rows_and_with_any_value():
    out = io.StringIO()
    render.write_json(iter([]), out=out)
    assert out.getvalue() == '{"rows": []}\n'
    out = io.StringIO()
    render.write_json([{"day": date(2024, 3, 1), "messages": []}], tail={"notes": []}, out=out)
    whole = json.dumps({"rows": [{"day": date(2024, 3, 1), "messages": []}], "notes": []},
                       default=str)  # fmt: skip
    assert out.getvalue() == whole + "\n"


def test_a_table_shows_a_page_and_csv_and_json_every_row_unless_limited():
    assert Page.of(Format.table, None) == Page(render.PAGE, 0)
    assert Page.of(Format.table, 10, 20) == Page(10, 20)
    assert Page.of(Format.csv, None, 5) == Page(None, 5)
    assert Page.of(Format.json, 3) == Page(3, 0)
    assert Page(2, 1).of_list([1, 2, 3, 4]) == [2, 3]
    assert Page(None, 3).of_list([1, 2, 3, 4]) == [4]


def _never() -> int:
    raise AssertionError("counted although the page tells")


def test_the_paging_line_says_where_the_rows_are_and_counts_only_when_it_must():
    line = render.paging_line
    assert line(Page(50), 12, _never) is None  # every row fits
    assert line(Page(50), 0, _never) is None
    assert line(Page(50), 50, lambda: 50) is None
    assert line(Page(50), 50, lambda: 200_000) == (
        f"showing rows 1{DASH}50 of 200,000: --offset 50 for the next page, --format csv for all"
    )
    assert line(Page(10, 20), 10, lambda: 2_500) == (
        f"showing rows 21{DASH}30 of 2,500: --offset 30 for the next page, --format csv for all"
    )
    assert (
        line(Page(50, 2_480), 20, _never)
        == f"showing rows 2,481{DASH}2,500 of 2,500: --format csv for all"
    )
    assert line(Page(1, 1), 1, lambda: 5) == (
        "showing row 2 of 5: --offset 2 for the next page, --format csv for all"
    )
    assert line(Page(50, 3_000), 0, lambda: 2_500) == (
        "showing no rows of 2,500: --offset 3000 is past the last row"
    )
    assert line(Page(50, 10), 0, lambda: 0) is None


def test_csv_is_written_frame_by_frame_with_the_headings_once():
    out = io.StringIO()
    frames = (pl.DataFrame({"a": [n, n + 1], "b": ["x", None]}) for n in (1, 3))
    render.write_csv(frames, out=out)
    assert out.getvalue() == "a,b\n1,x\n2,\n3,x\n4,\n"
    out = io.StringIO()
    render.write_csv(iter([]), empty=pl.DataFrame(schema={"a": pl.Int64}), out=out)
    assert out.getvalue() == "a\n"


COLUMNS = {"n": pl.Int64, "tags": pl.String}


def _rows(count):
    return ({"n": n, "tags": ["a", "b"]} for n in range(count))


def _flat(row):
    return {**row, "tags": ",".join(row["tags"])}


@pytest.mark.parametrize("fmt", list(Format))
def test_a_listing_of_rows_in_each_format(fmt, capsys, monkeypatch):
    monkeypatch.setattr(render, "CHUNK", 7)
    page = Page.of(fmt, None)
    count = 120
    render.listing(
        _rows(count if fmt is not Format.table else render.PAGE),
        COLUMNS,
        fmt,
        page=page,
        count=lambda: count,
        flat=_flat,
        tail={"notes": []},
    )
    out = capsys.readouterr().out
    if fmt is Format.json:
        assert json.loads(out) == {"rows": list(_rows(count)), "notes": []}
    elif fmt is Format.csv:
        lines = out.splitlines()
        assert lines[0] == "n,tags"
        assert lines[1:] == [f'{n},"a,b"' for n in range(count)]
    else:
        body = [line for line in out.splitlines() if line.startswith("│")]
        assert len(body) == render.PAGE
        assert out.splitlines()[-1] == (
            f"showing rows 1{DASH}50 of 120: --offset 50 for the next page, --format csv for all"
        )


def test_csv_rows_go_out_a_chunk_at_a_time(capsys, monkeypatch):
    monkeypatch.setattr(render, "CHUNK", 7)
    written = []

    def rows():
        for n in range(20):
            written.append(capsys.readouterr().out)  # what went out before row n was produced
            yield {"n": n, "tags": []}

    render.listing(rows(), COLUMNS, Format.csv, page=Page(None), count=_never, flat=_flat)
    written.append(capsys.readouterr().out)
    assert "".join(written[:7]) == ""  # the first chunk, rows 0-6, is being read
    assert "".join(written[:8]) == "n,tags\n" + "".join(f'{n},""\n' for n in range(7))
    assert "".join(written) == "n,tags\n" + "".join(f'{n},""\n' for n in range(20))


def test_a_listing_of_frames_keeps_the_headings_of_an_empty_one(capsys):
    empty = pl.DataFrame(schema={"period": pl.String, "amount": pl.String})
    render.listing_frames([empty], Format.csv, page=Page(None), count=_never)
    assert capsys.readouterr().out == "period,amount\n"
    render.listing_frames([empty], Format.json, page=Page(None), count=_never, head={"a": 1})
    assert capsys.readouterr().out == '{"a": 1, "rows": []}\n'


def test_frames_go_to_a_file_as_polars_writes_them(tmp_path):
    frames = [pl.DataFrame({"a": [1, 2]}), pl.DataFrame({"a": [3]}), pl.DataFrame({"a": []})]
    whole = pl.concat(frames[:2])
    render.frames_to_file(iter(frames), tmp_path / "x.json")
    assert (tmp_path / "x.json").read_text() == whole.write_json()
    render.frames_to_file(iter(frames), tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_text() == whole.write_csv()
