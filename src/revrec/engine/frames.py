"""Checks of order and alignment that let the engine skip a sort or a join that would change
nothing: a frame already in the order asked for, or two frames already row for row.

Pure: frames in, booleans and frames out; no I/O.
"""

from __future__ import annotations

import polars as pl


def ascending(frame: pl.DataFrame, keys: list[str], *, strict: bool = True) -> bool:
    """Whether the frame's rows are in ascending order of these keys, none null: then sorting
    it by them changes nothing. `strict`: no two rows have the same keys either."""
    if any(frame[key].null_count() for key in keys):
        return False
    first, before = pl.col(keys[0]), pl.col(keys[0]).shift(1)
    strictly, weakly = frame.select(
        (first > before).fill_null(value=True).all().alias("strictly"),
        (first >= before).fill_null(value=True).all().alias("weakly"),
    ).row(0)
    # Mostly the first key alone says: a sorted first key of distinct values, or an unsorted one.
    if strictly or not weakly:
        return bool(strictly)
    if len(keys) == 1:
        return not strict
    after = pl.lit(value=False)
    for key in reversed(keys):
        column, before = pl.col(key), pl.col(key).shift(1)
        after = (column > before) | ((column == before) & after)
    if not strict:
        after = after | pl.all_horizontal(pl.col(key) == pl.col(key).shift(1) for key in keys)
    return bool(frame.select(after.fill_null(value=True).all()).item())


def aligned(left: pl.Series, right: pl.Series) -> bool:
    """Whether two key columns hold the same keys in the same row order, each key once and
    none null: then a join on them pairs each row with the row of the same index."""
    return (
        left.len() == right.len()
        and left.dtype == right.dtype
        and left.equals(right)
        and ascending(left.to_frame("_key"), ["_key"])
    )


def joined(left: pl.DataFrame, right: pl.DataFrame, on: str, how: str) -> pl.DataFrame:
    """left.join(right, on=on, how=how) ("inner" or "left") in left's row order, where
    right's keys are unique: side by side when the two are aligned, else a join."""
    others = [name for name in right.columns if name != on]
    if not set(others) & set(left.columns) and aligned(left[on], right[on]):
        return left.hstack(right.select(others))
    return left.join(right, on=on, how=how, maintain_order="left")  # type: ignore[arg-type]


def summed(frame: pl.DataFrame, key: str, value: str, alias: str) -> pl.DataFrame:
    """frame.group_by(key).agg(pl.col(value).sum().alias(alias)), rows in no given order: the
    rows themselves when no key is there twice (they are in ascending order of it)."""
    if frame.schema[value] == pl.Int64 and ascending(frame, [key]):
        return frame.select(key, pl.col(value).fill_null(0).alias(alias))  # a sum of one
    return frame.lazy().group_by(key).agg(pl.col(value).sum().alias(alias)).collect()
