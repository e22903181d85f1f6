"""What processing put in the subledger, per line: its newest version, allocation, billings and
posted revenue (SPEC §3, §5). Read only; amounts in minor units of the line's currency."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import sqlalchemy as sa

from revrec.errors import InputError
from revrec.services.setup import check_book, open_period
from revrec.store import setup as setup_store
from revrec.store import stage as stage_store
from revrec.store import subledger as store

CHUNK = 10_000  # lines a frame of `line_pages`
WAITING = ("pending", "future", "error")  # a staged row in these is not (yet) in the subledger

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
    if book is not None:
        return check_book(conn, book)
    found = setup_store.primary_book(conn)
    if found is None:
        raise InputError("no primary book: run `revrec init` first")
    return found


def lines(
    conn: sa.Connection,
    *,
    book: str | None = None,
    contract: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> pl.DataFrame:
    """One row per line (of one contract, or all), by contract and line: its newest version,
    template, currency and service range (`start` to `last_day`, both included; no last day for
    a point in time); `allocated` (the newest version's share of the transaction price),
    `billed` (signed sum of its billings), `recognized` (posted revenue of the book to date, the
    open period included) and `open_period` (the open period's posting). `offset` lines
    skipped, at most `limit`; `line_pages` reads any number of them in chunks."""
    pages = line_pages(conn, book=book, contract=contract, limit=limit, offset=offset)
    return pl.concat(list(pages))


def line_pages(
    conn: sa.Connection,
    *,
    book: str | None = None,
    contract: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    chunk: int = CHUNK,
) -> Iterator[pl.DataFrame]:
    """The rows of `lines`, `chunk` lines a frame (at least one frame, maybe empty): the lines
    come from one query read as it goes, and each chunk's figures from one query each, so
    memory stays flat. The book and the contract are checked at once, before the first frame."""
    name = primary_book(conn, book)
    if contract is not None and not store.contract_exists(conn, contract):
        raise InputError(f"unknown contract {contract!r}")
    open_name = open_period(conn, name)

    def pages() -> Iterator[pl.DataFrame]:
        found = store.newest_version_chunks(conn, contract, limit=limit, offset=offset, chunk=chunk)
        for part in found:
            yield _figures(conn, part, name, open_name)

    return pages()


def line_count(conn: sa.Connection, *, contract: str | None = None) -> int:
    """How many lines `lines` lists (of one contract, or all)."""
    return store.line_count(conn, contract)


def line(conn: sa.Connection, line_id: str, *, book: str | None = None) -> pl.DataFrame:
    """The row of one line as `lines` gives it (no row for an unknown line)."""
    name = primary_book(conn, book)
    found = store.newest_versions(conn, line_id=line_id)
    return _figures(conn, found, name, open_period(conn, name))


def _figures(conn: sa.Connection, found: pl.DataFrame, book: str, open_name: str) -> pl.DataFrame:
    """Lines (their newest versions) with their allocation, billed amount and revenue."""
    ids = found["line_id"].to_list()
    allocated = store.allocations(conn, line_ids=ids)
    billed = (
        store.billed(conn, line_ids=ids)
        .group_by("line_id")
        .agg(pl.col("amount").sum().alias("billed"))
    )
    posted = store.posted(conn, book, line_ids=ids)
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
    if not store.line_exists(conn, line_id):
        waiting = stage_store.newest_status(conn, line_id, WAITING)
        hint = f" (a row with this key waits in the stage area as {waiting})" if waiting else ""
        raise InputError(f"unknown line {line_id!r}{hint}")
    found = store.line_postings(conn, name, line_id)
    return found.sort("period").with_columns(pl.col("amount").cum_sum().alias("to_date"))
