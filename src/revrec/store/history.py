"""The subledger as it stood at the end of a period: every input the engine reads, of every
contract, as processed through that period (each row records the period it was processed in:
late rows carry the period that was open). A closed period's reports are recomputed from
these, so later inputs cannot change them (decision 59).

Frames out, no calculation.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.store import schema as t
from revrec.store.bulk import among, read_frame
from revrec.store.lines import VERSION_COLUMNS, schedule_type_apart

Contracts = list[str] | None  # the contracts a read is about; None: every one


def _contract_in(conn: sa.Connection, column: Any, contracts: Contracts) -> Any:
    return sa.true() if contracts is None else among(conn, column, contracts)


def _line_in(conn: sa.Connection, line_id: Any, contracts: Contracts) -> Any:
    """The lines of these contracts (a subquery), or every line."""
    if contracts is None:
        return sa.true()
    lv = t.line_versions
    return line_id.in_(sa.select(lv.c.line_id).where(among(conn, lv.c.contract_id, contracts)))


def _cost_in(conn: sa.Connection, cost_id: Any, contracts: Contracts) -> Any:
    if contracts is None:
        return sa.true()
    k = t.costs
    return cost_id.in_(sa.select(k.c.cost_id).where(among(conn, k.c.contract_id, contracts)))


def versions_through(
    conn: sa.Connection, through: str, contracts: Contracts = None
) -> pl.DataFrame:
    """Every version of every line (of these contracts) processed through the period, with its
    contract's currency and whether it is billing-driven (the columns of
    `lines.touched_versions`)."""
    lv, c = t.line_versions, t.contracts
    columns = [lv.c[name] for name in VERSION_COLUMNS]
    mine = (lv.c.period <= through) & _contract_in(conn, lv.c.contract_id, contracts)
    owners = sa.select(c.c.contract_id, c.c.currency, c.c.billing_driven).where(
        _contract_in(conn, c.c.contract_id, contracts)
    )
    versions = read_frame(conn, sa.select(*columns).where(mine)).join(
        read_frame(conn, owners),
        on="contract_id",
        how="inner",
    )
    typed = versions.with_columns(pl.col("start", "end", "effective_date").cast(pl.Date))
    return schedule_type_apart(typed)


def line_facts(
    conn: sa.Connection, through: str, contracts: Contracts = None, *, attributes: bool = False
) -> pl.DataFrame:
    """What reports filter and group lines by, from each line's newest version through the
    period: line_id, contract_id, currency, customer_id, item_code, pob_template (null for a
    billing-driven line, `schedule_type` then), and attributes (JSON text) when asked: a long
    text column makes the read about twice as slow."""
    lv, c = t.line_versions, t.contracts
    newest = (
        sa.select(lv.c.line_id, sa.func.max(lv.c.version).label("version"))
        .where((lv.c.period <= through) & _contract_in(conn, lv.c.contract_id, contracts))
        .group_by(lv.c.line_id)
        .subquery()
    )
    query = (
        sa.select(
            lv.c.line_id,
            lv.c.contract_id,
            c.c.currency,
            c.c.customer_id,
            lv.c.item_code,
            lv.c.pob_template,
            *([lv.c.attributes] if attributes else []),
        )
        .join(newest, (newest.c.line_id == lv.c.line_id) & (newest.c.version == lv.c.version))
        .join(c, c.c.contract_id == lv.c.contract_id)
    )
    facts = read_frame(conn, query)
    return schedule_type_apart(facts)


def customers(conn: sa.Connection, contracts: Contracts = None) -> pl.DataFrame:
    """contract_id, customer_id of every contract (of these)."""
    c = t.contracts
    query = sa.select(c.c.contract_id, c.c.customer_id).where(
        _contract_in(conn, c.c.contract_id, contracts)
    )
    return read_frame(conn, query, {"contract_id": pl.String, "customer_id": pl.String})


def allocations(conn: sa.Connection, contracts: Contracts = None) -> pl.DataFrame:
    """line_id, version, allocated of every stored allocation (each version keeps the one it
    had when it was the line's newest: the prospective chain reads them)."""
    a = t.allocations
    schema = {"line_id": pl.String, "version": pl.Int64, "allocated": pl.Int64}
    query = sa.select(a.c.line_id, a.c.version, a.c.allocated).where(
        _line_in(conn, a.c.line_id, contracts)
    )
    return read_frame(conn, query, schema)


def billings_through(
    conn: sa.Connection, through: str, contracts: Contracts = None
) -> pl.DataFrame:
    """line_id, doc_line_id, doc_type, doc_date, period, amount of the billings processed
    through the period."""
    b = t.billings
    query = sa.select(
        b.c.line_id, b.c.doc_line_id, b.c.doc_type, b.c.doc_date, b.c.period, b.c.amount
    ).where((b.c.period <= through) & _line_in(conn, b.c.line_id, contracts))
    return read_frame(conn, query).with_columns(pl.col("doc_date").cast(pl.Date))


def events_through(conn: sa.Connection, through: str, contracts: Contracts = None) -> pl.DataFrame:
    """line_id, event_date, seq, action, kind, value_micro of the events processed through it."""
    e = t.events
    query = sa.select(
        e.c.line_id, e.c.event_date, e.c.seq, e.c.action, e.c.kind, e.c.value_micro
    ).where((e.c.period <= through) & _line_in(conn, e.c.line_id, contracts))
    return read_frame(conn, query).with_columns(pl.col("event_date").cast(pl.Date))


def costs_through(conn: sa.Connection, through: str, contracts: Contracts = None) -> pl.DataFrame:
    """The contract costs processed through the period (the columns of `lines.touched_costs`)."""
    k = t.costs
    query = sa.select(
        k.c.cost_id, k.c.line_id, k.c.contract_id, k.c.currency, k.c.amount, k.c.period,
        k.c.cost_date, k.c.amortization, k.c.amortization_months, k.c.expense_immediately,
    ).where((k.c.period <= through) & _contract_in(conn, k.c.contract_id, contracts))  # fmt: skip
    return read_frame(conn, query).with_columns(pl.col("cost_date").cast(pl.Date))


def postings_through(
    conn: sa.Connection, book: str, through: str, contracts: Contracts = None
) -> pl.DataFrame:
    """book, line_id, period ('YYYY-MM'), amount: a book's revenue postings through a period."""
    p = t.postings
    query = sa.select(p.c.book, p.c.line_id, p.c.period, p.c.amount).where(
        (p.c.book == book) & (p.c.period <= through) & _line_in(conn, p.c.line_id, contracts)
    )
    schema = {"book": pl.String, "line_id": pl.String, "period": pl.String, "amount": pl.Int64}
    return read_frame(conn, query, schema)


def cost_postings_before(
    conn: sa.Connection, book: str, before: str, contracts: Contracts = None
) -> pl.DataFrame:
    """book, cost_id, period ('YYYY-MM'), kind, amount: what a book's periods before this one
    posted for contract costs."""
    cp = t.cost_postings
    query = sa.select(cp.c.book, cp.c.cost_id, cp.c.period, cp.c.kind, cp.c.amount).where(
        (cp.c.book == book) & (cp.c.period < before) & _cost_in(conn, cp.c.cost_id, contracts)
    )
    schema = {"book": pl.String, "cost_id": pl.String, "period": pl.String, "kind": pl.String,
              "amount": pl.Int64}  # fmt: skip
    return read_frame(conn, query, schema)


def _of_contract(line_id: sa.Column[Any], contract: str) -> sa.ColumnElement[bool]:
    lv = t.line_versions
    return line_id.in_(sa.select(lv.c.line_id).where(lv.c.contract_id == contract))


def contract_version_periods(conn: sa.Connection, contract: str, through: str) -> pl.DataFrame:
    """line_id, version, period ('YYYY-MM'): when each version of the contract's lines
    processed through the period was processed."""
    lv = t.line_versions
    query = sa.select(lv.c.line_id, lv.c.version, lv.c.period).where(
        (lv.c.contract_id == contract) & (lv.c.period <= through)
    )
    schema = {"line_id": pl.String, "version": pl.Int64, "period": pl.String}
    return read_frame(conn, query, schema)


def contract_events(conn: sa.Connection, contract: str, through: str) -> pl.DataFrame:
    """line_id, event_date, seq, action, kind, value_micro, event_name, period of the events
    of the contract's lines processed through the period."""
    e = t.events
    query = sa.select(
        e.c.line_id, e.c.event_date, e.c.seq, e.c.action, e.c.kind, e.c.value_micro,
        e.c.event_name, e.c.period,
    ).where(_of_contract(e.c.line_id, contract) & (e.c.period <= through))  # fmt: skip
    schema = {"line_id": pl.String, "event_date": pl.Date, "seq": pl.Int64, "action": pl.String,
              "kind": pl.String, "value_micro": pl.Int64, "event_name": pl.String,
              "period": pl.String}  # fmt: skip
    return read_frame(conn, query, schema).cast(schema)  # type: ignore[arg-type]


def contract_billings(conn: sa.Connection, contract: str, through: str) -> pl.DataFrame:
    """line_id, doc_type, doc_number, doc_line_id, doc_date, period, amount of the billings of
    the contract's lines processed through the period."""
    b = t.billings
    query = sa.select(
        b.c.line_id, b.c.doc_type, b.c.doc_number, b.c.doc_line_id, b.c.doc_date, b.c.period,
        b.c.amount,
    ).where(_of_contract(b.c.line_id, contract) & (b.c.period <= through))  # fmt: skip
    schema = {"line_id": pl.String, "doc_type": pl.String, "doc_number": pl.String,
              "doc_line_id": pl.String, "doc_date": pl.Date, "period": pl.String,
              "amount": pl.Int64}  # fmt: skip
    return read_frame(conn, query, schema).cast(schema)  # type: ignore[arg-type]
