"""Journals (SPEC §6): journal lines per book and period, the journal card's state, the cost
postings, and the balances by account stored when a journal is summarized.

Reads and writes only; which step may follow which is the services' rule. A write aimed at a
period that is not open fails here too, so that no caller can change a closed period.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from revrec.errors import StateError
from revrec.store import schema as t
from revrec.store.bulk import CHUNK, among, bytewise, insert_frame, read_chunks, read_frame

DRAFT = "draft"
LINE_COLUMNS = (
    "book", "period", "account", "gl_code", "currency", "debit", "credit", "contract_id",
    "line_id", "source", "source_id",
)  # fmt: skip
SOURCE_ORDER = ("billing", "revenue", "reclass", "cost", "amortization")
FIGURE_COLUMNS = ("figures", "figures_mark")  # kept for the close (`figures`), not shown


def book_periods(conn: sa.Connection, book: str) -> list[tuple[str, str]]:
    """(period, status) of every period of a book, in order."""
    p = t.periods
    query = sa.select(p.c.period, p.c.status).where(p.c.book == book).order_by(p.c.period)
    return [(str(a), str(b)) for a, b in conn.execute(query)]


def period_status(conn: sa.Connection, book: str, period: str) -> str | None:
    p = t.periods
    found = conn.execute(
        sa.select(p.c.status).where((p.c.book == book) & (p.c.period == period))
    ).scalar()
    return None if found is None else str(found)


def _open_only(conn: sa.Connection, book: str, period: str) -> None:
    status = period_status(conn, book, period)
    if status != "open":
        raise StateError(f"period {period} of book {book} is {status or 'unknown'}: not written")


def card(conn: sa.Connection, book: str, period: str) -> dict[str, Any]:
    """The journal card of a book and period; a journal never moved is a draft."""
    j = t.journals
    shown = [c for c in j.c if c.name not in FIGURE_COLUMNS]
    query = sa.select(*shown).where((j.c.book == book) & (j.c.period == period))
    row = conn.execute(query).mappings().first()
    if row is None:
        return {"book": book, "period": period, "state": DRAFT}
    return dict(row)


def cards(conn: sa.Connection) -> list[dict[str, Any]]:
    j = t.journals
    query = sa.select(j).order_by(j.c.book, j.c.period)
    return [dict(r) for r in conn.execute(query).mappings()]


def frozen_books(conn: sa.Connection, open_periods: dict[str, str]) -> list[str]:
    """The books whose open period's journal has been approved (or moved further)."""
    j = t.journals
    frozen = []
    for book, period in open_periods.items():
        state = conn.execute(
            sa.select(j.c.state).where((j.c.book == book) & (j.c.period == period))
        ).scalar()
        if state is not None and state != DRAFT:
            frozen.append(book)
    return frozen


def replace_open_lines(
    conn: sa.Connection, book: str, period: str, contract_ids: pl.Series, lines: pl.DataFrame
) -> int:
    """The open period's journal lines of these contracts in a book become `lines`."""
    _open_only(conn, book, period)
    jl = t.journal_lines
    of_period = (jl.c.book == book) & (jl.c.period == period)
    # A period's first run (a new period's, after a close) has nothing to replace.
    if conn.execute(sa.select(jl.c.id).where(of_period).limit(1)).first() is not None:
        conn.execute(jl.delete().where(of_period & among(conn, jl.c.contract_id, contract_ids)))
    # As the engine gives them: each source's lines by contract, so the (book, period,
    # contract) index takes them in a sweep a source (sorting 4M lines into one sweep cost
    # more than it saved).
    return insert_frame(
        conn, jl, lines.with_columns(pl.lit(book).alias("book"), pl.lit(period).alias("period"))
    )


def lines(conn: sa.Connection, book: str, period: str) -> pl.DataFrame:
    """A book's journal lines of a period, in source, contract and source-document order."""
    jl = t.journal_lines
    # The book and period are the same on every line: not read, a million times each.
    read = [name for name in LINE_COLUMNS if name not in ("book", "period")]
    query = sa.select(*(jl.c[name] for name in read)).where(
        (jl.c.book == book) & (jl.c.period == period)
    )
    frame = read_frame(conn, query).select(
        pl.lit(book, pl.String).alias("book"), pl.lit(period, pl.String).alias("period"), *read
    )
    rank = pl.col("source").replace_strict(
        {s: i for i, s in enumerate(SOURCE_ORDER)}, default=len(SOURCE_ORDER)
    )
    return frame.sort(
        rank,
        "contract_id",
        "source_id",
        "account",
        pl.col("debit"),
        descending=[False, False, False, False, True],
    )


def line_chunks(
    conn: sa.Connection,
    book: str,
    period: str,
    *,
    limit: int | None = None,
    offset: int = 0,
    chunk: int = CHUNK,
) -> Iterator[pl.DataFrame]:
    """The rows of `lines` (same columns and order, the id breaking ties) as frames of `chunk`
    lines, sorted and cut in the database (`offset` lines skipped, at most `limit`) and read
    from one query as they come. At least one frame."""
    jl = t.journal_lines
    rank = sa.case(
        {s: i for i, s in enumerate(SOURCE_ORDER)}, value=jl.c.source, else_=len(SOURCE_ORDER)
    )
    text = (jl.c.contract_id, jl.c.source_id, jl.c.account)
    query = (
        sa.select(*(jl.c[name] for name in LINE_COLUMNS))
        .where((jl.c.book == book) & (jl.c.period == period))
        .order_by(rank, *(bytewise(conn, c) for c in text), jl.c.debit.desc(), jl.c.id)
    )
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return read_chunks(conn, query, chunk=chunk)


def line_count(conn: sa.Connection, book: str, period: str) -> int:
    """How many lines a book's journal of a period has."""
    jl = t.journal_lines
    query = sa.select(sa.func.count()).where((jl.c.book == book) & (jl.c.period == period))
    return int(conn.execute(query).scalar() or 0)


def totals(conn: sa.Connection, book: str, period: str) -> list[dict[str, Any]]:
    """Debit, credit and line count per currency of a book's journal in a period."""
    jl = t.journal_lines
    rows = conn.execute(
        sa.select(
            jl.c.currency,
            sa.func.sum(jl.c.debit),
            sa.func.sum(jl.c.credit),
            sa.func.count(),
        )
        .where((jl.c.book == book) & (jl.c.period == period))
        .group_by(jl.c.currency)
        .order_by(jl.c.currency)
    ).all()
    return [
        {"currency": c, "debit": int(d or 0), "credit": int(k or 0), "lines": int(n)}
        for c, d, k, n in rows
    ]


def account_balances(
    conn: sa.Connection, book: str, through: str, *, from_lines: bool = False
) -> pl.DataFrame:
    """account, gl_code ('' for none), currency, the debit and credit of the period `through`,
    and the balance (debit - credit) of a book's journal lines through it: the trial balance
    stored when the last closed period at or before it was summarized, plus the lines of the
    periods after that one (a closed period's lines never change), so a month-end reads one
    period's lines, not every period's; one pass over them. `from_lines`: the balance summed
    from every line through the period (what the other way equals)."""
    base = None if from_lines else _last_closed_summarized(conn, book, through)
    return _balances(conn, book, through, base)[0]


def ledger(
    conn: sa.Connection, book: str, period: str
) -> tuple[pl.DataFrame, list[dict[str, Any]], int]:
    """`account_balances`, `totals` and `missing_gl_codes` of a book's journal through a period
    (the GL side of its reconciliation), from one pass over the lines after the last trial
    balance stored before the period (and a count of the lines without a GL code up to it)
    instead of one pass each."""
    base = _last_closed_summarized(conn, book, period, before=True)
    found, summed = _balances(conn, book, period, base)
    moved = (
        summed.filter(pl.col("lines") > 0)
        .group_by("currency")
        .agg(pl.col("debit", "credit", "lines").sum())
        .sort("currency")
    )
    totals = [
        {"currency": c, "debit": int(d), "credit": int(k), "lines": int(n)}
        for c, d, k, n in moved.select("currency", "debit", "credit", "lines").iter_rows()
    ]
    missing = int(summed.filter(pl.col("gl_code").is_null())["count"].sum())
    if base is not None:
        missing += missing_gl_codes(conn, book, base)
    return found, totals, missing


def _balances(
    conn: sa.Connection, book: str, through: str, base: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`account_balances` from the trial balance stored for `base` (None: none) and the lines
    after it, and the lines' sums as read: per account, GL code (null for none) and currency,
    also the lines of the period `through` (`lines`) and every line (`count`)."""
    jl = t.journal_lines
    where = (jl.c.book == book) & (jl.c.period <= through)
    if base is not None:
        where &= jl.c.period > base
    in_period = jl.c.period == through
    query = (
        sa.select(
            jl.c.account,
            jl.c.gl_code,
            jl.c.currency,
            sa.func.sum(sa.case((in_period, jl.c.debit), else_=0)).label("debit"),
            sa.func.sum(sa.case((in_period, jl.c.credit), else_=0)).label("credit"),
            (sa.func.sum(jl.c.debit) - sa.func.sum(jl.c.credit)).label("balance"),
            sa.func.sum(sa.case((in_period, 1), else_=0)).label("lines"),
            sa.func.count().label("count"),
        )
        .where(where)
        .group_by(jl.c.account, jl.c.gl_code, jl.c.currency)
    )
    keys = ["account", "gl_code", "currency"]
    schema = {"account": pl.String, "gl_code": pl.String, "currency": pl.String,
              "debit": pl.Int64, "credit": pl.Int64, "balance": pl.Int64}  # fmt: skip
    rows = conn.execute(query).all()
    summed = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={**schema, "lines": pl.Int64, "count": pl.Int64},
        orient="row",
    )
    found = summed.select(*schema).with_columns(pl.col("gl_code").fill_null(""))
    if base is not None:
        stored = balances(conn, book, base)
        if base != through:  # its debit and credit are of another period
            stored = stored.with_columns(pl.lit(0).alias("debit"), pl.lit(0).alias("credit"))
        stored = stored.select(*keys, "debit", "credit", "balance")
        found = (
            pl.concat([stored.cast(schema), found])  # type: ignore[arg-type]
            .group_by(keys)
            .agg(pl.col("debit", "credit", "balance").sum())
        )
    return found.sort(keys), summed


def _last_closed_summarized(
    conn: sa.Connection, book: str, through: str, *, before: bool = False
) -> str | None:
    """The last closed period at or before `through` (`before`: before it) whose journal was
    summarized (its trial balance stored), if any."""
    p, j = t.periods, t.journals
    query = (
        sa.select(sa.func.max(p.c.period))
        .select_from(p.join(j, (j.c.book == p.c.book) & (j.c.period == p.c.period)))
        .where(
            (p.c.book == book)
            & ((p.c.period < through) if before else (p.c.period <= through))
            & (p.c.status == "closed")
            & (j.c.state == "summarized")
        )
    )
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def save_balances(conn: sa.Connection, book: str, period: str, balances: pl.DataFrame) -> None:
    """The balances by account of a summarized journal (replacing any earlier ones)."""
    ab = t.account_balances
    conn.execute(ab.delete().where((ab.c.book == book) & (ab.c.period == period)))
    insert_frame(
        conn, ab, balances.with_columns(pl.lit(book).alias("book"), pl.lit(period).alias("period"))
    )


def drop_balances(conn: sa.Connection, book: str, period: str) -> None:
    ab = t.account_balances
    conn.execute(ab.delete().where((ab.c.book == book) & (ab.c.period == period)))


def balances(conn: sa.Connection, book: str, period: str) -> pl.DataFrame:
    """The stored balances by account (the trial balance) of a summarized journal."""
    ab = t.account_balances
    query = (
        sa.select(ab.c.account, ab.c.gl_code, ab.c.currency, ab.c.debit, ab.c.credit, ab.c.balance)
        .where((ab.c.book == book) & (ab.c.period == period))
        .order_by(ab.c.gl_code, ab.c.account, ab.c.currency)
    )
    return read_frame(conn, query)


def closed_costs(
    conn: sa.Connection, open_periods: dict[str, str], cost_ids: list[str]
) -> pl.DataFrame:
    """What closed periods posted for these costs: book, cost_id, period ('YYYY-MM'), kind,
    amount."""
    cp = t.cost_postings
    schema = {
        "book": pl.String,
        "cost_id": pl.String,
        "period": pl.String,
        "kind": pl.String,
        "amount": pl.Int64,
    }
    parts = [pl.DataFrame(schema=schema)]
    if cost_ids:
        for book, open_name in open_periods.items():
            query = sa.select(cp.c.book, cp.c.cost_id, cp.c.period, cp.c.kind, cp.c.amount).where(
                (cp.c.book == book)
                & (cp.c.period < open_name)
                & among(conn, cp.c.cost_id, cost_ids)
            )
            parts.append(read_frame(conn, query, schema))
    return pl.concat(parts)


def replace_open_costs(
    conn: sa.Connection, book: str, period: str, cost_ids: list[str], rows: pl.DataFrame
) -> None:
    """The open period's cost postings of these costs in a book become `rows`."""
    _open_only(conn, book, period)
    cp = t.cost_postings
    conn.execute(
        cp.delete().where(
            (cp.c.book == book) & (cp.c.period == period) & among(conn, cp.c.cost_id, cost_ids)
        )
    )
    insert_frame(
        conn,
        cp,
        rows.select(
            pl.lit(book).alias("book"), "cost_id", pl.lit(period).alias("period"), "kind", "amount"
        ),
    )


def cost_totals(conn: sa.Connection, book: str, through: str) -> pl.DataFrame:
    """currency, kind, amount: a book's cost postings through a period."""
    cp, k = t.cost_postings, t.costs
    rows = conn.execute(
        sa.select(k.c.currency, cp.c.kind, sa.func.sum(cp.c.amount))
        .join(k, k.c.cost_id == cp.c.cost_id)
        .where((cp.c.book == book) & (cp.c.period <= through))
        .group_by(k.c.currency, cp.c.kind)
    ).all()
    schema = {"currency": pl.String, "kind": pl.String, "amount": pl.Int64}
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def advance(
    conn: sa.Connection, book: str, period: str, expected: str, state: str, **values: Any
) -> bool:
    """Move the card from `expected` to `state` (with these stamps), only if it is still in
    `expected`: False when another run moved it first (a conditional update, safe under
    concurrent runs on both databases)."""
    j = t.journals
    where = (j.c.book == book) & (j.c.period == period)
    if conn.execute(sa.select(j.c.state).where(where)).first() is None:
        if expected != DRAFT:
            return False
        # Two first steps at once: the second's insert does nothing, its update finds no draft.
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(j)
        conn.execute(insert.values(book=book, period=period, state=DRAFT).on_conflict_do_nothing())
    done = conn.execute(
        j.update().where(where & (j.c.state == expected)).values(state=state, **values)
    )
    return done.rowcount == 1


def figures(conn: sa.Connection, book: str, period: str) -> tuple[str, int] | None:
    """The report figures (JSON) a journal was approved with and the audit entry they were
    computed after, if it was approved."""
    j = t.journals
    query = sa.select(j.c.figures, j.c.figures_mark).where(
        (j.c.book == book) & (j.c.period == period)
    )
    row = conn.execute(query).first()
    if row is None or row.figures is None or row.figures_mark is None:
        return None
    return str(row.figures), int(row.figures_mark)


def save_figures(conn: sa.Connection, book: str, period: str, mark: int, figures: str) -> None:
    """The report figures (JSON) a journal was approved with, computed after audit entry
    `mark`."""
    j = t.journals
    conn.execute(
        j.update()
        .where((j.c.book == book) & (j.c.period == period))
        .values(figures=figures, figures_mark=mark)
    )


def missing_gl_codes(conn: sa.Connection, book: str, through: str) -> int:
    """How many of a book's journal lines through a period have no GL code."""
    jl = t.journal_lines
    query = (
        sa.select(sa.func.count())
        .select_from(jl)
        .where((jl.c.book == book) & (jl.c.period <= through) & jl.c.gl_code.is_(None))
    )
    return int(conn.execute(query).scalar() or 0)
