"""What processing put in the subledger, read per line (behind `revrec lines list|show`): line
versions, allocations, billings and postings, as frames.

Reads only: combining them into a line's figures is the services' work.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.store import schema as t
from revrec.store.bulk import CHUNK, among, bytewise, read_chunks, read_frame


def contract_exists(conn: sa.Connection, contract: str) -> bool:
    c = t.contracts
    query = sa.select(c.c.contract_id).where(c.c.contract_id == contract)
    return conn.execute(query).first() is not None


def line_exists(conn: sa.Connection, line_id: str) -> bool:
    lv = t.line_versions
    return conn.execute(sa.select(lv.c.line_id).where(lv.c.line_id == line_id)).first() is not None


def _newest(contract: str | None, line_id: str | None) -> sa.Select[Any]:
    lv, c = t.line_versions, t.contracts
    newest = sa.select(lv.c.line_id, sa.func.max(lv.c.version).label("version"))
    if line_id is not None:
        newest = newest.where(lv.c.line_id == line_id)
    latest = newest.group_by(lv.c.line_id).subquery()
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
        .join(latest, (latest.c.line_id == lv.c.line_id) & (latest.c.version == lv.c.version))
        .join(c, c.c.contract_id == lv.c.contract_id)
    )
    if contract is not None:
        query = query.where(lv.c.contract_id == contract)
    return query


def _newest_ordered(
    conn: sa.Connection,
    contract: str | None,
    line_id: str | None,
    limit: int | None,
    offset: int,
) -> sa.Select[Any]:
    lv = t.line_versions
    query = _newest(contract, line_id).order_by(
        bytewise(conn, lv.c.contract_id), bytewise(conn, lv.c.line_id)
    )
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return query


def newest_versions(
    conn: sa.Connection,
    contract: str | None = None,
    *,
    line_id: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> pl.DataFrame:
    """Each line's newest version (of one contract, or one line, or all), by contract_id and
    line_id: contract_id, line_id, version, pob_template, currency (the contract's), start and
    end (exclusive; null for none); `offset` of them skipped, at most `limit`."""
    return read_frame(conn, _newest_ordered(conn, contract, line_id, limit, offset))


def newest_version_chunks(
    conn: sa.Connection,
    contract: str | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
    chunk: int = CHUNK,
) -> Iterator[pl.DataFrame]:
    """The rows of `newest_versions` as frames of `chunk` rows, read from one query as they
    come (`read_chunks`)."""
    return read_chunks(conn, _newest_ordered(conn, contract, None, limit, offset), chunk=chunk)


def line_count(conn: sa.Connection, contract: str | None = None) -> int:
    """How many lines `newest_versions` finds (of one contract, or all)."""
    counted = sa.select(sa.func.count()).select_from(_newest(contract, None).subquery())
    return int(conn.execute(counted).scalar() or 0)


def _of_contract(
    select: sa.Select[Any], line_id: sa.Column[Any], contract: str | None
) -> sa.Select[Any]:
    if contract is None:
        return select
    lv = t.line_versions
    return select.where(line_id.in_(sa.select(lv.c.line_id).where(lv.c.contract_id == contract)))


def _of_lines(
    conn: sa.Connection,
    select: sa.Select[Any],
    line_id: sa.Column[Any],
    contract: str | None,
    line_ids: list[str] | None,
) -> sa.Select[Any]:
    """The rows of one contract (or all), or of these lines when `line_ids` are given."""
    if line_ids is not None:
        return select.where(among(conn, line_id, line_ids))
    return _of_contract(select, line_id, contract)


def allocations(
    conn: sa.Connection, contract: str | None = None, *, line_ids: list[str] | None = None
) -> pl.DataFrame:
    """Every allocation of the lines (of one contract, of these lines, or all): line_id,
    version, allocated."""
    a = t.allocations
    query = sa.select(a.c.line_id, a.c.version, a.c.allocated)
    return read_frame(conn, _of_lines(conn, query, a.c.line_id, contract, line_ids))


def billed(
    conn: sa.Connection, contract: str | None = None, *, line_ids: list[str] | None = None
) -> pl.DataFrame:
    """Every billing of the lines (of one contract, of these lines, or all): line_id, amount
    (signed)."""
    b = t.billings
    query = sa.select(b.c.line_id, b.c.amount)
    return read_frame(conn, _of_lines(conn, query, b.c.line_id, contract, line_ids))


def posted(
    conn: sa.Connection,
    book: str,
    contract: str | None = None,
    *,
    line_ids: list[str] | None = None,
) -> pl.DataFrame:
    """A book's postings of the lines (of one contract, of these lines, or all): line_id,
    period, amount."""
    p = t.postings
    query = sa.select(p.c.line_id, p.c.period, p.c.amount).where(p.c.book == book)
    return read_frame(conn, _of_lines(conn, query, p.c.line_id, contract, line_ids))


def line_postings(conn: sa.Connection, book: str, line_id: str) -> pl.DataFrame:
    """A line's postings in a book: period, amount (unordered)."""
    p = t.postings
    return read_frame(
        conn,
        sa.select(p.c.period, p.c.amount).where((p.c.book == book) & (p.c.line_id == line_id)),
        {"period": pl.String, "amount": pl.Int64},
    )
