"""Amount cells: the vectorized parser agrees with money.parse on every text, and anything that
is not a plain decimal is a row error, never a silent 0 or a null (QA finding: "1,200.00")."""

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from revrec.errors import InputError
from revrec.imports.values import MAX_WHOLE_DIGITS, micro_units, minor_units
from revrec.money import parse

NOT_AMOUNTS = [
    "1,200.00", "1 200.00", "$100.00", "1.200,00", "(100.00)", "1e3", "1_000.00",
    "\uff11\uff10\uff10.00", "\u0661\u0662", ".", "-", "+", "1.2.3", "--1", "12 USD", "0x10",
]  # fmt: skip


def _amounts(cells, currency="USD", places=2):
    frame = pl.DataFrame(
        {"a": cells, "d": [places] * len(cells), "c": [currency] * len(cells)},
        schema={"a": pl.String, "d": pl.Int64, "c": pl.String},
    )
    out = minor_units(frame, "a", "d", "amt", "c")
    return list(zip(out["amt"].to_list(), out["amt_error"].to_list(), strict=True))


@pytest.mark.parametrize("cell", NOT_AMOUNTS)
def test_a_cell_that_is_not_a_plain_decimal_is_an_error(cell):
    assert _amounts([cell, "5.00"]) == [
        (None, "expected an amount like 1234.56"),
        (500, None),
    ]
    quantity = micro_units(pl.DataFrame({"q": [cell]}), "q", "out")
    assert quantity.row(0) == (cell, None, "expected a number like 1.5")


def test_too_many_digits_is_an_error_not_an_overflow():
    assert _amounts(["9" * (MAX_WHOLE_DIGITS + 1), "9" * MAX_WHOLE_DIGITS + ".99"]) == [
        (None, f"expected at most {MAX_WHOLE_DIGITS} digits before the decimal point"),
        (int("9" * MAX_WHOLE_DIGITS + "99"), None),
    ]


@given(
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789.+- ,$e\uff11", max_size=12),
            st.from_regex(r"\A[+-]?[0-9]{0,16}(\.[0-9]{0,5})?\Z"),
        ),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from([("USD", 2), ("JPY", 0), ("KWD", 3)]),
)
def test_the_column_parser_agrees_with_money_parse(cells, currency):
    code, places = currency
    for cell, (value, error) in zip(cells, _amounts(cells, code, places), strict=True):
        try:
            expected = parse(cell, code)
        except InputError:
            expected = None
        whole = cell.strip().lstrip("+-").split(".")[0]
        if expected is not None and len(whole) <= MAX_WHOLE_DIGITS:
            assert (value, error) == (expected, None), cell
        else:
            assert value is None, cell
            assert error is not None, cell
