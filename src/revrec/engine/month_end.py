"""The month-end part of one engine run: contract costs and each book's journal of its open
period (SPEC §5 step 5, §6), from what the run computed (schedules, postings, balances).

Pure: frames in, frames out.
"""

from __future__ import annotations

import polars as pl

from revrec.engine import costs as cost_rules
from revrec.engine import journals
from revrec.engine.frames import joined, summed

LINE_KEYS = ("line_id", "contract_id", "currency", "item_code", "pob_template")


def cost_postings(
    costs: pl.DataFrame,
    posted: pl.DataFrame,
    schedules: pl.DataFrame,
    lines: pl.DataFrame,
    books: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the open period's cost postings of every book, findings: cost_id, message).

    lines: the run's allocated lines (line_id, contract_id, allocated, ...): a follow_revenue cost
    follows its line's (or its contract's lines') schedule towards their allocated amount.
    """
    if costs.height == 0 and posted.height == 0:  # most runs: no costs at all
        return pl.DataFrame(schema=cost_rules.COST_POSTING_SCHEMA), pl.DataFrame(
            schema=cost_rules.COST_FINDING_SCHEMA
        )
    # A cost follows its own line's schedule or its contract's lines': only theirs are read.
    owners = lines.select("line_id", "contract_id").filter(
        pl.col("line_id").is_in(costs["line_id"].drop_nulls().implode())
        | pl.col("contract_id").is_in(costs["contract_id"].drop_nulls().implode())
    )
    revenue = schedules.join(owners, on="line_id", how="inner", maintain_order="left")
    schedule, findings = cost_rules.cost_schedules(
        costs,
        revenue,
        books["book"].to_list(),
        lines.select(cost_rules.ALLOCATED_SCHEMA.keys()),
    )
    parts = [pl.DataFrame(schema=cost_rules.COST_POSTING_SCHEMA)]
    for book, open_period in books.select("book", "open_period").iter_rows():
        parts.append(
            cost_rules.cost_postings(
                schedule.filter(pl.col("book") == book),
                posted.filter(pl.col("book") == book),
                open_period,
            ).filter(pl.col("period") == open_period)
        )
    return pl.concat(parts), findings


def journal(
    book: str,
    open_period: int,
    *,
    lines: pl.DataFrame,
    billings: pl.DataFrame,
    postings: pl.DataFrame,
    posted: pl.DataFrame,
    balances: pl.DataFrame,
    costs: pl.DataFrame,
    cost_posted: pl.DataFrame,
    accounts: pl.DataFrame,
) -> pl.DataFrame:
    """A book's journal lines of its open period.

    billings: every billing of the run's lines (with its accounting `period`); postings: the
    open period's revenue postings; posted: closed periods' postings; balances: the §5.1
    balances at the open period's end; costs and cost_posted: the costs and the open period's
    cost postings.
    """
    keys = lines.select(LINE_KEYS)
    return journals.journal_lines(
        book=book,
        period=open_period,
        # In their own order: a journal's entries come sorted by id, mostly in that order.
        billings=joined(billings.filter(pl.col("period") == open_period), keys, "line_id", "inner"),
        revenue=joined(postings.filter(pl.col("book") == book), keys, "line_id", "inner"),
        reclass=_reclass(book, open_period, keys, billings, posted, balances),
        costs=_costs(book, costs, cost_posted, keys),
        accounts=accounts,
    )


def _reclass(
    book: str,
    open_period: int,
    keys: pl.DataFrame,
    billings: pl.DataFrame,
    posted: pl.DataFrame,
    balances: pl.DataFrame,
) -> pl.DataFrame:
    """Each contract's asset at the end of the period before (from closed postings and earlier
    billings) and at the end of the open one (§5.1)."""
    contract = keys.select("line_id", "contract_id")
    earlier = billings.filter(pl.col("period") < open_period).select("line_id", "amount")
    billed = summed(
        joined(earlier, contract, "line_id", "inner"), "contract_id", "amount", "_billed"
    )
    closed = posted.filter((pl.col("book") == book) & (pl.col("period") < open_period))
    recognized = summed(
        joined(closed.select("line_id", "amount"), contract, "line_id", "inner"),
        "contract_id",
        "amount",
        "_recognized",
    )
    after = balances.filter(pl.col("book") == book).select(
        "contract_id", "currency", pl.col("asset").alias("asset_after")
    )
    return joined(
        joined(after, billed, "contract_id", "left"), recognized, "contract_id", "left"
    ).select(
        "contract_id",
        "currency",
        pl.max_horizontal(
            pl.col("_recognized").fill_null(0) - pl.col("_billed").fill_null(0),
            pl.lit(0, dtype=pl.Int64),
        ).alias("asset_before"),
        "asset_after",
    )


def _costs(
    book: str, costs: pl.DataFrame, cost_posted: pl.DataFrame, keys: pl.DataFrame
) -> pl.DataFrame:
    """The open period's cost postings of a book with each cost's accounts' keys."""
    templates = keys.select("line_id", "item_code", "pob_template")
    posted = cost_posted.filter(pl.col("book") == book)
    if posted.height == 0:  # most books: no costs; the same empty frame, without the joins
        templates = templates.clear()
    return (
        posted.join(
            costs.select("cost_id", "line_id", "contract_id", "currency"), on="cost_id", how="inner"
        )
        .join(templates, on="line_id", how="left")
        .select(
            "cost_id",
            "line_id",
            "contract_id",
            "currency",
            "item_code",
            "pob_template",
            "kind",
            "amount",
        )
    )
