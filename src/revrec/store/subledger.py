"""What processing put in the subledger, read per line (behind `revrec lines list|show`): line
versions, allocations, billings and postings, as frames.

Reads only: combining them into a line's figures is the services' work.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.store import schema as t
from revrec.store.bulk import read_frame


def contract_exists(conn: sa.Connection, contract: str) -> bool:
    c = t.contracts
    query = sa.select(c.c.contract_id).where(c.c.contract_id == contract)
    return conn.execute(query).first() is not None


def line_exists(conn: sa.Connection, line_id: str) -> bool:
    lv = t.line_versions
    return conn.execute(sa.select(lv.c.line_id).where(lv.c.line_id == line_id)).first() is not None


def newest_versions(conn: sa.Connection, contract: str | None = None) -> pl.DataFrame:
    """Each line's newest version (of one contract, or all): contract_id, line_id, version,
    pob_template, currency (the contract's), start and end (exclusive; null for none)."""
    lv, c = t.line_versions, t.contracts
    newest = (
        sa.select(lv.c.line_id, sa.func.max(lv.c.version).label("version"))
        .group_by(lv.c.line_id)
        .subquery()
    )
    query: sa.Select[Any] = (
        sa.select(
            lv.c.contract_id,
            lv.c.line_id,
            lv.c.version,
            lv.c.pob_template,
            c.c.currency,
            lv.c.start,
            lv.c.end,
        )
        .join(newest, (newest.c.line_id == lv.c.line_id) & (newest.c.version == lv.c.version))
        .join(c, c.c.contract_id == lv.c.contract_id)
    )
    if contract is not None:
        query = query.where(lv.c.contract_id == contract)
    return read_frame(conn, query)


def _of_contract(
    select: sa.Select[Any], line_id: sa.Column[Any], contract: str | None
) -> sa.Select[Any]:
    if contract is None:
        return select
    lv = t.line_versions
    return select.where(line_id.in_(sa.select(lv.c.line_id).where(lv.c.contract_id == contract)))


def allocations(conn: sa.Connection, contract: str | None = None) -> pl.DataFrame:
    """Every allocation of the lines (of one contract, or all): line_id, version, allocated."""
    a = t.allocations
    query = sa.select(a.c.line_id, a.c.version, a.c.allocated)
    return read_frame(conn, _of_contract(query, a.c.line_id, contract))


def billed(conn: sa.Connection, contract: str | None = None) -> pl.DataFrame:
    """Every billing of the lines (of one contract, or all): line_id, amount (signed)."""
    b = t.billings
    query = sa.select(b.c.line_id, b.c.amount)
    return read_frame(conn, _of_contract(query, b.c.line_id, contract))


def posted(conn: sa.Connection, book: str, contract: str | None = None) -> pl.DataFrame:
    """A book's postings of the lines (of one contract, or all): line_id, period, amount."""
    p = t.postings
    query = sa.select(p.c.line_id, p.c.period, p.c.amount).where(p.c.book == book)
    return read_frame(conn, _of_contract(query, p.c.line_id, contract))


def line_postings(conn: sa.Connection, book: str, line_id: str) -> pl.DataFrame:
    """A line's postings in a book: period, amount (unordered)."""
    p = t.postings
    return read_frame(
        conn,
        sa.select(p.c.period, p.c.amount).where((p.c.book == book) & (p.c.line_id == line_id)),
        {"period": pl.String, "amount": pl.Int64},
    )
