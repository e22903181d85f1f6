"""The billing lines of the legacy schedules export (SPEC §10), read a page at a time: every
billing of a billing-driven line, with its line's service dates and template, and the attributes
it was uploaded with (origin, invoice_state, invoice_origin, accounting_code).

Reads only; no rules. Pages follow the billings' key (doc_line_id), each one an index range read
in one statement (SQLite: columns as JSON arrays; PostgreSQL: COPY), so no sort of the whole
table and no Python object per value. The uploaded attributes live in the stage payloads (a
file's rows in chunks of Arrow IPC); a few decoded chunks are kept, so memory stays bounded.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.store import schema as t
from revrec.store.bulk import read_frame
from revrec.store.lines import schedule_type_apart

PAGE = 50_000  # billing lines a page
ATTRIBUTES = ("origin", "invoice_state", "invoice_origin", "accounting_code")
# Decoded payload chunks kept (each up to payloads.CHUNK rows of ATTRIBUTES): a file of up to
# KEPT x 250,000 rows is decoded once; a bigger one again for the pages that need it.
KEPT = 8
SCHEMA = {
    "doc_line_id": pl.String,
    "doc_type": pl.String,
    "doc_number": pl.String,
    "doc_date": pl.Date,
    "customer_id": pl.String,
    "currency": pl.String,
    "amount": pl.Int64,
    "start": pl.Date,
    "end": pl.Date,
    "item_code": pl.String,
    "pob_template": pl.String,
    "file_id": pl.Int64,
    "line": pl.Int64,
}


def _joined() -> Any:
    b, lv, c, s = t.billings, t.line_versions, t.contracts, t.stage_rows
    # A billing-driven line has one version (its first billing made it: store.billings.add).
    return (
        b.join(lv, (lv.c.line_id == b.c.line_id) & (lv.c.version == 1))
        .join(c, (c.c.contract_id == lv.c.contract_id) & c.c.billing_driven.is_(True))
        .outerjoin(s, s.c.row_id == b.c.stage_row_id)
    )


def _where(doc_types: Sequence[str], first: date | None, last: date | None) -> Any:
    b = t.billings
    condition: sa.ColumnElement[bool] = b.c.doc_type.in_(list(doc_types))
    if first is not None:
        condition &= b.c.doc_date >= first
    if last is not None:
        condition &= b.c.doc_date <= last
    return condition


def snapshot(conn: sa.Connection) -> None:
    """Let every read that follows on `conn` see one state of the store, however many pages
    they take: a read-only REPEATABLE READ transaction on PostgreSQL, a read transaction on
    SQLite (a job committing meanwhile is not half in the export). Call it first."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")  # the driver opens none for reads


def count(
    conn: sa.Connection, doc_types: Sequence[str], first: date | None, last: date | None
) -> int:
    """How many billings of billing-driven lines have these doc_types and a doc_date in
    [first, last] (None: unbounded)."""
    query = sa.select(sa.func.count()).select_from(_joined()).where(_where(doc_types, first, last))
    return int(conn.execute(query).scalar() or 0)


def pages(
    conn: sa.Connection,
    doc_types: Sequence[str],
    first: date | None,
    last: date | None,
    *,
    page: int | None = None,
) -> Iterator[pl.DataFrame]:
    """Those billings as frames of at most `page` rows (default PAGE), by doc_line_id in the
    database's order (bytes on SQLite, the column's collation on PostgreSQL): doc_line_id,
    doc_type, doc_number, doc_date, customer_id, currency, amount (signed), start, end
    (exclusive), item_code, pob_template, schedule_type, then ATTRIBUTES (text as uploaded,
    null when not given)."""
    size = page or PAGE
    uploaded = _Uploaded(conn)
    after: str | None = None
    while True:
        found = _page(conn, _where(doc_types, first, last), after, size)
        if found.height == 0:
            return
        after = found["doc_line_id"][-1]
        yield uploaded.attached(schedule_type_apart(found)).drop("file_id", "line")
        if found.height < size:
            return


def _page(conn: sa.Connection, where: Any, after: str | None, size: int) -> pl.DataFrame:
    """The next `size` rows after the key `after`, in key order."""
    b, lv, s = t.billings, t.line_versions, t.stage_rows
    if after is not None:
        where &= b.c.doc_line_id > after
    table_of = {"start": lv, "end": lv, "item_code": lv, "pob_template": lv, "file_id": s,
                "line": s}  # fmt: skip
    query = (
        sa.select(*(table_of.get(name, b).c[name] for name in SCHEMA))
        .select_from(_joined())
        .where(where)
        .order_by(b.c.doc_line_id)  # the key's index: a range read, no sort
        .limit(size)
    )
    if conn.dialect.name == "postgresql":  # COPY keeps the query's order
        return read_frame(conn, query, SCHEMA)
    # SQLite's fast read does not keep the order: the page is sorted again, by bytes as
    # SQLite compares texts.
    inner = query.subquery()
    return read_frame(conn, sa.select(*inner.c), SCHEMA).sort("doc_line_id")


class _Uploaded:
    """The uploaded attributes of billing rows, read from their files' payload chunks: which
    lines a chunk holds is read once per file (its `line` column only), and the last KEPT
    decoded chunks are kept."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.spans: dict[int, list[tuple[int, int, int]]] = {}  # file -> (chunk, lo, hi)
        self.decoded: OrderedDict[tuple[int, int], pl.DataFrame] = OrderedDict()

    def attached(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`rows` (with file_id, line) and ATTRIBUTES, in their order."""
        wanted = rows.select("file_id", "line").drop_nulls()
        found = [
            self._lines(file_id, part)
            for (file_id,), part in wanted.group_by("file_id", maintain_order=True)
        ]
        values = pl.concat(found) if found else _empty()
        return rows.join(values, on=["file_id", "line"], how="left", maintain_order="left")

    def _lines(self, file_id: int, wanted: pl.DataFrame) -> pl.DataFrame:
        if file_id not in self.spans:
            self.spans[file_id] = [
                (chunk, *_span(self._payload(file_id, chunk))) for chunk in self._chunks(file_id)
            ]
        lines = wanted["line"]
        parts = []
        for chunk, first, last in self.spans[file_id]:
            here = lines.filter(lines.is_between(first, last))
            if here.len():
                decoded = self._decoded(file_id, chunk)
                # The chunk is sorted by line: a binary search per wanted line, no join.
                at = decoded["line"].search_sorted(here).clip(0, decoded.height - 1)
                found = decoded[at]
                parts.append(found.filter(found["line"] == here))
        return pl.concat(parts) if parts else _empty()

    def _chunks(self, file_id: int) -> list[int]:
        p = t.stage_payloads
        query = sa.select(p.c.chunk).where(p.c.file_id == file_id).order_by(p.c.chunk)
        return list(self.conn.execute(query).scalars())

    def _payload(self, file_id: int, chunk: int) -> bytes:
        p = t.stage_payloads
        query = sa.select(p.c.payload).where((p.c.file_id == file_id) & (p.c.chunk == chunk))
        return bytes(self.conn.execute(query).scalar_one())

    def _decoded(self, file_id: int, chunk: int) -> pl.DataFrame:
        key = (file_id, chunk)
        if key in self.decoded:
            self.decoded.move_to_end(key)
            return self.decoded[key]
        if len(self.decoded) >= KEPT:
            self.decoded.popitem(last=False)
        found = (
            _attributes(self._payload(file_id, chunk))
            .with_columns(pl.lit(file_id, dtype=pl.Int64).alias("file_id"))
            .sort("line")
        )
        self.decoded[key] = found
        return found


def _span(payload: bytes) -> tuple[int, int]:
    lines = pl.read_ipc(io.BytesIO(payload), columns=["line"])["line"]
    return int(lines.min() or 0), int(lines.max() or -1)  # type: ignore[arg-type]


def _attributes(payload: bytes) -> pl.DataFrame:
    """line and ATTRIBUTES of a payload chunk (null where its file has no such column)."""
    present = pl.read_ipc_schema(io.BytesIO(payload))
    wanted = [name for name in ATTRIBUTES if name in present]
    frame = pl.read_ipc(io.BytesIO(payload), columns=["line", *wanted])
    return frame.select(
        pl.col("line").cast(pl.Int64),
        *(
            pl.col(name).cast(pl.String)
            if name in wanted
            else pl.lit(None, dtype=pl.String).alias(name)
            for name in ATTRIBUTES
        ),
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"line": pl.Int64, **dict.fromkeys(ATTRIBUTES, pl.String), "file_id": pl.Int64}
    )
