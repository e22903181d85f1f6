"""The reports of SPEC §8 as pure frame functions over a book's lines at a period end.

A `Basis` holds what every report reads: per line its contract, currency and grouping columns,
its allocation (T), what was billed (B) and recognized (R) through the period and through the
period before, and the line's whole schedule in the book. Money is Int64 minor units; periods
are month indexes. Every report keeps the currency beside each amount and never adds two
currencies together (`totals`).

Rules (decision 60): a waterfall's month columns are the schedule's amounts of the N periods
after the report's period; `total_scheduled` = T - R; `thereafter` = total_scheduled - the
month columns (so the row adds up whatever the schedule did before the period, and revenue
with no date yet, such as an event-based line's unreleased part, is `thereafter`). The
liability report follows the GL's deferred revenue account: closing = opening + billed -
released + reclass, where released is the period's revenue and reclass the change of the
contract asset. RPO within 12 months is the scheduled revenue of the next 12 periods; beyond
is the rest of T - R.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from revrec.calendar import period_name
from revrec.engine.balances import balances

# Per line: the facts reports filter and group by, and its figures at the period end.
BASIS_SCHEMA = {
    "line_id": pl.String,
    "contract_id": pl.String,
    "currency": pl.String,
    "customer_id": pl.String,
    "item_code": pl.String,
    "pob_template": pl.String,
    "amount": pl.Int64,  # the line's own amount: its part of the contract value
    "allocated": pl.Int64,  # T
    "billed": pl.Int64,  # B through the period
    "recognized": pl.Int64,  # R through the period
    "opening_billed": pl.Int64,  # B through the period before
    "opening_recognized": pl.Int64,  # R through the period before
}
SCHEDULE_SCHEMA = {"line_id": pl.String, "period": pl.Int64, "amount": pl.Int64}
# line_id and period (month index) with an amount: billings or postings
MOVEMENT_SCHEMA = {"line_id": pl.String, "period": pl.Int64, "amount": pl.Int64}

# Waterfall groupings: the key columns each row shows before its currency.
GROUPS = {
    "line": ("contract_id", "so_line_id"),
    "contract": ("contract_id",),
    "customer": ("customer_id",),
    "item": ("item_code",),
    "template": ("pob_template",),
}


@dataclass(frozen=True)
class Basis:
    period: int  # month index of the period end the figures are at
    lines: pl.DataFrame  # BASIS_SCHEMA
    schedule: pl.DataFrame  # SCHEDULE_SCHEMA: the lines' whole schedules in the book


def basis(
    period: int,
    lines: pl.DataFrame,
    schedule: pl.DataFrame,
    postings: pl.DataFrame,
    billings: pl.DataFrame,
) -> Basis:
    """The Basis at the end of `period` from each line's facts and allocation (`lines`: the
    columns of BASIS_SCHEMA up to `allocated`), the book's schedules, and the revenue posted
    and the billings (MOVEMENT_SCHEMA) through the period."""
    before = pl.col("period") < period

    def through(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.group_by("line_id").agg(
            pl.col("amount").sum().alias(name),
            pl.col("amount").filter(before).sum().alias(f"opening_{name}"),
        )

    figures = ("billed", "recognized", "opening_billed", "opening_recognized")
    frame = (
        lines.join(through(billings, "billed"), on="line_id", how="left")
        .join(through(postings, "recognized"), on="line_id", how="left")
        .with_columns(pl.col(figures).fill_null(0))
        .select(BASIS_SCHEMA.keys())
        .cast(BASIS_SCHEMA)  # type: ignore[arg-type]
        .sort("contract_id", "line_id")
    )
    ids = frame["line_id"].implode()
    return Basis(period, frame, schedule.filter(pl.col("line_id").is_in(ids)))


def month_names(period: int, periods: int) -> list[str]:
    """The waterfall's month columns after `period`: 'YYYY-MM' each."""
    return [period_name(period + k) for k in range(1, periods + 1)]


def waterfall(data: Basis, *, periods: int = 12, by: str = "line") -> pl.DataFrame:
    """Revenue Waterfall: per line (or group), allocated, recognized_to_date, the next
    `periods` periods' scheduled revenue, thereafter and total_scheduled (T - R)."""
    months = month_names(data.period, periods)
    future = data.schedule.filter(
        (pl.col("period") > data.period) & (pl.col("period") <= data.period + periods)
    )
    # One pivot over the window (about twice as fast as a filtered sum per month).
    names = {str(data.period + k): name for k, name in enumerate(months, start=1)}
    per_month = future.with_columns(pl.col("period").cast(pl.String)).pivot(
        on="period", index="line_id", values="amount", aggregate_function="sum"
    )
    per_month = per_month.rename({k: v for k, v in names.items() if k in per_month.columns})
    per_month = per_month.with_columns(
        pl.lit(0, dtype=pl.Int64).alias(name) for name in months if name not in per_month.columns
    )
    rows = (
        data.lines.rename({"line_id": "so_line_id"})
        .join(per_month.rename({"line_id": "so_line_id"}), on="so_line_id", how="left")
        .with_columns(pl.col(months).fill_null(0))
        .with_columns((pl.col("allocated") - pl.col("recognized")).alias("total_scheduled"))
        .with_columns(
            (pl.col("total_scheduled") - pl.sum_horizontal(months)).alias("thereafter")
            if months
            else pl.col("total_scheduled").alias("thereafter")
        )
        .rename({"recognized": "recognized_to_date"})
    )
    money = ["allocated", "recognized_to_date", *months, "thereafter", "total_scheduled"]
    keys = list(GROUPS[by])
    if by != "line":
        rows = rows.group_by(*keys, "currency").agg(pl.col(money).sum())
    return rows.select(*keys, "currency", *money).sort(*keys, "currency", nulls_last=True)


def _contracts(data: Basis) -> pl.DataFrame:
    """Per contract: B, R, T now and B, R at the period before, with the §5.1 balances of
    both (the opening ones prefixed `opening_`)."""
    sums = data.lines.group_by("contract_id", "currency").agg(
        pl.col("customer_id").first(),
        pl.col("amount", "allocated", "billed", "recognized", "opening_billed",
               "opening_recognized").sum(),
    )  # fmt: skip
    closing = balances(sums)
    opening = balances(
        sums.select("contract_id", "opening_billed", "opening_recognized", "allocated"),
        billed="opening_billed",
        recognized="opening_recognized",
    ).select("contract_id", pl.col("liability", "asset").name.prefix("opening_"))
    return closing.join(opening, on="contract_id", how="left").sort("contract_id")


def liability(data: Basis) -> pl.DataFrame:
    """Liability report per contract: the deferred revenue balance's movement in the period,
    and `scheduled` (the §5.1 liability scheduled)."""
    c = _contracts(data)
    return c.select(
        "contract_id",
        "currency",
        pl.col("opening_liability").alias("opening_balance"),
        (pl.col("billed") - pl.col("opening_billed")).alias("billed"),
        (pl.col("recognized") - pl.col("opening_recognized")).alias("released"),
        (pl.col("asset") - pl.col("opening_asset")).alias("reclass"),
        pl.col("liability").alias("closing_balance"),
        pl.col("liability_scheduled").alias("scheduled"),
    )


def asset(data: Basis) -> pl.DataFrame:
    """Asset report per contract: the contract asset's movement in the period, and
    `scheduled` (the unbilled remaining, §5.1 asset scheduled)."""
    c = _contracts(data)
    return c.select(
        "contract_id",
        "currency",
        pl.col("opening_asset").alias("opening_balance"),
        (pl.col("asset") - pl.col("opening_asset")).alias("movement"),
        pl.col("asset").alias("closing_balance"),
        pl.col("asset_scheduled").alias("scheduled"),
    )


def insight(data: Basis) -> pl.DataFrame:
    """Revenue Insight per contract: value, allocation, billed, recognized, the balances and
    what remains scheduled (T - R)."""
    c = _contracts(data)
    zero = pl.lit(0, dtype=pl.Int64)
    return c.select(
        "contract_id",
        "customer_id",
        "currency",
        pl.col("amount").alias("contract_value"),
        "allocated",
        pl.col("billed").alias("billed_to_date"),
        pl.col("recognized").alias("recognized_to_date"),
        pl.col("liability").alias("deferred_balance"),
        pl.col("asset").alias("contract_asset"),
        pl.max_horizontal(pl.col("allocated") - pl.col("billed"), zero).alias("unbilled"),
        pl.col("scheduled").alias("scheduled_balance"),
    )


def rpo(data: Basis) -> pl.DataFrame:
    """Remaining performance obligations per contract (ASC 606-10-50-13): T - R, and the part
    scheduled within the next 12 periods."""
    soon = data.schedule.filter(
        (pl.col("period") > data.period) & (pl.col("period") <= data.period + 12)
    )
    within = (
        soon.join(data.lines.select("line_id", "contract_id"), on="line_id", how="inner")
        .group_by("contract_id")
        .agg(pl.col("amount").sum().alias("within_12_months"))
    )
    c = _contracts(data)
    return (
        c.join(within, on="contract_id", how="left")
        .with_columns(pl.col("within_12_months").fill_null(0))
        .select(
            "contract_id",
            "currency",
            "within_12_months",
            (pl.col("scheduled") - pl.col("within_12_months")).alias("beyond_12_months"),
            pl.col("scheduled").alias("total"),
        )
    )


def rollforward(
    lines: pl.DataFrame, postings: pl.DataFrame, billings: pl.DataFrame, periods: list[int]
) -> pl.DataFrame:
    """Roll-forward of deferred revenue and the contract asset per period and currency:
    opening + billed - revenue + reclass = closing. `lines`: line_id, contract_id, currency;
    postings and billings (MOVEMENT_SCHEMA) through the last of `periods` (ascending)."""
    changes = _balance_changes(lines, postings, billings)
    first = periods[0]
    grid = pl.DataFrame({"period": periods}, schema={"period": pl.Int64})
    per = (
        changes.with_columns(pl.max_horizontal(pl.col("period"), pl.lit(first - 1)).alias("at"))
        .group_by("currency", "at")
        .agg(pl.col("b", "r", "dl", "da").sum())
        .rename({"at": "period"})
    )
    currencies = per.select("currency").unique()
    full = (
        currencies.join(pl.concat([grid, pl.DataFrame({"period": [first - 1]})]), how="cross")
        .join(per, on=["currency", "period"], how="left")
        .with_columns(pl.col("b", "r", "dl", "da").fill_null(0))
        .sort("currency", "period")
        .with_columns(pl.col("dl", "da").cum_sum().over("currency").name.suffix("_closing"))
    )
    return (
        full.filter(pl.col("period") >= first)
        .select(
            pl.col("period").map_elements(period_name, return_dtype=pl.String),
            "currency",
            (pl.col("dl_closing") - pl.col("dl")).alias("deferred_opening"),
            pl.col("b").alias("billed"),
            pl.col("r").alias("revenue"),
            pl.col("da").alias("reclass"),
            pl.col("dl_closing").alias("deferred_closing"),
            (pl.col("da_closing") - pl.col("da")).alias("asset_opening"),
            pl.col("da").alias("asset_movement"),
            pl.col("da_closing").alias("asset_closing"),
        )
        .sort("period", "currency")
    )


def _balance_changes(
    lines: pl.DataFrame, postings: pl.DataFrame, billings: pl.DataFrame
) -> pl.DataFrame:
    """Per contract and period it moves in: billed `b`, revenue `r`, and the change of its
    liability `dl` and contract asset `da` at that period's end."""
    owner = lines.select("line_id", "contract_id", "currency")
    moves = (
        pl.concat(
            [
                billings.select(
                    "line_id", "period", pl.col("amount").alias("b"), r=pl.lit(0, pl.Int64)
                ),
                postings.select("line_id", "period", b=pl.lit(0, pl.Int64), r=pl.col("amount")),
            ],
            how="vertical_relaxed",
        )
        .join(owner, on="line_id", how="inner")
        .group_by("contract_id", "currency", "period")
        .agg(pl.col("b", "r").sum())
        .sort("contract_id", "period")
    )
    zero = pl.lit(0, dtype=pl.Int64)
    cumulative = moves.with_columns(
        pl.col("b", "r").cum_sum().over("contract_id").name.suffix("_to_date")
    ).with_columns(
        pl.max_horizontal(pl.col("b_to_date") - pl.col("r_to_date"), zero).alias("l"),
        pl.max_horizontal(pl.col("r_to_date") - pl.col("b_to_date"), zero).alias("a"),
    )
    # A contract's balance changes only in the periods it moves: its change there, summed per
    # currency and period, then accumulated, gives each period's balance.
    return cumulative.with_columns(
        (pl.col(n) - pl.col(n).shift(1).over("contract_id").fill_null(0)).alias(f"d{n}")
        for n in ("l", "a")
    )


def totals(report: pl.DataFrame, money: list[str]) -> pl.DataFrame:
    """A report's money columns summed per currency (never across currencies)."""
    return report.group_by("currency").agg(pl.col(money).sum()).sort("currency")


def rollforward_totals(report: pl.DataFrame) -> pl.DataFrame:
    """A roll-forward's span per currency: the first period's openings, the movements summed,
    the last period's closings (so the totals roll forward as each row does)."""
    ordered = report.sort("period")
    return (
        ordered.group_by("currency")
        .agg(
            pl.col("deferred_opening", "asset_opening").first(),
            pl.col("billed", "revenue", "reclass", "asset_movement").sum(),
            pl.col("deferred_closing", "asset_closing").last(),
        )
        .select("currency", *[c for c in report.columns if c not in ("period", "currency")])
        .sort("currency")
    )
