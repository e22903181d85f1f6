"""The fuzzer of the shipped example files: seeded mutations of examples/*.csv (cells, rows,
headings, bytes, encodings, dates, amounts, currencies, references), each imported and processed
in-process through `services.workflow.import_and_process` (the service the CLI calls) on a fresh
copy of a prepared SQLite database.

A case is a seed: `random.Random(seed)` draws the mutations of one example file (the kind is
`seed % 5`), so a seed reproduces its file on any machine (`REVREC_FUZZ_SEEDS=17,4242`).
What each case checks (`Runner.run`):

- the call returns a summary, or raises a RevrecError (the file rejected as a whole) whose
  message is one line, names the file and, for a file that is UTF-8 text, names a line or the
  headings; the database then holds nothing of the file. Any other exception is a traceback.
- every stage row of the file is `processed`, `future`, `pending` with a reason, or `error` with
  at least one message whose text is not empty; the file has as many stage rows as rows read.
- no job failed: no "could not be processed" note (summary, `jobs.last_result`), no job that
  did not run, no contract left dirty.
- the oracle: the rows that ended `processed` alone (their lines of the mutated file, the others
  blanked so that every row keeps its line number, the heading kept) imported into a fresh copy
  of the same template give the same subledger (postings, cost postings, journal lines,
  contracts, line versions, allocations, billings, costs, events; stage row ids left out), and
  every row of that file ends processed. A file whose rows the reader numbered past its last
  line cannot be cut so: the oracle is skipped and counted.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import random
import re
import shutil
import sqlite3
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from revrec.errors import RevrecError
from revrec.services import database, workflow
from revrec.services.context import Context

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
USER = "fuzz"
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
FIRST_PERIOD = "2024-03"
BAD_JOB = "could not be processed"
IN_FILE_REPEAT = "duplicate of an identical row in this file"
SHOWN = 60  # characters of a value shown in a mutation's description


@dataclass(frozen=True)
class Kind:
    """An example file and how it is imported; `orders`: its template holds the clean
    sales_orders.csv, so that references to lines and contracts exist."""

    name: str
    example: str
    upload_type: str
    mapping: str = "revrec"
    event: str | None = None
    orders: bool = False


KINDS = (
    Kind("sales_orders", "sales_orders.csv", "sales_order"),
    Kind("billings", "billings.csv", "billing", orders=True),
    Kind("costs", "costs.csv", "cost", orders=True),
    Kind("events", "events_milestone.csv", "event", event="milestone", orders=True),
    Kind("recurly", "recurly_revenue_schedules.csv", "billing", mapping="recurly"),
)


# Mutations


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    delimiter: str = ","


def parse(data: bytes) -> Table:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    return Table(rows[0], rows[1:])


def render(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=table.delimiter, lineterminator="\n")
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return out.getvalue().encode("utf-8")


def shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 12]}...<{len(text)} chars>"


GENERIC = (
    "", " ", "   \t", "x" * 1001, "A" * 129, "B" * 128, "Ünïcødé ✓ 名前", "\u200b", "😀",
    "=1+1", '=HYPERLINK("http://x")', "@SUM(1,2)", "+1", "-0", "NaN", "null", "NULL", "None",
    "1e9999", "0.123456789", "a\nb", 'a"b', '"', "a,b", "a;b", "\x00", "\x7f", "\ufeff",
    " padded ", "line", "true", "-", "\r",
)  # fmt: skip
AMOUNTS = (
    "0", "-0", "0.00", "-1.00", "1e9999", "-1e9999", "1e3", "NaN", "inf", "-inf", "1.234",
    "12.5", "12.", ".5", "1,000.00", "1 000,00", "$10.00", "10.00 USD", "9" * 30,
    "92233720368547758.07", "92233720368547758.08", "-92233720368547758.08",
    "9223372036854775807", "0x10", "1_000", "١٢٣.٤٥", "\uff11\uff12.\uff10\uff10", "+5.00",
    "--5", "5-", "(5.00)", "0.000001", " 100.00 ", "100.00\t", "1.5",
)  # fmt: skip
DATES = (
    "2024-02-30", "0000-01-01", "9999-12-31", "2024-13-01", "2024-00-10", "1899-12-31",
    "1900-01-01", "2999-12-31", "3000-01-01", "2024-02-29", "2023-02-29", "2023-12-31",
    "2024-03-31T23:59:59Z", "2024-03-31T23:59:59-05:00", "2024-04-01 00:00:00 UTC",
    "2024-03-01T25:00:00Z", "20240301", "2024/03/01", "01/03/2024", "2024-03-01T12:00:00",
    "2024-03-01 12:00", "2024-3-1", " 2024-03-01 ", "2024-06-15", "2025-03-01", "2024-03-01x",
    "\uff12\uff10\uff12\uff14-\uff10\uff13-\uff10\uff11", "-2024-03-01", "+2024-03-01",
)  # fmt: skip
CURRENCIES = (
    "XXX", "usd", "JPY", "KWD", "EUR", "US", "USDD", "", " USD", "XTS", "BTC", "840", "Usd",
    "\uff35\uff33\uff24", "USD\u200b",
)  # fmt: skip
NUMBERS = (
    "101", "100", "100.0", "-5", "0", "40.5", "1e2", "1e-7", "0.0000001", "NaN", "inf",
    "99.9999999", "2147483648", "9" * 25, "1,5", "12",
)  # fmt: skip
ENUMS = {
    "doc_type": ("inv", "XYZ", "CM", "IVC", "CMC", "INV "),
    "pob_template": ("no_such_template", "License_PIT", "saas_daily", "milestone_evt"),
    "schedule_type": ("evenly", "at_range_start", "at_range_end", "EVENLY", "weekly"),
    "action": ("hold", "remove_hold", "accelerate", "expire", "release", "RELEASE", "pause"),
    "amortization": ("straight_line", "follow_revenue", "Straight_Line", "sideways"),
    "expense_immediately": ("true", "false", "TRUE", "yes", "1", "maybe"),
    "exclude_from_allocation": ("true", "false", "yes", "2"),
    "modification_policy": ("catch_up", "prospective", "never"),
    "origin": ("credit", "plan", "charge", "refund", "CREDIT"),
    "invoice_state": ("paid", "open", "void", "failed"),
    "cost_type": ("commission", "bonus", "?"),
    "item_code": ("LIC", "SUP", "IMP", "NOPE"),
}
REFERENCES = (
    "contract_id", "customer_id", "so_number", "so_line_id", "doc_number", "doc_line_id",
    "ref_doc_number", "ref_doc_line_id", "cost_id", "event_id", "invoice_number",
    "line_item_id", "account_code",
)  # fmt: skip
UNKNOWN_REFS = (
    "SO-0000-1", "INV-0000", "INV-0000-1", "C-9999", "CM-0000-1", "nobody", "so-1001-1",
    " SO-1001-1 ", "SO\u20101001\u20101", "SO-1001-1\u00a0",
)  # fmt: skip


def _known_ids() -> tuple[str, ...]:
    """Every identifier the examples use, to point a reference at another line or document."""
    found: set[str] = set()
    for kind in KINDS:
        table = parse((EXAMPLES / kind.example).read_bytes())
        for index, heading in enumerate(table.header):
            if heading in REFERENCES:
                found.update(r[index] for r in table.rows if index < len(r) and r[index])
    return tuple(sorted(found))


KNOWN_IDS = _known_ids()


def values_for(column: str) -> tuple[str, ...]:
    """The hostile values that mean most in a column of this name."""
    amounts = ("amount", "list_price", "ssp", "total_amount")
    numbers = ("percent", "cumulative_percent", "quantity", "amortization_months", "days")
    by_kind: list[tuple[bool, tuple[str, ...]]] = [
        (column in amounts or column.startswith("month_"), AMOUNTS),
        (column.endswith("_date"), DATES),
        (column == "currency", CURRENCIES),
        (column in numbers, NUMBERS),
        (column in REFERENCES, UNKNOWN_REFS + KNOWN_IDS),
    ]
    found = next((values for applies, values in by_kind if applies), None)
    return found or ENUMS.get(column, GENERIC)


T = TypeVar("T")
TableOp = Callable[[random.Random, Table], str | None]
ByteOp = Callable[[random.Random, bytes], tuple[bytes, str] | None]


def _cell(rng: random.Random, table: Table) -> tuple[int, int] | None:
    if not table.rows:
        return None
    row = rng.randrange(len(table.rows))
    if not table.rows[row]:
        return None
    return row, rng.randrange(len(table.rows[row]))


def _heading(table: Table, column: int) -> str:
    return table.header[column] if column < len(table.header) else f"#{column + 1}"


def cell_hostile(rng: random.Random, table: Table) -> str | None:
    """A cell replaced with a value for its column (or any hostile value)."""
    found = _cell(rng, table)
    if found is None:
        return None
    row, column = found
    name = _heading(table, column)
    value = rng.choice(values_for(name) if rng.random() < 0.7 else GENERIC)
    table.rows[row][column] = value
    return f"row {row + 1} {name} = {shown(value)}"


def cell_jpy(rng: random.Random, table: Table) -> str | None:
    """A currency without decimals (JPY) or with three (KWD) on an amount with two."""
    if "currency" not in table.header or not table.rows:
        return None
    row = rng.randrange(len(table.rows))
    column = table.header.index("currency")
    if column >= len(table.rows[row]):
        return None
    value = rng.choice(("JPY", "KWD", "CLF", "BHD"))
    table.rows[row][column] = value
    return f"row {row + 1} currency = {value}"


def cell_swap(rng: random.Random, table: Table) -> str | None:
    """Two rows' cells of one column swapped (a reference to another line, say)."""
    if len(table.rows) < 2:
        return None
    first, second = rng.sample(range(len(table.rows)), 2)
    column = rng.randrange(len(table.header))
    a, b = table.rows[first], table.rows[second]
    if column >= min(len(a), len(b)):
        return None
    a[column], b[column] = b[column], a[column]
    return f"rows {first + 1} and {second + 1}: {_heading(table, column)} swapped"


def cell_same_key(rng: random.Random, table: Table) -> str | None:
    """A row given another row's key (first identifier column): one key, two contents."""
    keys = [i for i, h in enumerate(table.header) if h in REFERENCES]
    if len(table.rows) < 2 or not keys:
        return None
    column = rng.choice(keys)
    first, second = rng.sample(range(len(table.rows)), 2)
    if column >= min(len(table.rows[first]), len(table.rows[second])):
        return None
    table.rows[second][column] = table.rows[first][column]
    return f"row {second + 1} {table.header[column]} = row {first + 1}'s"


def row_delete(rng: random.Random, table: Table) -> str | None:
    if not table.rows:
        return None
    row = rng.randrange(len(table.rows))
    del table.rows[row]
    return f"row {row + 1} deleted"


def row_duplicate(rng: random.Random, table: Table) -> str | None:
    if not table.rows:
        return None
    row = rng.randrange(len(table.rows))
    at = rng.randrange(len(table.rows) + 1)
    table.rows.insert(at, list(table.rows[row]))
    return f"row {row + 1} repeated as row {at + 1}"


def row_duplicate_changed(rng: random.Random, table: Table) -> str | None:
    """A row repeated with one cell changed: the same key with another content."""
    if not table.rows:
        return None
    row = rng.randrange(len(table.rows))
    copy = list(table.rows[row])
    if not copy:
        return None
    column = rng.randrange(len(copy))
    copy[column] = rng.choice(values_for(_heading(table, column)))
    table.rows.append(copy)
    return (
        f"row {row + 1} repeated at the end with {_heading(table, column)} = {shown(copy[column])}"
    )


def row_swap(rng: random.Random, table: Table) -> str | None:
    if len(table.rows) < 2:
        return None
    first, second = rng.sample(range(len(table.rows)), 2)
    table.rows[first], table.rows[second] = table.rows[second], table.rows[first]
    return f"rows {first + 1} and {second + 1} swapped"


def row_shuffle(rng: random.Random, table: Table) -> str | None:
    rng.shuffle(table.rows)
    return "rows shuffled"


def row_reverse(_rng: random.Random, table: Table) -> str | None:
    table.rows.reverse()
    return "rows reversed"


def row_ragged_more(rng: random.Random, table: Table) -> str | None:
    if not table.rows:
        return None
    row = rng.randrange(len(table.rows))
    value = rng.choice(("x", "", " ", "1.00", "", "SO-1001-1"))
    count = rng.choice((1, 1, 2, 5))
    table.rows[row].extend([value] * count)
    return f"row {row + 1}: {count} more cell(s) {shown(value)}"


def row_ragged_less(rng: random.Random, table: Table) -> str | None:
    if not table.rows or not table.rows[0]:
        return None
    row = rng.randrange(len(table.rows))
    count = rng.randint(1, max(1, len(table.rows[row]) - 1))
    del table.rows[row][-count:]
    return f"row {row + 1}: last {count} cell(s) removed"


def row_blank(rng: random.Random, table: Table) -> str | None:
    """A row with no cell, only separators, or only blanks inserted."""
    at = rng.randrange(len(table.rows) + 1)
    width = len(table.header)
    row = rng.choice(([], [""] * width, [" "] * width, ["\t"] + [""] * (width - 1)))
    table.rows.insert(at, row)
    return f"row {at + 1}: {shown(table.delimiter.join(row))} inserted"


def header_rename(rng: random.Random, table: Table) -> str | None:
    column = rng.randrange(len(table.header))
    old = table.header[column]
    new = rng.choice(
        (
            old[:-1],
            old.upper(),
            f"{old} ",
            f" {old}",
            "no_such_heading",
            old.replace("_", " "),
            f"\ufeff{old}",
            f"{old}\u200b",
            "",
        )
    )
    table.header[column] = new
    return f"heading {old!r} renamed {new!r}"


def header_drop(rng: random.Random, table: Table) -> str | None:
    """A column removed: its heading and its cells."""
    column = rng.randrange(len(table.header))
    name = table.header.pop(column)
    for row in table.rows:
        if column < len(row):
            del row[column]
    return f"column {name!r} removed"


def header_twice(rng: random.Random, table: Table) -> str | None:
    first, second = rng.sample(range(len(table.header)), 2)
    old = table.header[second]
    table.header[second] = table.header[first]
    return f"heading {old!r} renamed {table.header[first]!r} (given twice)"


def header_reorder(rng: random.Random, table: Table) -> str | None:
    """The columns in another order (headings and cells together)."""
    order = list(range(len(table.header)))
    rng.shuffle(order)
    table.header = [table.header[i] for i in order]
    table.rows = [[r[i] if i < len(r) else "" for i in order] for r in table.rows]
    return "columns reordered"


def header_add(rng: random.Random, table: Table) -> str | None:
    """A column added: unknown, reserved, or (for a mapping that keeps them) free."""
    name = rng.choice(("notes", "line", "LINE", "amount_2", "revenue_schedule_id", "Amount"))
    value = rng.choice(("x", "", "1.00", "=1+1"))
    at = rng.randrange(len(table.header) + 1)
    table.header.insert(at, name)
    for row in table.rows:
        row.insert(min(at, len(row)), value)
    return f"column {name!r} (values {value!r}) added at {at + 1}"


def title_row(rng: random.Random, table: Table) -> str | None:
    """A title row above the headings."""
    title = rng.choice((["Sales export"], ["Report", "2024-03"], [""] * len(table.header)))
    table.rows.insert(0, table.header)
    table.header = title
    return f"title row {shown(title)} above the headings"


def semicolons(_rng: random.Random, table: Table) -> str | None:
    table.delimiter = ";"
    return "separator ';'"


def _data_line(rng: random.Random, data: bytes) -> tuple[list[bytes], int] | None:
    lines = data.split(b"\n")
    candidates = [i for i in range(1, len(lines)) if lines[i].strip()]
    if not candidates:
        return None
    return lines, rng.choice(candidates)


def _at(rng: random.Random, line: bytes) -> int:
    return rng.randrange(len(line) + 1)


def bom(_rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    return b"\xef\xbb\xbf" + data, "a UTF-8 BOM"


def double_bom(_rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    return b"\xef\xbb\xbf\xef\xbb\xbf" + data, "two UTF-8 BOMs"


def crlf(_rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    return data.replace(b"\n", b"\r\n"), "CRLF line ends"


def cr_only(_rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    return data.replace(b"\n", b"\r"), "CR line ends"


def latin1_byte(rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    found = _data_line(rng, data)
    if found is None:
        return None
    lines, index = found
    at = _at(rng, lines[index])
    byte = rng.choice((b"\xe9", b"\xfc", b"\xa0", b"\x93", b"\xff", b"\xc3"))
    lines[index] = lines[index][:at] + byte + lines[index][at:]
    return b"\n".join(lines), f"byte {byte!r} in line {index + 1} at {at}"


def latin1_file(rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    """The file saved as Latin-1, with an accented letter in a data line (and '?' for what
    Latin-1 cannot hold)."""
    found = _data_line(rng, data)
    if found is None:
        return None
    lines, index = found
    at = _at(rng, lines[index])
    lines[index] = lines[index][:at] + "é".encode() + lines[index][at:]
    text = b"\n".join(lines).decode("utf-8", errors="replace")
    return text.encode("latin-1", errors="replace"), f"saved as Latin-1 ('é' in line {index + 1})"


def utf16(_rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    return data.decode("utf-8", errors="replace").encode("utf-16"), "saved as UTF-16"


def nul_byte(rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    at = rng.randrange(len(data) + 1)
    return data[:at] + b"\x00" + data[at:], f"a NUL byte at offset {at}"


def stray_quote(rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    found = _data_line(rng, data)
    if found is None:
        return None
    lines, index = found
    at = _at(rng, lines[index])
    lines[index] = lines[index][:at] + b'"' + lines[index][at:]
    return b"\n".join(lines), f"a quote in line {index + 1} at {at}"


def open_quote(rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    """A quote opened at the start of a cell and never closed."""
    found = _data_line(rng, data)
    if found is None:
        return None
    lines, index = found
    cuts = [0] + [i + 1 for i, b in enumerate(lines[index]) if b in b",;"]
    at = rng.choice(cuts)
    lines[index] = lines[index][:at] + b'"' + lines[index][at:]
    return b"\n".join(lines), f"an unclosed quote in line {index + 1} at {at}"


def truncate(rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    at = rng.randrange(1, len(data))
    return data[:at], f"cut after byte {at}"


def no_final_newline(_rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    return data.rstrip(b"\n"), "no line end after the last row"


def blank_lines(rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    lines = data.split(b"\n")
    at = rng.randrange(1, len(lines) + 1)
    blank = rng.choice((b"", b" ", b"\t", b"\r", b",,,"))
    count = rng.choice((1, 3))
    lines[at:at] = [blank] * count
    return b"\n".join(lines), f"{count} line(s) {blank!r} inserted at line {at + 1}"


def flip_byte(rng: random.Random, data: bytes) -> tuple[bytes, str] | None:
    at = rng.randrange(len(data))
    byte = rng.randrange(256)
    return data[:at] + bytes([byte]) + data[at + 1 :], f"byte {at} set to {byte:#04x}"


TABLE_OPS: tuple[tuple[TableOp, int], ...] = (
    (cell_hostile, 30),
    (cell_jpy, 3),
    (cell_swap, 4),
    (cell_same_key, 3),
    (row_delete, 4),
    (row_duplicate, 3),
    (row_duplicate_changed, 3),
    (row_swap, 2),
    (row_shuffle, 2),
    (row_reverse, 1),
    (row_ragged_more, 3),
    (row_ragged_less, 3),
    (row_blank, 2),
    (header_rename, 2),
    (header_drop, 2),
    (header_twice, 1),
    (header_reorder, 2),
    (header_add, 2),
    (title_row, 1),
    (semicolons, 2),
)
BYTE_OPS: tuple[tuple[ByteOp, int], ...] = (
    (bom, 2),
    (double_bom, 1),
    (crlf, 2),
    (cr_only, 1),
    (latin1_byte, 3),
    (latin1_file, 2),
    (utf16, 1),
    (nul_byte, 1),
    (stray_quote, 3),
    (open_quote, 3),
    (truncate, 2),
    (no_final_newline, 1),
    (blank_lines, 2),
    (flip_byte, 2),
)
TABLE_SHARE = 0.7  # of the mutations drawn, the share that change the table (the rest bytes)
OPERATORS = tuple(op.__name__ for op, _ in TABLE_OPS + BYTE_OPS)


@dataclass(frozen=True)
class Case:
    seed: int
    kind: Kind
    data: bytes
    mutations: tuple[str, ...]
    operators: tuple[str, ...]

    def describe(self) -> str:
        return f"seed {self.seed} ({self.kind.name}, {self.kind.example}): " + "; ".join(
            self.mutations
        )


def make_case(seed: int) -> Case:
    """The mutated file of a seed: one to three mutations of its kind's example."""
    rng = random.Random(seed)  # noqa: S311 - a seeded test input, not a secret
    kind = KINDS[seed % len(KINDS)]
    clean = (EXAMPLES / kind.example).read_bytes()
    while True:
        table = parse(clean)
        mutations: list[str] = []
        operators: list[str] = []
        later: list[ByteOp] = []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            if rng.random() < TABLE_SHARE:
                table_op = _pick(rng, TABLE_OPS)
                said = table_op(rng, table)
                if said is not None:
                    mutations.append(said)
                    operators.append(table_op.__name__)
            else:
                later.append(_pick(rng, BYTE_OPS))
        data = render(table)
        for byte_op in later:
            done = byte_op(rng, data)
            if done is not None:
                data, said = done
                mutations.append(said)
                operators.append(byte_op.__name__)
        if data != clean:  # a mutation that changed nothing is drawn again
            return Case(seed, kind, data, tuple(mutations), tuple(operators))


def _pick(rng: random.Random, weighted: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([op for op, _ in weighted], weights=[w for _, w in weighted])[0]


# Product defects the fuzzer found, reported and not fixed here. A case whose every problem is
# one of them (drawn by one of its operators, when any are named) counts as a known defect, not
# a failure; test_fuzz pins each with a strict xfail on its seed, so that its fix shows.


@dataclass(frozen=True)
class Defect:
    name: str
    problem: re.Pattern[str]
    operators: tuple[str, ...]  # the case uses one of these; () for any
    seed: int  # a reproduction


KNOWN_DEFECTS: tuple[Defect, ...] = ()


def known_defect(result: Result) -> str | None:
    """The known defect that explains every problem of a case, if one does."""
    if not result.problems:
        return None
    for defect in KNOWN_DEFECTS:
        if defect.operators and not set(defect.operators) & set(result.case.operators):
            continue
        if all(defect.problem.search(p) for p in result.problems):
            return defect.name
    return None


# Running a case

STATE = {
    "postings": "select book, line_id, period, amount from postings",
    "cost_postings": "select book, cost_id, period, kind, amount from cost_postings",
    "journal_lines": "select book, period, account, gl_code, currency, debit, credit, "
    "contract_id, line_id, source, source_id from journal_lines",
    "contracts": "select * from contracts",
    "line_versions": "select line_id, version, contract_id, line_no, content_hash, item_code, "
    "pob_template, amount, quantity_micro, list_price, ssp_unit, exclude, residual, start, "
    '"end", effective_date, modification_policy, period, attributes from line_versions',
    "allocations": "select * from allocations",
    "billings": "select doc_line_id, doc_type, doc_number, doc_date, line_id, customer_id, "
    "currency, amount, ref_doc_line_id, period, content_hash, attributes from billings",
    "costs": "select cost_id, cost_type, amount, currency, cost_date, line_id, contract_id, "
    "amortization, amortization_months, expense_immediately, period, content_hash from costs",
    "events": "select event_id, event_name, line_id, event_date, seq, action, kind, "
    "value_micro, period, content_hash from events",
}
# Columns that hold a stage row id (processing numbers rows so): their order is what counts
# (allocation ties go to the earlier line), so they are compared as ranks.
RANKED = {"line_versions": 3, "events": 4}
State = dict[str, list[tuple[object, ...]]]


def _ranked(rows: list[tuple[object, ...]], column: int) -> list[tuple[object, ...]]:
    order = {v: i for i, v in enumerate(sorted({r[column] for r in rows}))}
    return [(*r[:column], order[r[column]], *r[column + 1 :]) for r in rows]


@dataclass
class Result:
    case: Case
    problems: list[str] = field(default_factory=list)
    traceback: bool = False
    failed_job: bool = False
    rejected: str | None = None
    oracle: str = "none"  # done | identical (the file itself) | skipped | none (rejected)
    statuses: Counter[str] = field(default_factory=Counter)


SUMMED = (
    "files", "tracebacks", "failed_jobs", "rejected", "oracle_done", "oracle_identical",
    "oracle_skipped", "failures", "oracle_imports",
)  # fmt: skip


@dataclass
class Stats:
    files: int = 0
    distinct: int = 0
    tracebacks: int = 0
    failed_jobs: int = 0
    rejected: int = 0
    oracle_done: int = 0
    oracle_identical: int = 0  # of those done, the good rows were the whole file
    oracle_skipped: int = 0
    failures: int = 0
    oracle_imports: int = 0
    seconds: float = 0.0
    known: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    operators: Counter[str] = field(default_factory=Counter)
    rejections: Counter[str] = field(default_factory=Counter)

    def add(self, result: Result) -> None:
        self.files += 1
        self.tracebacks += result.traceback
        self.failed_jobs += result.failed_job
        self.rejected += result.rejected is not None
        self.oracle_done += result.oracle in ("done", "identical")
        self.oracle_identical += result.oracle == "identical"
        self.oracle_skipped += result.oracle == "skipped"
        defect = known_defect(result)
        if defect is not None:
            self.known[defect] += 1
        self.failures += bool(result.problems) and defect is None
        self.statuses.update(result.statuses)
        self.operators.update(result.case.operators)
        if result.rejected is not None:
            self.rejections[_shape_of(result.rejected)] += 1

    def merge(self, other: Stats) -> None:
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.statuses.update(other.statuses)
        self.operators.update(other.operators)
        self.rejections.update(other.rejections)
        self.known.update(other.known)

    def line(self) -> str:
        rows = ", ".join(f"{s} {n}" for s, n in sorted(self.statuses.items()))
        known = ", ".join(f"{d} {n}" for d, n in sorted(self.known.items()))
        return (
            f"fuzz: {self.files} files ({self.distinct} distinct), {self.tracebacks} tracebacks, "
            f"{self.failed_jobs} failed jobs, oracle checks {self.oracle_done} done "
            f"({self.oracle_identical} on the whole file) / {self.oracle_skipped} skipped, "
            f"{self.rejected} whole-file rejections, {self.failures} failing cases, "
            f"{sum(self.known.values())} cases of known defects ({known or 'none'}), "
            f"stage rows: {rows}, {self.oracle_imports} oracle imports; {self.seconds:.1f} s"
        )


def _shape_of(message: str) -> str:
    """A rejection message with its particulars taken out, to count rejections by kind."""
    text = message.split(":", 1)[-1]
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    return text.strip()[:90]


class Runner:
    """Runs cases in one process on one engine: the database file under it is replaced by a
    copy of the case's template before each import (SQLAlchemy's compiled statements are
    kept, as in a long-running server)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.live = work / "live.db"
        self.engine = database.open_engine(f"sqlite:///{self.live}")
        self.ctx = Context(self.engine, USER, NOW)
        self.uploads = work / "uploads"
        self.oracle_uploads = work / "oracle"
        self.uploads.mkdir()
        self.oracle_uploads.mkdir()
        self.templates: dict[bool, Path] = {}
        self.base: dict[bool, State] = {}
        self.base_files: dict[bool, int] = {}
        self.oracles: dict[tuple[str, bytes], tuple[State, list[str]]] = {}
        self.oracle_imports = 0

    def close(self) -> None:
        self.engine.dispose()

    # Databases

    def template(self, orders: bool) -> Path:
        """init --first-period 2024-03, examples/setup.yaml loaded and, with `orders`, the
        clean sales_orders.csv imported: built once, copied for each case."""
        if orders in self.templates:
            return self.templates[orders]
        path = self.work / f"template-{'orders' if orders else 'setup'}.db"
        engine = database.open_engine(f"sqlite:///{path}")
        ctx = Context(engine, USER, NOW)
        try:
            workflow.init(ctx, first_period=FIRST_PERIOD, currency="USD")
            workflow.load_setup(ctx, workflow.read_setup(EXAMPLES / "setup.yaml"))
            if orders:
                workflow.import_and_process(ctx, EXAMPLES / "sales_orders.csv", "sales_order")
        finally:
            engine.dispose()
        with contextlib.closing(sqlite3.connect(path)) as conn:  # the WAL into the file
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.templates[orders] = path
        self._fresh(path)
        self.base[orders] = self._state()
        self.base_files[orders] = self._count("files")
        return path

    def _fresh(self, template: Path) -> None:
        self.engine.dispose()
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{self.live}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, self.live)

    def _query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with contextlib.closing(sqlite3.connect(self.live)) as conn:
            return conn.execute(sql, params).fetchall()

    def _count(self, table: str) -> int:
        sql = f"select count(*) from {table}"  # noqa: S608 - a table name of this module
        return int(self._query(sql)[0][0])

    def _state(self) -> State:
        with contextlib.closing(sqlite3.connect(self.live)) as conn:
            found = {name: conn.execute(sql).fetchall() for name, sql in STATE.items()}
        for table, column in RANKED.items():
            found[table] = _ranked(found[table], column)
        return {name: sorted(rows, key=repr) for name, rows in found.items()}

    # Cases

    def run(self, case: Case) -> Result:
        result = Result(case)
        kind = case.kind
        template = self.template(kind.orders)
        path = self.uploads / kind.example
        path.write_bytes(case.data)
        self._fresh(template)
        try:
            summary = self._import(path, kind)
        except RevrecError as error:
            result.rejected = str(error)
            result.problems += rejection_problems(result.rejected, kind.example, case.data)
            if self._count("files") != self.base_files[kind.orders]:
                result.problems.append("the file was rejected but is in the files table")
            if self._state() != self.base[kind.orders]:
                result.problems.append("the file was rejected but the subledger changed")
            return result
        except Exception:  # noqa: BLE001 - a traceback is what the fuzzer looks for
            result.traceback = True
            result.problems.append("traceback:\n" + traceback.format_exc())
            return result
        stage = self._query(
            "select line, status, messages from stage_rows where file_id = ? order by line",
            summary.file_id,
        )
        result.statuses.update(status for _, status, _ in stage)
        result.problems += stage_problems(stage, summary.notes, summary.rows_read)
        result.problems += self._repeat_problems(summary.file_id)
        jobs = self._job_problems(summary.notes)
        result.failed_job = bool(jobs)
        result.problems += jobs
        state = self._state()
        result.oracle, found = self._oracle(case, stage, state)
        result.problems += found
        return result

    def _import(self, path: Path, kind: Kind) -> workflow.ImportSummary:
        return workflow.import_and_process(
            self.ctx, path, kind.upload_type, mapping=kind.mapping, event=kind.event
        )

    def _repeat_problems(self, file_id: int | None) -> list[str]:
        """A row skipped as a repeat of an identical row of the file: that row (one of the same
        key) was applied, or the repeat says processed for a row that was not."""
        rows = self._query(
            "select line, status, key, messages from stage_rows where file_id = ?", file_id
        )
        applied = {key for _, status, key, m in rows if status == "processed" and m == "[]"}
        fates = Counter(
            (key, status) for _, status, key, m in rows if m == "[]" or status != "processed"
        )
        problems = []
        for line, status, key, text in rows:
            if status == "processed" and IN_FILE_REPEAT in str(text) and key not in applied:
                others = sorted(st for k, st in fates if k == key)
                problems.append(
                    f"line {line} is processed as a duplicate of an identical row in this file, "
                    f"but no row of key {key!r} was processed (they ended {', '.join(others)})"
                )
        return problems

    def _job_problems(self, notes: list[str]) -> list[str]:
        problems = [f"job note: {n}" for n in notes if BAD_JOB in n or "lock" in n]
        for name, last_run, last_result in self._query(
            "select name, last_run_at, last_result from jobs"
        ):
            if last_run is None or last_result is None:
                problems.append(f"job {name} did not run")
                continue
            told = json.loads(str(last_result))
            problems += [f"job {name}: {n}" for n in told.get("notes", []) if BAD_JOB in n]
        if dirty := self._count("dirty_lines"):
            problems.append(f"{dirty} lines left dirty (a contract the revenue job failed on)")
        return problems

    def _oracle(
        self, case: Case, stage: list[tuple[object, ...]], state: State
    ) -> tuple[str, list[str]]:
        """The rows that ended processed, imported alone into a fresh copy of the template,
        give the same subledger."""
        lines = [int(line) for line, _, _ in stage]
        # The rows applied to the subledger: processed, and not skipped as a duplicate (those
        # carry a note, and alone they would not be duplicates).
        processed = {
            int(line)
            for line, status, text in stage
            if status == "processed" and not json.loads(str(text))
        }
        kind = case.kind
        if not processed:
            expected, problems = self.base[kind.orders], []
        else:
            good = good_rows_file(case.data, lines, processed)
            if good is None:
                return "skipped", []
            if good == case.data:  # every row processed: the same import again, deterministic
                return "identical", []
            key = (kind.name, good)
            if key not in self.oracles:
                self.oracles[key] = self._clean_import(kind, good, len(processed))
            expected, problems = self.oracles[key]
        for table, rows in state.items():
            if rows != expected[table]:
                problems = [*problems, _diff(table, rows, expected[table])]
        return "done", problems

    def _clean_import(self, kind: Kind, good: bytes, count: int) -> tuple[State, list[str]]:
        self.oracle_imports += 1
        path = self.oracle_uploads / kind.example
        path.write_bytes(good)
        self._fresh(self.templates[kind.orders])
        try:
            summary = self._import(path, kind)
        except Exception as error:  # noqa: BLE001 - reported as the case's problem
            why = f"{type(error).__name__}: {error}"
            return self.base[kind.orders], [f"oracle: the good rows alone failed: {why}"]
        problems = []
        stage = self._query(
            "select line, status, messages from stage_rows where file_id = ?", summary.file_id
        )
        others = sorted((line, status, m) for line, status, m in stage if status != "processed")
        if others or len(stage) != count:
            problems.append(
                f"oracle: of the good rows alone ({count}), {len(stage)} were read and these "
                f"did not end processed: {shown(others)}"
            )
        return self._state(), problems


def good_rows_file(data: bytes, lines: list[int], processed: set[int]) -> bytes | None:
    """The mutated file with only its processed rows: every line of a row that did not end
    processed is blanked, so that the others keep their line numbers; the lines above the
    first row (the headings) are kept. None when the rows' line numbers do not fit the file's
    lines (the reader split it otherwise than at '\\n')."""
    pieces = data.split(b"\n")
    physical = len(pieces) - (1 if data.endswith(b"\n") else 0)
    if not lines or min(lines) < 2 or max(lines) > physical or len(set(lines)) != len(lines):
        return None
    keep = set(range(1, min(lines)))
    bounds = [*sorted(lines), physical + 1]
    for start, end in itertools.pairwise(bounds):
        if start in processed:
            keep.update(range(start, end))
    return b"\n".join(p if n in keep or n > physical else b"" for n, p in enumerate(pieces, 1))


def _diff(table: str, got: list[tuple[object, ...]], expected: list[tuple[object, ...]]) -> str:
    extra = [r for r in got if r not in expected]
    missing = [r for r in expected if r not in got]
    return (
        f"oracle: {table} differs from the good rows' alone: got also {shown(extra)}, "
        f"expected also {shown(missing)}"
    )


def rejection_problems(message: str, name: str, data: bytes) -> list[str]:
    """A file rejected as a whole: one line that names the file and, for UTF-8 text, the line
    (or the headings, which are line 1)."""
    problems = []
    if "\n" in message or "\r" in message:
        problems.append(f"the rejection is not one line: {message!r}")
    if name not in message:
        problems.append(f"the rejection does not name the file: {message!r}")
    try:
        data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        return problems
    if not re.search(r"\b(line|lines|row) \d+|heading", message):
        problems.append(f"the rejection names no line: {message!r}")
    headings = _headings(data)
    named = re.findall(r"heading '([^']*)' is given twice", message)
    if twice := re.search(r"heading given twice: (.*)$", message):
        named += twice.group(1).split(", ")
    if strange := [n for n in named if n.strip().casefold() not in headings]:
        problems.append(f"the rejection names headings the file does not have {strange}: "
                        f"{message!r}")  # fmt: skip
    return problems


def _headings(data: bytes) -> set[str]:
    """The headings of a file's first record as Python's csv reads it (stripped, any case)."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        record = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        record = first.split(delimiter)
    return {h.strip().lstrip("\ufeff").strip().casefold() for h in record}


def stage_problems(stage: list[tuple[object, ...]], notes: list[str], rows_read: int) -> list[str]:
    problems = []
    if len(stage) != rows_read:
        problems.append(f"{rows_read} rows read but {len(stage)} stage rows")
    waiting = any("pending" in n or "inactive" in n for n in notes)
    for line, status, text in stage:
        messages = json.loads(str(text))
        if status == "error":
            if not messages or not all(str(m.get("message", "")).strip() for m in messages):
                problems.append(f"line {line}: an error row without a message: {text}")
        elif status == "pending":
            if not messages and not waiting:
                problems.append(f"line {line}: pending without a reason (notes: {notes})")
        elif status not in ("processed", "future"):
            problems.append(f"line {line}: status {status!r}")
    return problems


def run_cases(work: Path, seeds: list[int], workers: int = 1) -> tuple[Stats, list[Result]]:
    """Every seed's case run, in `workers` processes (spawned once each; every one runs its
    share of the seeds on an engine of its own); the statistics and the failing cases."""
    began = time.perf_counter()
    workers = max(1, min(workers, len(seeds) // MIN_SHARE))
    if workers == 1:
        stats, failing, distinct = _run_share(work, seeds)
    else:
        shares = [(work / f"worker-{i}", seeds[i::workers]) for i in range(workers)]
        for folder, _ in shares:
            folder.mkdir()
        with _one_polars_thread(), multiprocessing.get_context("spawn").Pool(workers) as pool:
            parts = pool.starmap(_run_share, shares)
        stats, failing, distinct = Stats(), [], set()
        for part_stats, part_failing, part_distinct in parts:
            stats.merge(part_stats)
            failing += part_failing
            distinct |= part_distinct
        failing.sort(key=lambda r: r.case.seed)
    stats.distinct = len(distinct)
    stats.seconds = time.perf_counter() - began
    return stats, failing


MIN_SHARE = 50  # seeds below which a worker process costs more than it saves


@contextlib.contextmanager
def _one_polars_thread() -> Iterator[None]:
    """Workers spawned meanwhile run Polars on one thread: one worker per core, and the frames
    of an example file are too small to share out (about 8% less CPU than a pool each)."""
    before = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["POLARS_MAX_THREADS"]
        else:
            os.environ["POLARS_MAX_THREADS"] = before


def _run_share(work: Path, seeds: list[int]) -> tuple[Stats, list[Result], set[bytes]]:
    runner = Runner(work)
    stats = Stats()
    failing = []
    distinct = set()
    try:
        for seed in seeds:
            case = make_case(seed)
            distinct.add(hashlib.sha256(case.kind.name.encode() + b"\0" + case.data).digest())
            result = runner.run(case)
            stats.add(result)
            if result.problems and known_defect(result) is None:
                failing.append(result)
    finally:
        runner.close()
    stats.oracle_imports = runner.oracle_imports
    return stats, failing, distinct


def report(result: Result) -> str:
    return result.case.describe() + "\n  " + "\n  ".join(result.problems)
