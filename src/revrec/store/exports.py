"""The legacy schedules export's input (SPEC §10): every billing of a billing-driven line, with
its line's service dates and template, and the attributes it was uploaded with (origin,
invoice_state, invoice_origin, accounting_code).

Processing keeps it as it accepts billings (`add`): per batch, chunks of Arrow IPC sorted by
doc_line_id in the table legacy_rows, written once (a stored billing, its billing-driven line
and its upload never change). The export reads them back a chunk at a time (`pages`), in the
order they were written: no join, no sort of the whole table, no Python object per value, and
memory of one chunk (decision 93). A store that had billings before the table existed is
filled once from the billings, lines and stage payloads (`ensure`).

Reads and writes only; no rules.
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
from revrec.store.bulk import among, read_frame
from revrec.store.lines import schedule_type_apart

CHUNK = 100_000  # rows a chunk of legacy_rows
PENDING = "legacy_rows_pending"  # set by migration 0009 in a store that had billings
ATTRIBUTES = ("origin", "invoice_state", "invoice_origin", "accounting_code")
# A kept row: the billing, its line's (start, end exclusive, item_code, pob_template as the
# line stores it: `schedule_type:<name>` for a line recognized by its schedule type) and the
# attributes as uploaded (null when not given).
ROW_SCHEMA: dict[str, Any] = {
    "revenue_schedule_id": pl.Int64,  # decision 69; null in rows kept before it was
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
    **dict.fromkeys(ATTRIBUTES, pl.String),
}
# The columns a billing has only for the export (store.billings.add keeps them here only).
EXPORT_ONLY = ("revenue_schedule_id", *ATTRIBUTES)
# What a page of `pages` has: the billing, the line, the schedule type apart, the attributes.
_PAGE_COLUMNS = (*(n for n in ROW_SCHEMA if n not in ATTRIBUTES), "schedule_type", *ATTRIBUTES)
_EVERY_TYPE = {"INV", "IVC", "CM", "CMC"}
LINE_SCHEMA = {"line_id": pl.String, "start": pl.Date, "end": pl.Date, "item_code": pl.String,
               "pob_template": pl.String}  # fmt: skip


def add(conn: sa.Connection, rows: pl.DataFrame) -> None:
    """Keep these export rows (ROW_SCHEMA; missing attributes are null), in chunks sorted by
    doc_line_id."""
    if rows.height == 0:
        return
    frame = rows.select(
        pl.col(n).cast(d) if n in rows.columns else pl.lit(None, dtype=d).alias(n)
        for n, d in ROW_SCHEMA.items()
    ).sort("doc_line_id")
    chunks = []
    for offset in range(0, frame.height, CHUNK):
        part = frame.slice(offset, CHUNK)
        buffer = io.BytesIO()
        part.write_ipc(buffer, compression="zstd")
        chunks.append({"rows": part.height, "payload": buffer.getvalue()})
    conn.execute(t.legacy_rows.insert(), chunks)


def driven_lines(conn: sa.Connection, line_ids: Sequence[str]) -> pl.DataFrame:
    """LINE_SCHEMA of the billing-driven lines among these (a billing-driven line has one
    version: its first billing made it)."""
    lv, c = t.line_versions, t.contracts
    query = (
        sa.select(lv.c.line_id, lv.c.start, lv.c.end, lv.c.item_code, lv.c.pob_template)
        .join(c, (c.c.contract_id == lv.c.contract_id) & c.c.billing_driven.is_(True))
        .where((lv.c.version == 1) & among(conn, lv.c.line_id, line_ids))
    )
    return read_frame(conn, query, LINE_SCHEMA)


def ensure(conn: sa.Connection) -> None:
    """Fill legacy_rows from the billings, lines and stage payloads, once, in a store whose
    billings came before the table (migration 0009 marked it); otherwise nothing."""
    s = t.settings
    if conn.execute(sa.select(s.c.key).where(s.c.key == PENDING)).first() is None:
        return
    conn.execute(t.legacy_rows.delete())
    uploaded = _Uploaded(conn)
    where: sa.ColumnElement[bool] = sa.true()
    after: str | None = None
    while True:
        found = _page(conn, where, after, PAGE)
        if found.height == 0:
            break
        after = found["doc_line_id"][-1]
        add(conn, uploaded.attached(found))
        if found.height < PAGE:
            break
    conn.execute(s.delete().where(s.c.key == PENDING))


def snapshot(conn: sa.Connection) -> None:
    """Let every read that follows on `conn` see one state of the store, however many chunks
    they take: a read-only REPEATABLE READ transaction on PostgreSQL, a read transaction on
    SQLite (a job committing meanwhile is not half in the export). Call it first."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")  # the driver opens none for reads


def count(
    conn: sa.Connection, doc_types: Sequence[str], first: date | None, last: date | None
) -> int:
    """How many kept rows have these doc_types and a doc_date in [first, last] (None:
    unbounded)."""
    r = t.legacy_rows
    if _everything(doc_types, first, last):
        return int(conn.execute(sa.select(sa.func.sum(r.c.rows))).scalar() or 0)
    found = 0
    for chunk in _chunks(conn):
        frame = pl.read_ipc(io.BytesIO(_payload(conn, chunk)), columns=["doc_type", "doc_date"])
        found += frame.filter(_where(doc_types, first, last)).height
    return found


def pages(
    conn: sa.Connection, doc_types: Sequence[str], first: date | None, last: date | None
) -> Iterator[pl.DataFrame]:
    """The kept rows with these doc_types and a doc_date in [first, last] (None: unbounded), a
    chunk at a time in the order they were kept, each by doc_line_id: doc_line_id, doc_type,
    doc_number, doc_date, customer_id, currency, amount (signed), start, end (exclusive),
    item_code, pob_template, schedule_type, then ATTRIBUTES (null when not given), after
    revenue_schedule_id (null where processing did not keep it)."""
    for chunk in _chunks(conn):
        frame = pl.read_ipc(io.BytesIO(_payload(conn, chunk)))
        if not _everything(doc_types, first, last):
            frame = frame.filter(_where(doc_types, first, last))
        if frame.height:
            yield schedule_type_apart(frame).select(*_PAGE_COLUMNS)


def _everything(doc_types: Sequence[str], first: date | None, last: date | None) -> bool:
    return set(doc_types) >= _EVERY_TYPE and first is None and last is None


def _where(doc_types: Sequence[str], first: date | None, last: date | None) -> pl.Expr:
    condition = pl.col("doc_type").is_in(list(doc_types))
    if first is not None:
        condition &= pl.col("doc_date") >= first
    if last is not None:
        condition &= pl.col("doc_date") <= last
    return condition


def _chunks(conn: sa.Connection) -> list[int]:
    r = t.legacy_rows
    return list(conn.execute(sa.select(r.c.chunk).order_by(r.c.chunk)).scalars())


def _payload(conn: sa.Connection, chunk: int) -> bytes:
    r = t.legacy_rows
    return bytes(conn.execute(sa.select(r.c.payload).where(r.c.chunk == chunk)).scalar_one())


# Filling legacy_rows in a store that had billings before it (`ensure`): the billings of
# billing-driven lines joined with their lines, read a page at a time by key, and their uploaded
# attributes read from the stage payloads.
PAGE = 50_000  # billing lines a page
# Decoded payload chunks kept (each up to payloads.CHUNK rows of ATTRIBUTES): a file of up to
# KEPT x 250,000 rows is decoded once; a bigger one again for the pages that need it.
KEPT = 8
SCHEMA = {
    **{n: d for n, d in ROW_SCHEMA.items() if n not in EXPORT_ONLY},
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
