"""Contract costs: capitalization, amortization and immediate expense (ASC 340-40, SPEC §5 step 5).

Pure: frames in, frames out; no I/O, no clock. Periods are month indexes (calendar.month_index).

A cost that is `expense_immediately` (the practical expedient for a benefit of a year or less) is
one `expense` row of its whole amount in its accounting period. Any other cost is capitalized
(one `capitalize` row of its whole amount in its accounting period) and amortized (`amortize`
rows) by cumulative rounding (SPEC §1): the amortization through month k is
`round_half_even(amount x share_k)`, exactly, and a month's amount is the difference of
consecutive cumulative amounts, so the amortization sums exactly to the capitalized amount in
every book once share_k reaches 1 (straight line: after n months; follow_revenue: once the
followed revenue is all recognized).

- `straight_line` over n = amortization_months from the month of cost_date (m0):
  share_k = clamp(k - m0 + 1, 0, n) / n.
- `follow_revenue`: share_k = clamp(R_k / T, 0, 1), with R_k the cumulative revenue through
  month k of the cost's line in the book (or of all the contract's lines, for a contract-level
  cost) and T what it will recognize in all: its allocated amount (the sum of the contract's
  lines' allocations). Not the schedule's total: an event-based line's schedule holds only what
  was released so far, and one 10% release must amortize 10% of the cost. The clamp keeps the
  amortization between 0 and the cost (a pattern that overshoots its total, say a prospective
  decrease after more was recognized, amortizes the whole cost until it falls back); when the
  line is fully recognized (R_k = T) the cost is fully amortized. A line allocated but with
  nothing recognized yet (an event line before its first release) amortizes nothing yet. When T
  is 0 or unknown there is nothing to follow: the whole amount is amortized in the cost's
  period, with a finding (one per book).
- **Amortization never comes before capitalization**: what the rule schedules for months before
  the cost's accounting period is caught up in that period (the cumulative through month k is
  the rule's cumulative through max(k, period)). A late cost (SPEC §4.6) thus catches up the
  months it missed in its period, as late revenue does.
- A straight_line cost without amortization_months above 0 (the import rejects it) has nothing
  to spread over: amortized at once, with a finding.

Rows of amount 0 are left out. Arithmetic is exact, in Int128 where Int64 could overflow: an
Int64 amount times a clamped revenue cumulative (at most |T|) stays below 2**127 for any T below
2**64, so any Int64 cost amount (up to 9.2e18 minor units) following allocations up to 1.8e19 is
exact; the 1e15 x 1e15 of the SPEC is far inside. The cumulative amortization lies between 0 and
the amount, so it always fits Int64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from revrec.engine.exprs import I128, div_half_even, fits_int64
from revrec.vocab import AMORTIZATIONS

COST_SCHEMA = {
    "cost_id": pl.String,
    "line_id": pl.String,  # null: a contract-level cost
    "contract_id": pl.String,
    "currency": pl.String,
    "amount": pl.Int64,  # signed: a negative cost is a clawback
    "period": pl.Int64,  # accounting period (month index) in which the cost was processed
    "cost_date": pl.Date,
    "amortization": pl.String,  # follow_revenue | straight_line
    "amortization_months": pl.Int64,
    "expense_immediately": pl.Boolean,
}
COST_POSTING_SCHEMA = {
    "book": pl.String,
    "cost_id": pl.String,
    "period": pl.Int64,
    "kind": pl.String,  # capitalize | amortize | expense
    "amount": pl.Int64,
}
COST_FINDING_SCHEMA = {"cost_id": pl.String, "message": pl.String}
# What a follow_revenue cost divides by: each line's allocated amount (the same in every book).
ALLOCATED_SCHEMA = {"line_id": pl.String, "contract_id": pl.String, "allocated": pl.Int64}
# What cost_schedules reads of the revenue: each line's whole schedule per book.
REVENUE_SCHEMA = {
    "book": pl.String,
    "line_id": pl.String,
    "contract_id": pl.String,
    "period": pl.Int64,
    "amount": pl.Int64,
}
COST_KINDS = ("capitalize", "amortize", "expense")
_FOLLOW, _STRAIGHT = AMORTIZATIONS
# Kinds as integers in name order, so that integer sorting gives the documented row order.
_KIND_NAMES = tuple(sorted(COST_KINDS))
_AMORTIZE, _CAPITALIZE, _EXPENSE = (
    _KIND_NAMES.index(k) for k in ("amortize", "capitalize", "expense")
)
_ROWS = ["_b", "_c", "period", "_kind", "amount"]


def cost_schedules(
    costs: pl.DataFrame, revenue: pl.DataFrame, books: list[str], allocated: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(schedule rows in COST_POSTING_SCHEMA for every book, findings: cost_id, message).

    costs: COST_SCHEMA (amortization null reads as follow_revenue, expense_immediately null as
    false). revenue: each line's whole revenue schedule per book (REVENUE_SCHEMA columns); rows of
    books not in `books` are ignored. allocated: each line's allocated amount (ALLOCATED_SCHEMA
    columns, one row per line), what a follow_revenue cost's pattern divides by. Rows come
    sorted by book, cost_id, period, kind; findings by cost_id, message.

    Internally books are `_b` (their index in name order) and costs `_c` (their index in cost_id
    order), so that every join and sort runs on integers.
    """
    names = sorted(set(books))
    book_frame = pl.DataFrame({"_b": range(len(names))}, schema={"_b": pl.Int64})
    frame = (
        costs.select(_cast(COST_SCHEMA))
        .sort("cost_id", maintain_order=True)
        .with_row_index("_c")
        .with_columns(
            pl.col("_c").cast(pl.Int64),
            pl.col("amortization").fill_null(_FOLLOW),
            pl.col("expense_immediately").fill_null(value=False),
        )
    )
    expensed = pl.col("expense_immediately")
    straight = ~expensed & (pl.col("amortization") == _STRAIGHT)
    no_months = straight & ~(pl.col("amortization_months") > 0).fill_null(value=False)
    same_in_every_book = pl.concat(
        [
            _whole(frame.filter(expensed), _EXPENSE),
            _whole(frame.filter(~expensed), _CAPITALIZE),
            _straight_line(frame.filter(straight & ~no_months)),
            _whole(frame.filter(no_months), _AMORTIZE),
        ]
    )
    followed, missing = _follow_revenue(
        frame.filter(~expensed & ~straight), revenue, allocated, names, frame.height
    )
    rows = pl.concat([book_frame.join(same_in_every_book, how="cross"), followed.select(_ROWS)])
    schedule = _sorted(rows.filter(pl.col("amount") != 0), ["_b", "_c", "period", "_kind"]).select(
        *_named(names, frame), "period", _gather(_KIND_NAMES, "_kind", "kind"), "amount"
    )
    return (
        schedule.select(_cast(COST_POSTING_SCHEMA)),
        _findings(frame.filter(no_months), missing.join(frame.select("_c", "cost_id", "line_id"),
                  on="_c"), names),
    )  # fmt: skip


def _findings(no_months: pl.DataFrame, missing: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Costs amortized at once: straight_line without months, or nothing to follow in a book."""
    level = pl.when(pl.col("line_id").is_null()).then(pl.lit("contract")).otherwise(pl.lit("line"))
    findings = pl.concat(
        [
            no_months.select(
                "cost_id",
                pl.format(
                    "cost {}: straight_line needs amortization_months above 0; amortized at once",
                    "cost_id",
                ).alias("message"),
            ),
            missing.select(
                "cost_id",
                pl.format(
                    "cost {}: its {} has no revenue schedule in book {}; amortized at once",
                    "cost_id",
                    level,
                    _gather(names, "_b", "book"),
                ).alias("message"),
            ),
        ]
    )
    return findings.sort("cost_id", "message").select(_cast(COST_FINDING_SCHEMA))


def cost_postings(schedule: pl.DataFrame, posted: pl.DataFrame, open_period: int) -> pl.DataFrame:
    """The open period's cost postings of each book and cost (COST_POSTING_SCHEMA).

    Closed periods (`posted`, in COST_POSTING_SCHEMA; its rows of open_period or later are
    ignored) stay as posted; the open period catches up: per (book, cost_id, kind) the schedule's
    cumulative through open_period minus what closed periods posted. A (book, cost, kind) posted
    before but no longer scheduled is reversed. Zero postings are left out; rows are sorted by
    book, cost_id, period, kind.
    """
    keys = ["book", "cost_id", "kind"]
    due = (
        schedule.select(_cast(COST_POSTING_SCHEMA))
        .filter(pl.col("period") <= open_period)
        .group_by(keys)
        .agg(pl.col("amount").sum().alias("_due"))
    )
    done = (
        posted.select(_cast(COST_POSTING_SCHEMA))
        .filter(pl.col("period") < open_period)
        .group_by(keys)
        .agg(pl.col("amount").sum().alias("_done"))
    )
    return (
        due.join(done, on=keys, how="full", coalesce=True)
        .select(
            "book",
            "cost_id",
            pl.lit(open_period, dtype=pl.Int64).alias("period"),
            "kind",
            (pl.col("_due").fill_null(0) - pl.col("_done").fill_null(0)).alias("amount"),
        )
        .filter(pl.col("amount") != 0)
        .sort("book", "cost_id", "kind")
        .select(_cast(COST_POSTING_SCHEMA))
    )


def _cast(schema: Mapping[str, type[pl.DataType]]) -> list[pl.Expr]:
    return [pl.col(name).cast(dtype) for name, dtype in schema.items()]


def _gather(values: Sequence[str] | pl.Series, index: str, name: str) -> pl.Expr:
    """The string at each row's integer `index` into `values`."""
    series = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.String)
    return pl.lit(series).gather(pl.col(index)).alias(name)


def _named(names: list[str], frame: pl.DataFrame) -> list[pl.Expr]:
    """book and cost_id back from the integer keys _b and _c."""
    return [_gather(names, "_b", "book"), _gather(frame["cost_id"], "_c", "cost_id")]


def _sorted(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """frame sorted by the integer columns `keys`: by one composite Int64 key when every
    combination fits (several times faster than sorting by several columns), else by the keys."""
    bounds = frame.select(
        *(pl.col(k).min().alias(f"{k}_min") for k in keys),
        *(pl.col(k).max().alias(f"{k}_max") for k in keys),
    ).row(0)
    lows, highs = bounds[: len(keys)], bounds[len(keys) :]
    if frame.height == 0 or any(b is None for b in bounds):
        return frame.sort(keys)
    spans = [int(high) - int(low) + 1 for low, high in zip(lows, highs, strict=True)]
    if not fits_int64(*spans):
        return frame.sort(keys)
    composite = pl.lit(0, dtype=pl.Int64)
    for key, low, span in zip(keys, lows, spans, strict=True):
        composite = composite * span + (pl.col(key).cast(pl.Int64) - int(low))
    return frame.sort(composite)


def _max_abs(frame: pl.DataFrame, column: str, *, sum_: bool = False) -> int:
    """The largest |value| of a column (or the sum of them all), as a Python int."""
    magnitude = pl.col(column).cast(I128).abs()
    found = frame.select(magnitude.sum() if sum_ else magnitude.max()).item()
    return int(found or 0)


def _exact(*bounds: int) -> type[pl.DataType]:
    """Int64 when a product of values as large as `bounds` cannot overflow it, else Int128."""
    return pl.Int64 if fits_int64(*bounds) else I128


def _whole(frame: pl.DataFrame, kind: int) -> pl.DataFrame:
    """One row of the cost's whole amount in its period."""
    return frame.select("_c", "period", pl.lit(kind, dtype=pl.Int64).alias("_kind"), "amount")


def _differences(cumulative: pl.Expr, group: str) -> pl.Expr:
    """Month amounts from a cumulative, in a frame sorted by `group` then period: the first row
    of each group starts from 0. The cumulative must fit Int64 (a strict cast: never wraps)."""
    cum = cumulative.cast(pl.Int64)
    first = (pl.col(group) != pl.col(group).shift(1)).fill_null(value=True)
    return cum - pl.when(first).then(0).otherwise(cum.shift(1))


def _straight_line(frame: pl.DataFrame) -> pl.DataFrame:
    """Months max(m0, period) .. max(m0 + n - 1, period); cumulative through month k is
    round(amount x clamp(k - m0 + 1, 0, n) / n), k never before the cost's period."""
    date = pl.col("cost_date")
    m0 = date.dt.year().cast(pl.Int64) * 12 + date.dt.month().cast(pl.Int64) - 1
    exploded = (
        frame.select(
            "_c",
            "amount",
            pl.col("period").alias("_p"),
            m0.alias("_m0"),
            pl.col("amortization_months").alias("_n"),
        )
        .with_columns(
            pl.int_ranges(
                pl.max_horizontal("_m0", "_p"),
                pl.max_horizontal(pl.col("_m0") + pl.col("_n") - 1, "_p") + 1,
                dtype=pl.Int64,
            ).alias("period")
        )
        .explode("period")
    )
    elapsed = (pl.col("period") - pl.col("_m0") + 1).clip(0, pl.col("_n"))
    dtype = _exact(_max_abs(frame, "amount"), _max_abs(frame, "amortization_months"))
    cumulative = div_half_even(pl.col("amount").cast(dtype) * elapsed, pl.col("_n"), dtype)
    return exploded.select(
        "_c",
        "period",
        pl.lit(_AMORTIZE, dtype=pl.Int64).alias("_kind"),
        _differences(cumulative, "_c").alias("amount"),
    )


def _pattern(
    costs: pl.DataFrame, revenue: pl.DataFrame, names: list[str], stride: int
) -> pl.DataFrame:
    """Each cost's pattern rows: its line's schedule in each book (or its contract's lines'
    for a contract-level cost), keyed by one integer `_g` per (book, cost)."""
    rows = revenue.select(_cast(REVENUE_SCHEMA))
    revenue_rows = [pl.col("book"), pl.col("period").alias("_p"), pl.col("amount").alias("_x")]
    pattern = pl.concat(
        [
            costs.filter(pl.col("line_id").is_not_null())
            .select("_c", "line_id", "amount", "period")
            .join(rows.select("line_id", *revenue_rows), on="line_id")
            .drop("line_id"),
            costs.filter(pl.col("line_id").is_null())
            .select("_c", "contract_id", "amount", "period")
            .join(rows.select("contract_id", *revenue_rows), on="contract_id")
            .drop("contract_id"),
        ]
    )
    index = pl.DataFrame(
        {"book": names, "_b": range(len(names))}, schema={"book": pl.String, "_b": pl.Int64}
    )
    return (
        pattern.join(index, on="book")
        .filter(pl.col("_p").is_not_null() & pl.col("_x").is_not_null())
        .with_columns((pl.col("_b") * pl.lit(stride, dtype=pl.Int64) + pl.col("_c")).alias("_g"))
    )


def _totals(costs: pl.DataFrame, allocated: pl.DataFrame) -> pl.DataFrame:
    """T of each following cost (_c, _t): its line's allocated amount, or the sum of its
    contract's lines' for a contract-level cost. Costs whose T is 0 or unknown are left out."""
    lines = allocated.select(_cast(ALLOCATED_SCHEMA))
    wide = _exact(_max_abs(lines, "allocated", sum_=True))
    lines = lines.with_columns(pl.col("allocated").cast(wide).alias("_t"))
    by_contract = lines.group_by("contract_id").agg(pl.col("_t").sum())
    totals = pl.concat(
        [
            costs.filter(pl.col("line_id").is_not_null())
            .join(lines.select("line_id", "_t"), on="line_id")
            .select("_c", "_t"),
            costs.filter(pl.col("line_id").is_null())
            .join(by_contract, on="contract_id")
            .select("_c", "_t"),
        ]
    )
    return totals.filter(pl.col("_t") != 0)


def _follow_revenue(
    frame: pl.DataFrame,
    revenue: pl.DataFrame,
    allocated: pl.DataFrame,
    names: list[str],
    stride: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(amortize rows, in _ROWS; the (_b, _c) with nothing to follow, amortized at once).

    stride: the number of costs of the run (every _c is below it).

    Each cost's pattern is its line's schedule in the book, or the sum of its contract's lines'
    (contract-level cost); months before the cost's period are folded into it. One sort of the
    pattern rows by (book, cost, month), then running sums: no group_by, no window."""
    costs = frame.select("_c", "line_id", "contract_id", "amount", "period")
    totals = _totals(costs, allocated)
    followed_costs = costs.join(totals.select("_c"), on="_c", how="semi")
    pattern = _sorted(_pattern(followed_costs, revenue, names, stride), ["_g", "_p"])
    g = pl.col("_g")
    first = (g != g.shift(1)).fill_null(value=True)
    last = (g != g.shift(-1)).fill_null(value=True)
    # A running sum over all the rows (Int64 when even the sum of every |revenue| fits), then
    # each (book, cost)'s own: R_k = run - run before its first row.
    run = _exact(_max_abs(pattern, "_x", sum_=True))
    pattern = pattern.with_columns(
        pl.max_horizontal("_p", "period").alias("period"),
        pl.col("_x").cast(run).cum_sum().alias("_run"),
    ).with_columns(
        pl.when(first).then(pl.col("_run") - pl.col("_x")).forward_fill().alias("_before"),
    )
    # R_k of each (book, cost); one row per month: the last of the rows folded into it.
    month_end = (last | (pl.col("period") != pl.col("period").shift(-1))).fill_null(value=True)
    live = (
        pattern.filter(month_end)
        .select(
            "_b", "_c", "_g", "amount", "period", (pl.col("_run") - pl.col("_before")).alias("_r")
        )
        .join(totals, on="_c", maintain_order="left")
    )
    followed = live.select(
        "_b",
        "_c",
        "period",
        pl.lit(_AMORTIZE, dtype=pl.Int64).alias("_kind"),
        _differences(_following(live), "_g").alias("amount"),
    )
    every = pl.DataFrame({"_b": range(len(names))}, schema={"_b": pl.Int64}).join(
        costs.select("_c"), how="cross"
    )
    missing = every.join(totals.select("_c"), on="_c", how="anti")
    at_once = missing.join(_whole(costs, _AMORTIZE), on="_c").select(_ROWS)
    return pl.concat([followed, at_once]), missing


def _following(live: pl.DataFrame) -> pl.Expr:
    """The cumulative amortization round(amount x clamp(R_k / T, 0, 1)), T's sign moved to the
    numerator (the division needs a positive denominator): R_k x sign(T) clamped to 0..|T|."""
    wide = I128 if I128 in (live.schema["_r"], live.schema["_t"]) else pl.Int64
    sign = pl.col("_t").sign().cast(wide)
    size = pl.col("_t").cast(wide).abs()
    share = (pl.col("_r").cast(wide) * sign).clip(0, size)
    dtype = _exact(_max_abs(live, "amount"), _max_abs(live, "_t"))
    return div_half_even(pl.col("amount").cast(dtype) * share.cast(dtype), size, dtype)
