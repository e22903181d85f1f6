"""Money as integer minor units (SPEC §1): parsing, formatting, half-even rounding, exact splits."""

from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from revrec.errors import InputError
from revrec.money import (
    div_half_even,
    exponent,
    format_minor,
    is_currency,
    largest_remainder,
    major_units,
    parse,
    round_half_even,
)


def test_exponents_come_from_iso_4217():
    assert (exponent("USD"), exponent("JPY"), exponent("KWD")) == (2, 0, 3)
    assert exponent("usd") == 2


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1000.00", "USD", 100_000),
        ("-12.5", "USD", -1_250),  # read as -12.50
        ("12", "USD", 1_200),
        ("0.05", "USD", 5),
        ("+3", "USD", 300),
        (" 7.10 ", "USD", 710),
        ("500", "JPY", 500),
        ("-1500", "JPY", -1_500),
        ("1.234", "KWD", 1_234),
        ("0.5", "KWD", 500),  # read as 0.500
        ("-2", "KWD", -2_000),
    ],
)
def test_parse_reads_major_units_as_minor_units(text, currency, minor):
    assert parse(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("1.234", "USD"),  # a third decimal would need rounding to cents
        ("1.5", "JPY"),  # yen have no decimals
        ("0.0001", "KWD"),  # fils have three
    ],
)
def test_more_decimals_than_the_currency_allows_is_an_input_error(text, currency):
    with pytest.raises(InputError, match="decimals"):
        parse(text, currency)


def test_trailing_zeros_beyond_the_exponent_are_accepted():
    # docs/decisions.md #1: only a digit that would need rounding is an error; "1.230" is 1.23.
    assert parse("1.230", "USD") == 123
    assert parse("1.0", "JPY") == 1
    assert parse("2.50000", "KWD") == 2_500


@pytest.mark.parametrize("text", ["", "abc", "1,000.00", "1.2.3", "--5", "."])
def test_text_that_is_not_an_amount_is_an_input_error(text):
    with pytest.raises(InputError, match="not an amount"):
        parse(text, "USD")


def test_unknown_currency_is_an_input_error():
    with pytest.raises(InputError, match="unknown currency"):
        parse("1.00", "ABC")
    # XXX is in ISO 4217 ("no currency") but has no minor unit, so it is not money.
    with pytest.raises(InputError, match="no minor unit"):
        parse("1.00", "XXX")
    assert is_currency("KWD")
    assert not is_currency("ABC")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (100_000, "USD", "1000.00"),
        (-1_250, "USD", "-12.50"),
        (5, "USD", "0.05"),
        (-5, "USD", "-0.05"),
        (0, "USD", "0.00"),
        (500, "JPY", "500"),
        (-1_500, "JPY", "-1500"),
        (1_234, "KWD", "1.234"),
        (-7, "KWD", "-0.007"),
    ],
)
def test_format_shows_exactly_the_currency_decimals(minor, currency, text):
    assert format_minor(minor, currency) == text
    assert parse(text, currency) == minor


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (Fraction(1, 2), 0),  # tie: to the even 0
        (Fraction(3, 2), 2),  # tie: to the even 2
        (Fraction(5, 2), 2),
        (Fraction(-1, 2), 0),
        (Fraction(-3, 2), -2),
        (Fraction(7, 3), 2),  # 2.33
        (Fraction(8, 3), 3),  # 2.67
        (Fraction(-8, 3), -3),
        (Fraction(4), 4),
    ],
)
def test_round_half_even(value, rounded):
    assert round_half_even(value) == rounded
    assert div_half_even(value.numerator, value.denominator) == rounded


def test_div_half_even_of_a_schedule_share():
    # 100.00 over 7 days, 3 of them elapsed: 10,000 x 3 / 7 = 4,285.71 -> 4,286
    assert div_half_even(10_000 * 3, 7) == 4_286


def test_largest_remainder_gives_leftover_units_to_the_largest_remainders():
    # 100.00 by 2:3:4: 2,222.22 / 3,333.33 / 4,444.44; one cent is left and .44 is the largest.
    assert largest_remainder(10_000, [2, 3, 4]) == [2_222, 3_333, 4_445]
    # 100.00 by 1:2: 3,333.33 / 6,666.67; the .67 remainder wins the cent.
    assert largest_remainder(10_000, [1, 2]) == [3_333, 6_667]


def test_largest_remainder_ties_go_to_the_earlier_part():
    # 100 by 1:1:1 is 33.33 each: the one unit left goes to the first part.
    assert largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    # 5 by 1:1:1:1 is 1.25 each: one unit left, first part.
    assert largest_remainder(5, [1, 1, 1, 1]) == [2, 1, 1, 1]


def test_largest_remainder_with_zero_weights_and_exact_shares():
    assert largest_remainder(900, [0, 1, 2]) == [0, 300, 600]
    assert largest_remainder(7, [1]) == [7]


def test_largest_remainder_refuses_weights_that_sum_to_zero():
    with pytest.raises(InputError, match="sum to zero"):
        largest_remainder(100, [0, 0])


@given(
    st.lists(
        st.tuples(st.integers(-(10**15), 10**15), st.sampled_from(["USD", "JPY", "KWD", "CLF"])),
        max_size=30,
    )
)
def test_major_units_formats_a_column_as_format_minor_does_each_value(rows):
    frame = pl.DataFrame(rows, schema={"amount": pl.Int64, "currency": pl.String}, orient="row")
    shown = major_units(frame, ["amount"])["amount"].to_list()
    assert shown == [format_minor(a, c) for a, c in rows]
