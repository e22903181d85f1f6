"""engine.frames: the order and alignment checks that let the engine skip a sort or a join.

Each shortcut must give what the sort, join or group_by it skips would give.
"""

from __future__ import annotations

import itertools

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from revrec.engine.frames import aligned, ascending, joined, summed

KEYS = st.sampled_from(["a", "b", "c", None])
ROWS = st.lists(st.tuples(KEYS, st.integers(0, 2), st.integers(-5, 5)), max_size=8)
SCHEMA = {"k": pl.String, "n": pl.Int64, "v": pl.Int64}


def _frame(rows: list[tuple[str | None, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


@given(ROWS, st.booleans())
def test_ascending_says_whether_sorting_would_change_nothing(rows, strict):
    frame = _frame(rows)
    for keys in (["k"], ["k", "n"], ["k", "n", "v"]):
        values = frame.select(keys).rows()
        if any(None in row for row in values):
            expected = False  # nulls: never taken as sorted
        elif strict:
            expected = all(a < b for a, b in itertools.pairwise(values))
        else:
            expected = all(a <= b for a, b in itertools.pairwise(values))
        assert ascending(frame, keys, strict=strict) == expected, (values, keys)
        if expected:
            assert frame.sort(keys).equals(frame)


@given(ROWS, ROWS)
def test_joined_is_the_join_in_the_left_frames_order(left_rows, right_rows):
    left = _frame(left_rows)
    right = _frame(right_rows).unique("k", keep="first").select("k", pl.col("v").alias("w"))
    for how in ("inner", "left"):
        expected = left.join(right, on="k", how=how, maintain_order="left")
        assert joined(left, right, "k", how).equals(expected)


def test_joined_puts_aligned_frames_side_by_side():
    left = pl.DataFrame({"k": ["a", "b", "c"], "v": [1, 2, 3]})
    right = pl.DataFrame({"k": ["a", "b", "c"], "w": [4, 5, 6]})
    assert aligned(left["k"], right["k"])
    assert not aligned(left["k"], right["k"].reverse())
    assert not aligned(pl.Series(["a", "a"]), pl.Series(["a", "a"]))  # a key twice: a join
    assert joined(left, right, "k", "inner").equals(left.hstack(right.select("w")))


@given(ROWS)
def test_summed_is_the_group_by_sum(rows):
    frame = _frame(rows).with_columns(pl.when(pl.col("v") == 0).then(None).otherwise("v"))
    expected = frame.group_by("k").agg(pl.col("v").sum().alias("s"))
    order = ["k"]
    assert summed(frame, "k", "v", "s").sort(order).equals(expected.sort(order))
    ordered = frame.sort("k").unique("k", keep="first", maintain_order=True).drop_nulls("k")
    assert summed(ordered, "k", "v", "s").equals(
        ordered.select("k", pl.col("v").fill_null(0).alias("s"))
    )
