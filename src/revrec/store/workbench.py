"""The Revenue Workbench's reads (behind the web app's /workbench pages): contracts found by
their id, customer or any text of their lines, paged; one contract's facts, line versions,
costs and journal lines.

Reads only, frames and plain values out; the services format them.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.store import schema as t
from revrec.store.bulk import bytewise, read_frame

FOUND_COLUMNS = {
    "contract_id": pl.String,
    "customer_id": pl.String,
    "currency": pl.String,
    "billing_driven": pl.Boolean,
    "lines": pl.Int64,
}
VERSION_COLUMNS = {
    "line_id": pl.String,
    "version": pl.Int64,
    "line_no": pl.Int64,
    "item_code": pl.String,
    "pob_template": pl.String,
    "amount": pl.Int64,
    "quantity_micro": pl.Int64,
    "list_price": pl.Int64,
    "ssp_unit": pl.Int64,
    "start": pl.Date,
    "end": pl.Date,
    "effective_date": pl.Date,
    "modification_policy": pl.String,
    "period": pl.String,
    "allocated": pl.Int64,
}
COST_COLUMNS = {
    "cost_id": pl.String,
    "cost_type": pl.String,
    "line_id": pl.String,
    "currency": pl.String,
    "amount": pl.Int64,
    "cost_date": pl.Date,
    "period": pl.String,
    "amortization": pl.String,
    "amortization_months": pl.Int64,
    "expense_immediately": pl.Boolean,
}
JOURNAL_COLUMNS = {
    "period": pl.String,
    "source": pl.String,
    "source_id": pl.String,
    "line_id": pl.String,
    "account": pl.String,
    "gl_code": pl.String,
    "currency": pl.String,
    "debit": pl.Int64,
    "credit": pl.Int64,
}


def _matching(
    text: str | None, customer: str | None, item: str | None, template: str | None
) -> sa.ColumnElement[bool]:
    """Contracts whose id or customer contains `text` (any case), or one of whose lines has it
    in its id, item, template or free attributes; and of this customer, with a line of this item
    and of this template (exactly) when they are given."""
    c, lv = t.contracts, t.line_versions
    conditions: list[sa.ColumnElement[bool]] = []
    if text:

        def has(column: Any) -> sa.ColumnElement[bool]:
            return column.icontains(text, autoescape=True)  # type: ignore[no-any-return]

        in_lines = (
            sa.exists()
            .where(lv.c.contract_id == c.c.contract_id)
            .where(
                has(lv.c.line_id)
                | has(lv.c.item_code)
                | has(lv.c.pob_template)
                | has(lv.c.attributes)
            )
        )
        conditions.append(has(c.c.contract_id) | has(c.c.customer_id) | in_lines)
    if customer is not None:
        conditions.append(c.c.customer_id == customer)
    for column, value in ((lv.c.item_code, item), (lv.c.pob_template, template)):
        if value is not None:
            line = sa.exists().where(lv.c.contract_id == c.c.contract_id).where(column == value)
            conditions.append(line)
    return sa.and_(sa.true(), *conditions)


def find_contracts(
    conn: sa.Connection,
    *,
    text: str | None = None,
    customer: str | None = None,
    item: str | None = None,
    template: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> pl.DataFrame:
    """The contracts `_matching` finds, by contract_id, `offset` of them skipped, at most `limit`:
    contract_id, customer_id, currency, billing_driven and how many lines it has."""
    c, lv = t.contracts, t.line_versions
    lines = (
        sa.select(sa.func.count(sa.distinct(lv.c.line_id)))
        .where(lv.c.contract_id == c.c.contract_id)
        .scalar_subquery()
    )
    query = (
        sa.select(
            c.c.contract_id, c.c.customer_id, c.c.currency, c.c.billing_driven, lines.label("lines")
        )
        .where(_matching(text, customer, item, template))
        .order_by(bytewise(conn, c.c.contract_id))
        .limit(limit)
        .offset(offset)
    )
    return read_frame(conn, query, FOUND_COLUMNS).cast(FOUND_COLUMNS)  # type: ignore[arg-type]


def count_contracts(
    conn: sa.Connection,
    *,
    text: str | None = None,
    customer: str | None = None,
    item: str | None = None,
    template: str | None = None,
) -> int:
    """How many contracts `find_contracts` finds in all."""
    c = t.contracts
    query = (
        sa.select(sa.func.count()).select_from(c).where(_matching(text, customer, item, template))
    )
    return int(conn.execute(query).scalar() or 0)


def contract(conn: sa.Connection, contract_id: str) -> dict[str, Any] | None:
    """A contract's contract_id, customer_id, currency and billing_driven; None if unknown."""
    c = t.contracts
    query = sa.select(c.c.contract_id, c.c.customer_id, c.c.currency, c.c.billing_driven)
    row = conn.execute(query.where(c.c.contract_id == contract_id)).mappings().first()
    return None if row is None else {**row, "billing_driven": bool(row["billing_driven"])}


def contract_versions(conn: sa.Connection, contract_id: str, through: str) -> pl.DataFrame:
    """Every version of the contract's lines processed through the period, with its stored
    allocation (null: none), by line and version (end exclusive; amounts in minor units)."""
    lv, a = t.line_versions, t.allocations
    query = (
        sa.select(*(lv.c[n] for n in VERSION_COLUMNS if n != "allocated"), a.c.allocated)
        .outerjoin(a, (a.c.line_id == lv.c.line_id) & (a.c.version == lv.c.version))
        .where((lv.c.contract_id == contract_id) & (lv.c.period <= through))
        .order_by(bytewise(conn, lv.c.line_id), lv.c.version)
    )
    return read_frame(conn, query, VERSION_COLUMNS).cast(VERSION_COLUMNS)  # type: ignore[arg-type]


def contract_costs(conn: sa.Connection, contract_id: str, through: str) -> pl.DataFrame:
    """The costs of the contract (or of one of its lines) processed through the period, by
    cost date and cost_id."""
    k, lv = t.costs, t.line_versions
    of_lines = k.c.line_id.in_(sa.select(lv.c.line_id).where(lv.c.contract_id == contract_id))
    query = (
        sa.select(*(k.c[n] for n in COST_COLUMNS))
        .where(((k.c.contract_id == contract_id) | of_lines) & (k.c.period <= through))
        .order_by(k.c.cost_date, bytewise(conn, k.c.cost_id))
    )
    return read_frame(conn, query, COST_COLUMNS).cast(COST_COLUMNS)  # type: ignore[arg-type]


def contract_journal_lines(
    conn: sa.Connection, book: str, contract_id: str, through: str
) -> pl.DataFrame:
    """A book's journal lines of the contract through the period, by period, source and
    source id (amounts in minor units)."""
    jl = t.journal_lines
    query = (
        sa.select(*(jl.c[n] for n in JOURNAL_COLUMNS))
        .where((jl.c.book == book) & (jl.c.contract_id == contract_id) & (jl.c.period <= through))
        .order_by(jl.c.period, jl.c.source, bytewise(conn, jl.c.source_id), jl.c.account, jl.c.id)
    )
    return read_frame(conn, query, JOURNAL_COLUMNS).cast(JOURNAL_COLUMNS)  # type: ignore[arg-type]
