"""Moving frames in and out of tables in batches (never one statement per row from our code).

Everything goes through the DBAPI connection underneath SQLAlchemy's, so it shares its
transaction: SQLite gets executemany of tuples, PostgreSQL gets COPY (both ways). A long list of
keys travels as one JSON parameter (`among`), never as an IN list of thousands of parameters.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

BATCH = 100_000
# SQLite's page cache for a bulk statement (KiB; the default is 2 MB): big indexes stay in memory.
SQLITE_CACHE_KIB = 256_000


def _prepared(frame: pl.DataFrame, table: sa.Table) -> pl.DataFrame:
    columns = [c for c in frame.columns if c in table.c]
    return frame.select(columns)


def insert_frame(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> int:
    """Insert every row of `frame` (columns named as the table's; others are ignored)."""
    if frame.height == 0:
        return 0
    frame = _prepared(frame, table)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _copy(conn, table, frame)
    elif dialect == "sqlite":
        _executemany(conn, table, frame)
    else:  # any other database SQLAlchemy speaks: portable, slower
        for offset in range(0, frame.height, BATCH):
            conn.execute(table.insert(), frame.slice(offset, BATCH).to_dicts())
    return frame.height


def _in_key_order(frame: pl.DataFrame, table: sa.Table) -> pl.DataFrame:
    """Rows sorted by the table's primary key (when the frame has it): SQLite then appends to the
    key's index instead of inserting at random places in it (much faster for big batches)."""
    key = [c.name for c in table.primary_key.columns]
    if not key or any(name not in frame.columns for name in key):
        return frame
    return frame.sort(key)


def _executemany(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    frame = _in_key_order(frame, table)
    # SQLite stores SQLAlchemy's Date as 'YYYY-MM-DD' text and Boolean as 0/1.
    frame = frame.with_columns(
        [pl.col(n).dt.strftime("%Y-%m-%d") for n, d in frame.schema.items() if d == pl.Date]
        + [pl.col(n).cast(pl.Int8) for n, d in frame.schema.items() if d == pl.Boolean]
    )
    # A column with one value for every row is bound once per statement, not once per row.
    fixed = [n for n in frame.columns if frame.height >= BIG and _constant(frame[n])]
    varying = [n for n in frame.columns if n not in fixed]
    if not varying:
        varying.append(fixed.pop())
    names = ", ".join(f'"{c}"' for c in [*fixed, *varying])
    # Several rows a statement: SQLite then steps once per group rather than once per row.
    # 999 is the smallest limit on bound parameters an SQLite build may have.
    width = len(varying)
    group = max(1, (999 - len(fixed)) // width)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES '  # noqa: S608 - our own names
    many = sql + ", ".join(_numbered(len(fixed), width, r) for r in range(group))
    one = sql + _numbered(len(fixed), width, 0)
    constants = [frame[n][0] for n in fixed]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if frame.height > BATCH:
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        for offset in range(0, frame.height, BATCH):
            # Column lists interleaved by slice assignment: cheaper than a tuple per row.
            columns = [frame[n].slice(offset, BATCH).to_list() for n in varying]
            height = len(columns[0])
            whole = height - height % group
            params = []
            for start in range(0, whole, group):
                values: list[Any] = [None] * (group * width)
                for index, column in enumerate(columns):
                    values[index::width] = column[start : start + group]
                params.append(constants + values)
            if params:
                cursor.executemany(many, params)
            if whole < height:
                rest = zip(*(c[whole:] for c in columns), strict=True)
                cursor.executemany(one, [constants + list(r) for r in rest])
    finally:
        cursor.close()


BIG = 1_000  # below this many rows, statements are not worth shaping


def _constant(column: pl.Series) -> bool:
    nulls = column.null_count()
    if nulls:
        return nulls == column.len()
    return bool((column == column[0]).all())


def _numbered(fixed: int, width: int, row: int) -> str:
    """One row of VALUES: ?1..?fixed are the constants, then this row's own parameters."""
    first = fixed + row * width + 1
    marks = [f"?{i}" for i in range(1, fixed + 1)] + [f"?{first + j}" for j in range(width)]
    return "(" + ", ".join(marks) + ")"


def _copy(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    # COPY's text format: no quoting to write or parse (the JSON texts are full of quotes),
    # only backslash, tab and line breaks escaped.
    frame = frame.with_columns(
        pl.col(n)
        .str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all("\t", "\\t", literal=True)
        .str.replace_all("\n", "\\n", literal=True)
        .str.replace_all("\r", "\\r", literal=True)
        for n, d in frame.schema.items()
        if d == pl.String
    )
    names = ", ".join(f'"{c}"' for c in frame.columns)
    sql = f'COPY "{table.name}" ({names}) FROM STDIN'
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql) as copy:
            for offset in range(0, frame.height, BATCH):
                buffer = io.BytesIO()
                frame.slice(offset, BATCH).write_csv(
                    buffer,
                    include_header=False,
                    separator="\t",
                    quote_style="never",
                    null_value="\\N",
                    date_format="%Y-%m-%d",
                )
                copy.write(buffer.getvalue())
    finally:
        cursor.close()
    if frame.height >= BATCH:
        analyze(conn, table)


def analyze(conn: sa.Connection, *tables: sa.Table) -> None:
    """PostgreSQL: refresh the statistics of tables that just took many rows, so the queries
    that follow in the same transaction are planned for their real size (a fresh table is
    otherwise guessed small, and its joins spill to disk). SQLite plans well without."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f'ANALYZE "{table.name}"')


def among(conn: sa.Connection, column: sa.ColumnElement[Any], values: Iterable[Any]) -> Any:
    """`column IN (values)` with the values sent as one JSON array: a table-valued function
    unpacks it in the database (SQLite json_each, PostgreSQL jsonb_array_elements_text)."""
    found = list(values)
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        return column.in_(found)
    document = sa.bindparam(None, json.dumps(found, default=str), type_=sa.Text, unique=True)
    if dialect == "sqlite":
        unpacked = sa.func.json_each(document).table_valued("value")
        return column.in_(sa.select(unpacked.c.value))
    elements = sa.func.jsonb_array_elements_text(sa.cast(document, postgresql.JSONB))
    unpacked = elements.table_valued("value")
    return column.in_(sa.select(sa.cast(unpacked.c.value, column.type)))


def id_ranges(ids: pl.Series) -> list[tuple[int, int]]:
    """Integer ids as runs [first, last] of consecutive values (sorted, duplicates dropped)."""
    values = ids.cast(pl.Int64).unique().sort()
    if values.len() == 0:
        return []
    run = (values.diff().fill_null(1) != 1).cum_sum().alias("run")
    runs = pl.DataFrame({"id": values, "run": run}).group_by("run", maintain_order=True)
    found = runs.agg(pl.col("id").first().alias("lo"), pl.col("id").last().alias("hi"))
    return list(zip(found["lo"].to_list(), found["hi"].to_list(), strict=True))


RANGES = 1_000  # up to this many runs, one statement a run beats one lookup an id


def for_ids(conn: sa.Connection, column: sa.ColumnElement[Any], ids: pl.Series) -> Iterator[Any]:
    """Conditions that together select the rows with these integer ids: one `BETWEEN` a run
    of consecutive ids (a range scan of the key) when the ids come in few runs, as staged rows
    processed together do; else one `among` condition a batch."""
    ranges = id_ranges(ids)
    if len(ranges) <= RANGES:
        for lo, hi in ranges:
            yield column.between(lo, hi)
        return
    values = ids.unique().sort()
    for offset in range(0, values.len(), BATCH):
        yield among(conn, column, values.slice(offset, BATCH).to_list())


def _polars_type(column_type: sa.types.TypeEngine[Any]) -> Any:
    if isinstance(column_type, sa.Boolean):
        return pl.Boolean
    if isinstance(column_type, sa.Integer):
        return pl.Int64
    if isinstance(column_type, sa.DateTime):
        return None  # left to inference: rare in big reads
    if isinstance(column_type, sa.Date):
        return pl.Date
    if isinstance(column_type, sa.String | sa.Text):
        return pl.String
    return None


def read_frame(
    conn: sa.Connection, query: sa.Select[Any], schema: dict[str, Any] | None = None
) -> pl.DataFrame:
    """A query's rows as a frame (column names from the query; types from `schema`, else from
    the query's column types). Big reads skip SQLAlchemy's per-value processing: PostgreSQL
    sends CSV through COPY, SQLite sends each column as a JSON array."""
    given = schema or {}
    types = {c.name: given.get(c.name) or _polars_type(c.type) for c in query.selected_columns}
    if conn.dialect.name == "postgresql" and all(v is not None for v in types.values()):
        return _copy_out(conn, query, types)
    if conn.dialect.name == "sqlite" and all(v is not None for v in types.values()):
        # Columns written as JSON arrays by the database are cheaper than a tuple per row,
        # unless they hold long texts (the staged rows' data), which the DBAPI hands over as
        # they are. Rows in the query's order, if it has one, only come from the DBAPI.
        long_text = any(isinstance(c.type, sa.Text) for c in query.selected_columns)
        ordered = bool(query._order_by_clauses)  # noqa: SLF001 - no public way to ask
        if long_text or ordered or len(types) > 100:
            return _raw_out(conn, query, types)
        return _json_out(conn, query, types)
    result = conn.execute(query)
    names = list(result.keys())
    rows = result.fetchall()
    if schema is None:
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    return pl.DataFrame(rows, schema={n: schema.get(n) for n in names}, orient="row")


def _raw_out(conn: sa.Connection, query: sa.Select[Any], types: dict[str, Any]) -> pl.DataFrame:
    """SQLite: the DBAPI's rows as they are (dates as 'YYYY-MM-DD' text, booleans as 0/1),
    typed by Polars rather than value by value by SQLAlchemy."""
    result = conn.execute(query)
    names = list(result.keys())
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    raw = {n: _sqlite_type(types[n]) for n in names}
    return pl.DataFrame(rows, schema=raw, orient="row").with_columns(
        [pl.col(n).str.to_date("%Y-%m-%d") for n in names if types[n] == pl.Date]
        + [pl.col(n).cast(pl.Boolean) for n in names if types[n] == pl.Boolean]
    )


def _sqlite_type(dtype: Any) -> Any:
    return pl.String if dtype == pl.Date else pl.Int64 if dtype == pl.Boolean else dtype


def _copy_out(conn: sa.Connection, query: sa.Select[Any], types: dict[str, Any]) -> pl.DataFrame:
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    # CSV: NULL is an empty field, an empty text a quoted one (""); Polars reads them so.
    sql = f"COPY ({compiled}) TO STDOUT (FORMAT csv)"
    buffer = io.BytesIO()
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql, compiled.params) as copy:
            for block in copy:
                buffer.write(block)
    finally:
        cursor.close()
    names = list(types)
    text = {n: (pl.String if t == pl.Boolean else t) for n, t in types.items()}
    if buffer.tell() == 0:
        return pl.DataFrame(schema=types)
    frame = pl.read_csv(
        buffer.getvalue(),
        has_header=False,
        new_columns=names,
        schema=text,
    )
    return frame.with_columns(
        (pl.col(n) == "t").alias(n) for n, t in types.items() if t == pl.Boolean
    )


def _json_out(conn: sa.Connection, query: sa.Select[Any], types: dict[str, Any]) -> pl.DataFrame:
    """SQLite: each column as one JSON array (json_group_array), decoded by Polars: one scan,
    no Python object per value, NULL and empty text kept apart. Row order is not kept."""
    rows = query.subquery()
    arrays = conn.execute(sa.select(*(sa.func.json_group_array(c) for c in rows.c))).one()
    if arrays[0] == "[]":
        return pl.DataFrame(schema=types)
    # One frame of the texts, decoded by one select: Polars decodes the columns in parallel.
    texts = pl.DataFrame({name: [text] for name, text in zip(types, arrays, strict=True)})
    frame = texts.select(
        pl.col(name).str.json_decode(pl.List(_sqlite_type(dtype))) for name, dtype in types.items()
    ).explode(list(types))
    return frame.with_columns(
        [pl.col(n).str.to_date("%Y-%m-%d") for n, t in types.items() if t == pl.Date]
        + [pl.col(n).cast(pl.Boolean) for n, t in types.items() if t == pl.Boolean]
    )


@contextmanager
def scratch(conn: sa.Connection, frame: pl.DataFrame, name: str = "scratch") -> Iterator[sa.Table]:
    """`frame` in a temporary table, to fill several tables from it with INSERT ... SELECT: the
    rows cross from Python to the database once instead of once per table. Dropped on the way
    out; one left by a failed run (SQLite runs DDL outside the transaction) is dropped first."""
    table = sa.Table(
        name,
        sa.MetaData(),
        *(sa.Column(n, _sql_type(d)) for n, d in frame.schema.items()),
        prefixes=["TEMPORARY"],
    )
    conn.execute(sa.schema.DropTable(table, if_exists=True))
    table.create(conn)
    insert_frame(conn, table, frame)
    yield table
    table.drop(conn)


def _sql_type(dtype: Any) -> sa.types.TypeEngine[Any]:
    if dtype == pl.Boolean:
        return sa.Boolean()
    if dtype.is_integer():
        return sa.BigInteger()
    if dtype == pl.Date:
        return sa.Date()
    return sa.Text()


def stored_hashes(conn: sa.Connection, table: sa.Table, key: str, keys: list[str]) -> pl.DataFrame:
    """`key`, _stored (its content hash) of the rows of `table` whose key is among these; an
    empty table is not searched (a lookup of a million keys in it is skipped)."""
    column = table.c[key]
    some = conn.execute(sa.select(column).limit(1)).first() is not None
    return read_frame(
        conn,
        sa.select(column, table.c.content_hash.label("_stored")).where(
            among(conn, column, keys) if some else sa.false()
        ),
        {key: pl.String, "_stored": pl.String},
    )


CHUNK = 10_000  # rows a frame of `read_chunks`


def bytewise(conn: sa.Connection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A text column ordered by its bytes (as Polars sorts): SQLite's default; PostgreSQL's
    "C" collation, whatever the database's own."""
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def read_chunks(
    conn: sa.Connection, query: sa.Select[Any], *, chunk: int = CHUNK
) -> Iterator[pl.DataFrame]:
    """A query's rows as frames of at most `chunk` rows, fetched from one cursor as they are
    read (PostgreSQL: a server-side cursor; SQLite steps the statement): one query and one sort
    for any number of rows, in flat memory. At least one frame (empty: the query's columns)."""
    types = {c.name: _polars_type(c.type) for c in query.selected_columns}
    result = conn.execute(query.execution_options(stream_results=True, yield_per=chunk))
    found = False
    try:
        for part in result.partitions():
            found = True
            yield pl.DataFrame([tuple(r) for r in part], schema=types, orient="row")
    finally:
        result.close()
    if not found:
        yield pl.DataFrame(schema=types)
