"""Contract balances at a period end (SPEC §5.1): liability, asset and what remains scheduled.

Pure expressions over columns billed (B), recognized (R) and allocated (T); no I/O.
"""

from __future__ import annotations

import polars as pl

BALANCE_COLUMNS = (
    "liability",
    "asset",
    "scheduled",
    "liability_scheduled",
    "asset_scheduled",
    "overbilled",
)


def balances(
    frame: pl.DataFrame,
    billed: str = "billed",
    recognized: str = "recognized",
    allocated: str = "allocated",
) -> pl.DataFrame:
    """Add the §5.1 balances; all Int64 minor units.

    liability = max(B - R, 0); asset = max(R - B, 0); scheduled = T - R;
    liability_scheduled = min(max(B - R, 0), T - R); asset_scheduled = max(T - max(B, R), 0);
    overbilled = max(B - T, 0). liability_scheduled + asset_scheduled = scheduled for any B, R,
    T; both parts are non-negative when R <= T.
    """
    b, r, t = pl.col(billed), pl.col(recognized), pl.col(allocated)
    zero = pl.lit(0, dtype=pl.Int64)
    return frame.with_columns(
        pl.max_horizontal(b - r, zero).alias("liability"),
        pl.max_horizontal(r - b, zero).alias("asset"),
        (t - r).alias("scheduled"),
        pl.min_horizontal(pl.max_horizontal(b - r, zero), t - r).alias("liability_scheduled"),
        pl.max_horizontal(t - pl.max_horizontal(b, r), zero).alias("asset_scheduled"),
        pl.max_horizontal(b - t, zero).alias("overbilled"),
    )
