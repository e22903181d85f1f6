"""Contracts, line versions, their allocations and the lines touched since the last revenue run:
frames in and out. No calculation: the engine's results are stored as they come.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.store import schema as t
from revrec.store.bulk import among, analyze, insert_frame, read_frame

SCHEDULE_TYPE_PREFIX = "schedule_type:"


# The settings key that marks every line touched (a close: decision 96), instead of a row
# per line in dirty_lines.
EVERY_LINE = "every_line_touched"


def every_line_touched(conn: sa.Connection) -> bool:
    """Whether every line waits for the next revenue run (a period was opened since)."""
    s = t.settings
    return conn.execute(sa.select(s.c.key).where(s.c.key == EVERY_LINE)).first() is not None


def has_touched(conn: sa.Connection) -> bool:
    if every_line_touched(conn):
        return True
    return conn.execute(sa.select(t.dirty_lines.c.line_id).limit(1)).first() is not None


def most_are_touched(conn: sa.Connection) -> bool:
    """Whether the touched contracts are a large share of all: their rows are then read with
    whole tables, filtered here (a scan is cheaper than a lookup per line), else by index."""
    if every_line_touched(conn):
        return True
    analyze(conn, t.dirty_lines)  # its size swings from a few lines to every line
    touched = conn.execute(sa.select(sa.func.count()).select_from(t.dirty_lines)).scalar() or 0
    every = conn.execute(sa.select(sa.func.count()).select_from(t.contracts)).scalar() or 0
    return touched * 4 >= every


def touched_line_ids() -> sa.Select[Any]:
    """Every line of the contracts touched since the last run (a subquery, never a list)."""
    lv, d = t.line_versions, t.dirty_lines
    return sa.select(lv.c.line_id).where(lv.c.contract_id.in_(sa.select(d.c.contract_id)))


def of_touched(
    conn: sa.Connection,
    query: sa.Select[Any],
    line_id: sa.Column[Any],
    keep: pl.Series,
    *,
    whole: bool,
) -> pl.DataFrame:
    """The rows of `query` about these lines of the touched contracts."""
    if conn.execute(query.limit(1)).first() is None:
        return read_frame(conn, query.where(sa.false()))
    frame = read_frame(conn, query if whole else query.where(line_id.in_(touched_line_ids())))
    return frame.filter(pl.col("line_id").is_in(keep.implode()))


VERSION_COLUMNS = (
    "line_id", "version", "contract_id", "line_no", "item_code", "pob_template", "amount",
    "quantity_micro", "ssp_unit", "exclude", "residual", "start", "end", "effective_date",
    "modification_policy",
)  # fmt: skip


def touched_versions(conn: sa.Connection, *, whole: bool) -> pl.DataFrame:
    """Every version of every line of the touched contracts, with its contract's currency and
    whether it is billing-driven; a billing-driven line's schedule_type apart from its template."""
    lv, c, d = t.line_versions, t.contracts, t.dirty_lines
    columns = [lv.c[name] for name in VERSION_COLUMNS]
    contract = (c.c.contract_id, c.c.currency, c.c.billing_driven)
    every = every_line_touched(conn)
    if whole or every:
        versions = read_frame(conn, sa.select(*columns))
        if not every:
            touched = read_frame(conn, sa.select(d.c.contract_id))
            versions = versions.join(touched, on="contract_id", how="semi")
        versions = versions.join(
            read_frame(conn, sa.select(*contract)), on="contract_id", how="inner"
        )
    else:
        versions = read_frame(
            conn,
            sa.select(*columns, *contract[1:])
            .join(c, c.c.contract_id == lv.c.contract_id)
            .where(lv.c.contract_id.in_(sa.select(d.c.contract_id))),
        )
    typed = versions.with_columns(pl.col("start", "end", "effective_date").cast(pl.Date))
    return schedule_type_apart(typed)


def schedule_type_apart(frame: pl.DataFrame) -> pl.DataFrame:
    prefixed = pl.col("pob_template").str.starts_with(SCHEDULE_TYPE_PREFIX)
    return frame.with_columns(
        pl.when(prefixed).then(None).otherwise(pl.col("pob_template")).alias("pob_template"),
        pl.when(prefixed)
        .then(pl.col("pob_template").str.slice(len(SCHEDULE_TYPE_PREFIX)))
        .alias("schedule_type"),
    )


def stored_allocations(conn: sa.Connection, line_ids: pl.Series, *, whole: bool) -> pl.DataFrame:
    """line_id, version, allocated of every stored version of these lines (`whole`: they are
    most of the store's, read with the whole table and filtered here)."""
    a = t.allocations
    query = sa.select(a.c.line_id, a.c.version, a.c.allocated)
    schema = {"line_id": pl.String, "version": pl.Int64, "allocated": pl.Int64}
    if whole:
        found = read_frame(conn, query, schema)
        return found.filter(pl.col("line_id").is_in(line_ids.implode()))
    return read_frame(conn, query.where(among(conn, a.c.line_id, line_ids.to_list())), schema)


def save_allocations(conn: sa.Connection, allocated: pl.DataFrame) -> None:
    """Store (line_id, version, allocated); only the (line, version) pairs given are replaced:
    another version of a line keeps the allocation it had, which the prospective chain needs."""
    a = t.allocations
    pairs = allocated.select("line_id", "version", "allocated")
    if conn.execute(sa.select(a.c.line_id).limit(1)).first() is not None:
        for version in pairs["version"].unique().to_list():
            lines = pairs.filter(pl.col("version") == version)["line_id"].to_list()
            conn.execute(
                a.delete().where(among(conn, a.c.line_id, lines) & (a.c.version == version))
            )
    insert_frame(conn, a, pairs)


def clear_touched(conn: sa.Connection) -> None:
    conn.execute(t.dirty_lines.delete())
    conn.execute(t.settings.delete().where(t.settings.c.key == EVERY_LINE))


def owners_frame(conn: sa.Connection, contract_ids: list[str]) -> pl.DataFrame:
    """contract_id, _customer, _currency of the stored contracts among these."""
    c = t.contracts
    query = sa.select(
        c.c.contract_id, c.c.customer_id.label("_customer"), c.c.currency.label("_currency")
    ).where(among(conn, c.c.contract_id, contract_ids))
    schema = {"contract_id": pl.String, "_customer": pl.String, "_currency": pl.String}
    return read_frame(conn, query, schema)


def line_owners(conn: sa.Connection, line_ids: list[str]) -> pl.DataFrame:
    """line_id, _customer, _currency: the customer and currency of these stored lines'
    contracts."""
    lv, c = t.line_versions, t.contracts
    query = (
        sa.select(lv.c.line_id, c.c.customer_id.label("_customer"), c.c.currency.label("_currency"))
        .distinct()
        .join(c, c.c.contract_id == lv.c.contract_id)
        .where(among(conn, lv.c.line_id, line_ids))
    )
    schema = {"line_id": pl.String, "_customer": pl.String, "_currency": pl.String}
    return read_frame(conn, query, schema)


def newest_versions(conn: sa.Connection, line_ids: list[str]) -> pl.DataFrame:
    """line_id, _version (the newest), _stored (its content hash) of the stored lines among
    these."""
    lv = t.line_versions
    newest = (
        sa.select(lv.c.line_id, sa.func.max(lv.c.version).label("version"))
        .where(among(conn, lv.c.line_id, line_ids))
        .group_by(lv.c.line_id)
        .subquery()
    )
    query = sa.select(
        lv.c.line_id, lv.c.version.label("_version"), lv.c.content_hash.label("_stored")
    ).join(newest, (newest.c.line_id == lv.c.line_id) & (newest.c.version == lv.c.version))
    schema = {"line_id": pl.String, "_version": pl.Int64, "_stored": pl.String}
    return read_frame(conn, query, schema)


def add_new_contracts(conn: sa.Connection, owners: pl.DataFrame) -> None:
    """New (not billing-driven) contracts: contract_id, customer_id, currency."""
    insert_frame(
        conn, t.contracts, owners.with_columns(pl.lit(value=False).alias("billing_driven"))
    )


def add_versions(conn: sa.Connection, versions: pl.DataFrame) -> None:
    if "attributes" not in versions.columns:
        versions = versions.with_columns(pl.lit("{}").alias("attributes"))
    insert_frame(conn, t.line_versions, versions.with_columns(pl.col("attributes").fill_null("{}")))


def existing_lines(conn: sa.Connection, line_ids: Iterable[str]) -> pl.Series:
    """Those of these line ids that the store has."""
    lv = t.line_versions
    found = read_frame(
        conn,
        sa.select(lv.c.line_id).distinct().where(among(conn, lv.c.line_id, line_ids)),
        {"line_id": pl.String},
    )
    return found["line_id"]


def contracts_of(conn: sa.Connection, line_ids: list[str]) -> dict[str, str]:
    """line_id -> contract_id of the stored lines among these."""
    lv = t.line_versions
    query = sa.select(lv.c.line_id, lv.c.contract_id).where(among(conn, lv.c.line_id, line_ids))
    return {r.line_id: r.contract_id for r in conn.execute(query)}


def existing_contracts(conn: sa.Connection, contract_ids: list[str]) -> pl.Series:
    c = t.contracts
    found = [
        r.contract_id
        for r in conn.execute(
            sa.select(c.c.contract_id).where(among(conn, c.c.contract_id, contract_ids))
        )
    ]
    return pl.Series(found, dtype=pl.String)


def mark_touched(conn: sa.Connection, pairs: pl.DataFrame) -> None:
    """These lines (line_id, contract_id) are recomputed by the next revenue run."""
    if pairs.height == 0:
        return
    d = t.dirty_lines
    if conn.execute(sa.select(d.c.line_id).limit(1)).first() is not None:
        conn.execute(d.delete().where(among(conn, d.c.line_id, pairs["line_id"].to_list())))
    insert_frame(conn, d, pairs.unique(subset="line_id"))


def touch_every_line(conn: sa.Connection) -> None:
    """Every line may recognize revenue in a newly opened period: all are recomputed. One
    mark, not a row per line (decision 96)."""
    if not every_line_touched(conn):
        conn.execute(t.settings.insert().values(key=EVERY_LINE, value="1"))


def touched_billings(conn: sa.Connection, keep: pl.Series, *, whole: bool) -> pl.DataFrame:
    """line_id, doc_line_id, doc_type, doc_date, period, amount (signed) of the billings of these
    touched lines."""
    b = t.billings
    query = sa.select(
        b.c.line_id, b.c.doc_line_id, b.c.doc_type, b.c.doc_date, b.c.period, b.c.amount
    )
    return of_touched(conn, query, b.c.line_id, keep, whole=whole)


def touched_events(conn: sa.Connection, keep: pl.Series, *, whole: bool) -> pl.DataFrame:
    """line_id, event_date, seq, action, kind, value_micro of the events of these lines."""
    e = t.events
    query = sa.select(e.c.line_id, e.c.event_date, e.c.seq, e.c.action, e.c.kind, e.c.value_micro)
    return of_touched(conn, query, e.c.line_id, keep, whole=whole)


def touched_costs(conn: sa.Connection, contract_ids: list[str]) -> pl.DataFrame:
    """The contract costs of these contracts (cost_id, line_id, contract_id, currency, amount,
    period, cost_date, amortization, amortization_months, expense_immediately)."""
    k = t.costs
    query = sa.select(
        k.c.cost_id, k.c.line_id, k.c.contract_id, k.c.currency, k.c.amount, k.c.period,
        k.c.cost_date, k.c.amortization, k.c.amortization_months, k.c.expense_immediately,
    ).where(among(conn, k.c.contract_id, contract_ids))  # fmt: skip
    if conn.execute(sa.select(k.c.cost_id).limit(1)).first() is None:
        query = query.where(sa.false())
    return read_frame(conn, query).with_columns(pl.col("cost_date").cast(pl.Date))


def touch_contracts(conn: sa.Connection, contract_ids: list[str]) -> None:
    """Every line of these contracts is touched (a cost arrived on the contract)."""
    if not contract_ids:
        return
    lv = t.line_versions
    pairs = read_frame(
        conn,
        sa.select(lv.c.line_id, lv.c.contract_id)
        .distinct()
        .where(among(conn, lv.c.contract_id, contract_ids)),
    )
    mark_touched(conn, pairs)


def touched_count(conn: sa.Connection) -> int:
    """How many lines wait for the next revenue run."""
    if every_line_touched(conn):
        every = sa.select(sa.func.count(sa.distinct(t.line_versions.c.line_id)))
        return int(conn.execute(every).scalar() or 0)
    d = t.dirty_lines
    return int(conn.execute(sa.select(sa.func.count()).select_from(d)).scalar() or 0)
