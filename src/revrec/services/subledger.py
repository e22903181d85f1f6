"""What processing put in the subledger, per line: its newest version, allocation, billings and
posted revenue (SPEC §3, §5). Read only; amounts in minor units of the line's currency."""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.errors import InputError
from revrec.services.setup import check_book, open_period
from revrec.store import schema as t
from revrec.store.bulk import read_frame

LINE_COLUMNS = {
    "contract_id": pl.String,
    "line_id": pl.String,
    "version": pl.Int64,
    "pob_template": pl.String,
    "currency": pl.String,
    "start": pl.Date,
    "last_day": pl.Date,
    "allocated": pl.Int64,
    "billed": pl.Int64,
    "recognized": pl.Int64,
    "open_period": pl.Int64,
}


def primary_book(conn: sa.Connection, book: str | None) -> str:
    """The book asked for (it must exist), else the primary book."""
    b = t.books
    if book is not None:
        return check_book(conn, book)
    found = conn.execute(sa.select(b.c.name).where(b.c.is_primary)).scalar()
    if found is None:
        raise InputError("no primary book: run `revrec init` first")
    return str(found)


def lines(
    conn: sa.Connection, *, book: str | None = None, contract: str | None = None
) -> pl.DataFrame:
    """One row per line (of one contract, or all): its newest version, template, currency and
    service range (`start` to `last_day`, both included; no last day for a point in time);
    `allocated` (the newest version's share of the transaction price), `billed` (signed sum of
    its billings), `recognized` (posted revenue of the book to date, the open period included)
    and `open_period` (the open period's posting)."""
    name = primary_book(conn, book)
    lv, c, a, b, p = t.line_versions, t.contracts, t.allocations, t.billings, t.postings
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
        if (
            conn.execute(sa.select(c.c.contract_id).where(c.c.contract_id == contract)).first()
            is None
        ):
            raise InputError(f"unknown contract {contract!r}")
        query = query.where(lv.c.contract_id == contract)
    found = read_frame(conn, query)
    ids = found.select("line_id")

    def of_lines(select: sa.Select[Any], line_id: sa.Column[Any]) -> pl.DataFrame:
        if contract is not None:
            select = select.where(
                line_id.in_(sa.select(lv.c.line_id).where(lv.c.contract_id == contract))
            )
        return read_frame(conn, select).join(ids, on="line_id", how="semi")

    allocated = of_lines(sa.select(a.c.line_id, a.c.version, a.c.allocated), a.c.line_id)
    billed = (
        of_lines(sa.select(b.c.line_id, b.c.amount), b.c.line_id)
        .group_by("line_id")
        .agg(pl.col("amount").sum().alias("billed"))
    )
    open_name = open_period(conn, name)
    posted = of_lines(
        sa.select(p.c.line_id, p.c.period, p.c.amount).where(p.c.book == name), p.c.line_id
    )
    recognized = posted.group_by("line_id").agg(
        pl.col("amount").sum().alias("recognized"),
        pl.col("amount").filter(pl.col("period") == open_name).sum().alias("open_period"),
    )
    return (
        found.join(allocated, on=["line_id", "version"], how="left")
        .join(billed, on="line_id", how="left")
        .join(recognized, on="line_id", how="left")
        .with_columns(
            pl.col("billed", "recognized", "open_period").fill_null(0),
            # Stored ranges are half-open (SPEC §1); people read the last day of service.
            (pl.col("end") - pl.duration(days=1)).alias("last_day"),
        )
        .select(list(LINE_COLUMNS))
        .cast(LINE_COLUMNS)  # type: ignore[arg-type]
        .sort("contract_id", "line_id")
    )


def postings(conn: sa.Connection, line_id: str, *, book: str | None = None) -> pl.DataFrame:
    """A line's posted revenue per period of the book, oldest first, with the running total."""
    name = primary_book(conn, book)
    lv, p = t.line_versions, t.postings
    if conn.execute(sa.select(lv.c.line_id).where(lv.c.line_id == line_id)).first() is None:
        s = t.stage_rows
        waiting = conn.execute(
            sa.select(s.c.status)
            .where((s.c.key == line_id) & s.c.status.in_(["pending", "future", "error"]))
            .order_by(s.c.row_id.desc())
        ).scalar()
        hint = f" (a row with this key waits in the stage area as {waiting})" if waiting else ""
        raise InputError(f"unknown line {line_id!r}{hint}")
    found = read_frame(
        conn,
        sa.select(p.c.period, p.c.amount).where((p.c.book == name) & (p.c.line_id == line_id)),
        {"period": pl.String, "amount": pl.Int64},
    )
    return found.sort("period").with_columns(pl.col("amount").cum_sum().alias("to_date"))
