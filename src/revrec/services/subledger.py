"""What processing put in the subledger, per line: its newest version, allocation, billings and
posted revenue (SPEC §3, §5). Read only; amounts in minor units of the line's currency. Each
function a shell calls takes the Context and opens its own connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from revrec.errors import InputError
from revrec.services.context import Context
from revrec.services.setup import check_book, open_period
from revrec.store import setup as setup_store
from revrec.store import stage as stage_store
from revrec.store import subledger as store

CHUNK = 10_000  # lines a frame of `lines_of`
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


@dataclass(frozen=True)
class Lines:
    """The lines of a listing as frames read a chunk at a time, and how many it has."""

    pages: Iterator[pl.DataFrame]
    count: Callable[[], int]


@dataclass(frozen=True)
class LineDetail:
    """One line as `lines` gives it, and its posted revenue per period of the book, oldest
    first, with the running total (`to_date`) and the line's currency."""

    line: pl.DataFrame
    postings: pl.DataFrame


def lines(
    ctx: Context,
    *,
    contract: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> pl.DataFrame:
    """One row per line (of one contract, or all), by contract and line, in the Context's book
    (default: the primary book): its newest version, template, currency and service range
    (`start` to `last_day`, both included; no last day for a point in time); `allocated` (the
    newest version's share of the transaction price), `billed` (signed sum of its billings),
    `recognized` (posted revenue of the book to date, the open period included) and
    `open_period` (the open period's posting). `offset` lines skipped, at most `limit`;
    `lines_of` reads any number of them in chunks."""
    with lines_of(ctx, contract=contract, limit=limit, offset=offset) as found:
        return pl.concat(list(found.pages))


@contextmanager
def lines_of(
    ctx: Context,
    *,
    contract: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    chunk: int = CHUNK,
) -> Iterator[Lines]:
    """The rows of `lines`, `chunk` lines a frame (at least one frame, maybe empty), read while
    the connection is open: the lines come from one query read as it goes, and each chunk's
    figures from one query each, so memory stays flat. The book and the contract are checked
    at once, before the first frame. `count` counts the lines (of the contract, or all)."""
    with ctx.engine.connect() as conn:
        name = primary_book(conn, ctx.book)
        if contract is not None and not store.contract_exists(conn, contract):
            raise InputError(f"unknown contract {contract!r}")
        open_name = open_period(conn, name)

        def pages() -> Iterator[pl.DataFrame]:
            found = store.newest_version_chunks(
                conn, contract, limit=limit, offset=offset, chunk=chunk
            )
            for part in found:
                yield _figures(conn, part, name, open_name)

        yield Lines(pages(), lambda: store.line_count(conn, contract))


def line_detail(ctx: Context, line_id: str) -> LineDetail:
    """One line and its postings in the Context's book (default: the primary book); an
    InputError for an unknown line, saying when a row with its key waits in the stage area."""
    with ctx.engine.connect() as conn:
        name = primary_book(conn, ctx.book)
        if not store.line_exists(conn, line_id):
            waiting = stage_store.newest_status(conn, line_id, WAITING)
            hint = f" (a row with this key waits in the stage area as {waiting})" if waiting else ""
            raise InputError(f"unknown line {line_id!r}{hint}")
        posted = store.line_postings(conn, name, line_id)
        found = store.newest_versions(conn, line_id=line_id)
        line = _figures(conn, found, name, open_period(conn, name))
    postings = posted.sort("period").with_columns(
        pl.col("amount").cum_sum().alias("to_date"), pl.lit(line["currency"][0]).alias("currency")
    )
    return LineDetail(line, postings)


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
