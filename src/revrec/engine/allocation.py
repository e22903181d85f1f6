"""Allocation of each contract's transaction price to its lines by relative SSP (SPEC §3).

Pure: a frame of lines in, the same frame with `allocated` out, plus errors as values. No I/O.

Input columns: contract_id, line_id, amount (minor units), method, and optionally line_no (order
for ties; default: row order), quantity_micro (quantity x 1e6; default 1e6), ssp_unit (SSP unit
price in minor units; null = use the line's own amount), exclude (exclude_from_allocation),
residual (ssp_method = residual).

Rule: TP = sum of the allocatable lines' amounts (not excluded, not upon_billing). Each allocatable
line gets TP x w_i / sum(w), w_i = ssp_unit x quantity (or its amount); the floors are topped up
one minor unit at a time by largest remainder, ties to the earlier line_no. A negative TP is split
as the mirror image of the positive one. With one residual line,
the others get exactly round_half_even(ssp_unit x quantity) and the residual line the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from revrec.engine.exprs import I128, div_half_even

MICRO = 1_000_000


@dataclass(frozen=True)
class AllocationError:
    contract_id: str
    message: str


def _with_defaults(lines: pl.DataFrame) -> pl.DataFrame:
    defaults: dict[str, pl.Expr] = {
        "line_no": pl.int_range(pl.len(), dtype=pl.Int64),
        "quantity_micro": pl.lit(MICRO, dtype=pl.Int64),
        "ssp_unit": pl.lit(None, dtype=pl.Int64),
        "exclude": pl.lit(value=False),
        "residual": pl.lit(value=False),
    }
    missing = [expr.alias(name) for name, expr in defaults.items() if name not in lines.columns]
    return lines.with_columns(missing) if missing else lines


def allocate(lines: pl.DataFrame) -> tuple[pl.DataFrame, list[AllocationError]]:
    """Add `allocated` (Int64 minor units) to every line; contracts in error get null."""
    keyed = "contract_id" in lines.columns and lines["contract_id"].null_count() == 0
    if lines.height and keyed and lines.schema.get("amount") == pl.Int64:
        # A contract without an allocatable line (billing-driven lines are excluded) keeps its
        # lines' amounts and cannot be in error: only the other contracts are allocated.
        frame = _with_defaults(lines)
        allocatable = _allocatable(frame)
        if not allocatable.any():
            return lines.with_columns(pl.col("amount").alias("allocated")), []
        involved = frame["contract_id"].filter(allocatable).unique()
        mine = frame["contract_id"].is_in(involved.implode())
        if not mine.all():
            result, found = _allocated(lines.filter(mine))
            values = result.select("_row", "allocated").sort("_row")["allocated"]
            allocated = lines["amount"].clone().scatter(mine.arg_true(), values)
            return lines.with_columns(allocated.alias("allocated")), found
    result, found = _allocated(lines)
    return lines.with_columns(result.select("_row", "allocated").sort("_row")["allocated"]), found


def _allocatable(frame: pl.DataFrame) -> pl.Series:
    """Whether each line is in its contract's transaction price (`_alloc`)."""
    return frame.select(
        ~pl.col("exclude").fill_null(value=False) & (pl.col("method") != "upon_billing")
    ).to_series()


# The figures an allocation is made of (`steps`), each from its working column.
STEPS = {
    "allocatable": "_alloc",  # in the transaction price (not excluded, not upon_billing)
    "residual": "_residual",  # the line of ssp_method residual
    "transaction_price": "_tp",  # TP of the line's contract (signed)
    "weight": "_w",  # SSP_i x 1e6: ssp_unit x quantity_micro, or amount x 1e6 (Int128)
    "weight_total": "_wsum",  # the sum of the allocatable (non-residual) lines' weights
    "floor": "_floor",  # floor(|TP| x weight / weight_total), relative approach
    "remainder": "_rem",  # |TP| x weight mod weight_total: the remainder's numerator
    "extra": "_bump",  # 1 when the line gets one of the units left over by the floors
    "own": "_own",  # residual approach: the other lines' round_half_even(weight / 1e6)
    "allocated": "allocated",
}


def steps(lines: pl.DataFrame) -> tuple[pl.DataFrame, list[AllocationError]]:
    """The figures of each line's allocation (the columns of STEPS), in the lines' order, and
    the contracts in error: `allocate` adds their `allocated` column, explanations show them
    all. allocated = (floor + extra) x the sign of TP for the relative approach."""
    result, found = _allocated(lines)
    # A part that is absent (no residual contract, say) leaves its columns out of the result.
    figures = [
        (pl.col(column) if column in result.columns else pl.lit(None)).alias(name)
        for name, column in STEPS.items()
    ]
    return result.select("_row", *figures).sort("_row").drop("_row"), found


def _allocated(lines: pl.DataFrame) -> tuple[pl.DataFrame, list[AllocationError]]:
    """Every line with its working columns (STEPS) and `_row`, its place in `lines`."""
    needed = ["contract_id", "amount", "method", "line_no", "quantity_micro", "ssp_unit",
              "exclude", "residual"]  # fmt: skip
    frame = _with_defaults(lines).select(needed).with_row_index("_row")
    # Windows over an integer key are much cheaper than over the contract_id strings.
    frame = frame.with_columns(
        pl.col("contract_id").cast(pl.Categorical).to_physical().alias("_ck")
    ).with_columns(
        (~pl.col("exclude").fill_null(value=False) & (pl.col("method") != "upon_billing")).alias(
            "_alloc"
        ),
        pl.col("residual").fill_null(value=False).alias("_residual"),
    )
    ssp_total = pl.col("ssp_unit").cast(I128) * pl.col("quantity_micro").cast(I128)
    frame = frame.with_columns(
        pl.when(pl.col("ssp_unit").is_not_null())
        .then(ssp_total)
        .otherwise(pl.col("amount").cast(I128) * MICRO)
        .alias("_w"),
    )
    alloc = pl.col("_alloc")
    plain = alloc & ~pl.col("_residual")
    frame = frame.with_columns(
        pl.when(alloc).then(pl.col("amount")).otherwise(0).sum().over("_ck").alias("_tp"),
        pl.when(plain).then(pl.col("_w")).otherwise(0).sum().over("_ck").alias("_wsum"),
        (alloc & pl.col("_residual")).sum().over("_ck").alias("_nres"),
        (plain & (pl.col("_w") < 0)).any().over("_ck").alias("_negw"),
    )
    residual_contracts = frame.filter(pl.col("_nres") > 0)
    relative = frame.filter(pl.col("_nres") == 0)
    parts = [_relative(relative), _residual(residual_contracts)]
    result = pl.concat([p for p in parts if p.height > 0] or [parts[0]], how="diagonal_relaxed")
    errors = (
        result.filter(pl.col("_error").is_not_null())
        .group_by("contract_id", maintain_order=True)
        .agg(pl.col("_error").first())
    )
    return result, [AllocationError(c, m) for c, m in errors.iter_rows()]


def _relative(frame: pl.DataFrame) -> pl.DataFrame:
    """Relative SSP with largest remainder; vectorized over all contracts at once."""
    alloc = pl.col("_alloc")
    # A negative price (a credit contract) is split as the mirror of the positive one, so a full
    # credit of a sale reverses its allocation exactly.
    sign = pl.when(pl.col("_tp") < 0).then(-1).otherwise(1)
    frame = frame.with_columns(sign.alias("_sign"), pl.col("_tp").abs().alias("_abs"))
    frame = frame.with_columns(
        pl.when(alloc & (pl.col("_wsum") > 0))
        .then(pl.col("_abs").cast(I128) * pl.col("_w"))
        .otherwise(None)
        .alias("_num"),
    )
    frame = frame.with_columns(
        (pl.col("_num") // pl.col("_wsum")).alias("_floor"),
        (pl.col("_num") % pl.col("_wsum")).alias("_rem"),
    )
    frame = frame.with_columns(
        (pl.col("_abs") - pl.col("_floor").sum().over("_ck")).alias("_left"),
    )
    ranked = frame.sort(
        ["_ck", "_rem", "line_no"], descending=[False, True, False], nulls_last=True
    )
    # Rank within a contract without a window: rows of a contract are adjacent after the sort.
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    first = pl.col("_ck") != pl.col("_ck").shift(1)
    ranked = ranked.with_columns(
        (index - pl.when(first.fill_null(value=True)).then(index).forward_fill()).alias("_rank")
    )
    ranked = ranked.with_columns(
        (alloc & (pl.col("_wsum") > 0) & (pl.col("_rank") < pl.col("_left")))
        .cast(I128)
        .alias("_bump")
    )
    bump = pl.col("_bump")
    error = (
        pl.when(pl.col("_negw"))
        .then(pl.lit("a line has a negative SSP weight: give it an SSP or exclude it"))
        .when(alloc.any().over("_ck") & (pl.col("_wsum") == 0) & (pl.col("_tp") != 0))
        .then(pl.lit("the allocatable lines' SSPs sum to zero but the transaction price does not"))
        .otherwise(None)
    )
    return ranked.with_columns(error.alias("_error")).with_columns(
        pl.when(pl.col("_error").is_not_null())
        .then(None)
        .when(alloc & (pl.col("_wsum") > 0))
        .then(((pl.col("_floor") + bump) * pl.col("_sign")).cast(pl.Int64))
        .when(alloc)
        .then(0)
        .otherwise(pl.col("amount"))
        .alias("allocated")
    )


def _residual(frame: pl.DataFrame) -> pl.DataFrame:
    """Residual approach: the others get exactly their SSP, the residual line what is left."""
    if frame.height == 0:
        return frame
    alloc = pl.col("_alloc")
    own = div_half_even(pl.col("_w"), pl.lit(MICRO, dtype=I128)).cast(pl.Int64)
    frame = frame.with_columns(
        pl.when(alloc & ~pl.col("_residual")).then(own).otherwise(None).alias("_own")
    )
    frame = frame.with_columns((pl.col("_tp") - pl.col("_own").sum().over("_ck")).alias("_rest"))
    error = (
        pl.when(pl.col("_nres") > 1)
        .then(pl.lit("more than one line uses ssp_method residual"))
        .when(pl.col("_rest") < 0)
        .then(pl.lit("residual allocation is negative: the other lines' SSPs exceed the price"))
        .otherwise(None)
    )
    return frame.with_columns(error.alias("_error")).with_columns(
        pl.when(pl.col("_error").is_not_null())
        .then(None)
        .when(alloc & pl.col("_residual"))
        .then(pl.col("_rest"))
        .when(alloc)
        .then(pl.col("_own"))
        .otherwise(pl.col("amount"))
        .cast(pl.Int64)
        .alias("allocated")
    )
