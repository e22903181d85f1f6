"""Money: ISO 4217 minor units, parsing and formatting of major-unit strings, exact splits.

Amounts are Python ints of minor units; a float never holds money. No I/O here.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import cache

import iso4217
import polars as pl

from revrec.errors import InputError

_AMOUNT = re.compile(r"^\s*([+-])?([0-9]+)?(?:\.([0-9]*))?\s*$")  # ASCII digits only


@cache
def exponent(currency: str) -> int:
    """The number of decimals of an ISO 4217 currency (USD 2, JPY 0, KWD 3)."""
    code = currency.strip().upper()
    try:
        found = iso4217.Currency(code)
    except ValueError:
        raise InputError(f"unknown currency {currency!r}: expected an ISO 4217 code") from None
    if found.exponent is None:
        raise InputError(f"currency {code} has no minor unit (not a money currency)")
    digits: int = found.exponent
    return digits


def is_currency(currency: str) -> bool:
    try:
        exponent(currency)
    except InputError:
        return False
    return True


def parse(text: str, currency: str) -> int:
    """Read a major-unit string ("1000.00", "-12.5") as minor units of `currency`.

    More decimals than the currency allows is an error, never a silent rounding.
    """
    digits = exponent(currency)
    match = _AMOUNT.match(text)
    if match is None or (match.group(2) is None and not match.group(3)):
        raise InputError(f"{text!r} is not an amount: expected digits like 1234.56")
    sign, whole, frac = match.group(1), match.group(2) or "0", match.group(3) or ""
    frac = frac.rstrip("0") if len(frac) > digits else frac
    if len(frac) > digits:
        raise InputError(
            f"{text!r} has {len(frac)} decimals; {currency.upper()} allows at most {digits}"
        )
    scale = int(10**digits)
    value = int(whole) * scale + (int(frac.ljust(digits, "0")) if digits else 0)
    return -value if sign == "-" else value


def format_minor(amount: int, currency: str) -> str:
    """Minor units as a major-unit string with exactly the currency's decimals."""
    digits = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), int(10**digits))
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"


def round_half_even(value: Fraction) -> int:
    """Round an exact rational to the nearest integer, ties to even."""
    floor, rest = divmod(value.numerator, value.denominator)
    twice = 2 * rest
    if twice > value.denominator or (twice == value.denominator and floor % 2 == 1):
        return floor + 1
    return floor


def div_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-even, exactly (denominator > 0)."""
    floor, rest = divmod(numerator, denominator)
    twice = 2 * rest
    if twice > denominator or (twice == denominator and floor % 2 == 1):
        return floor + 1
    return floor


def largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split `total` in proportion to non-negative `weights`; the parts sum exactly to `total`.

    Each part is floor(total * w / sum(w)); the units left over go one each to the parts with the
    largest remainders, ties to the earlier part. This is the scalar rule the engine vectorizes.
    """
    whole = sum(weights)
    if whole <= 0:
        raise InputError("cannot split by weights that sum to zero")
    if total < 0:
        # The mirror image of the positive split, so a credit reverses its charge exactly.
        return [-part for part in largest_remainder(-total, weights)]
    floors = [divmod(total * w, whole) for w in weights]
    left = total - sum(f for f, _ in floors)
    order = sorted(range(len(weights)), key=lambda i: (-floors[i][1], i))
    bumped = set(order[:left])
    return [f + (1 if i in bumped else 0) for i, (f, _) in enumerate(floors)]


def major_units(
    frame: pl.DataFrame, columns: list[str], currency: str = "currency"
) -> pl.DataFrame:
    """Minor-unit columns as major-unit strings in each row's currency (as `format_minor`, for a
    whole column at once). Null stays null."""
    if frame.height == 0:
        return frame.with_columns(pl.col(columns).cast(pl.String))
    digits = {code: exponent(code) for code in frame[currency].unique().drop_nulls().to_list()}
    places = pl.col(currency).replace_strict(digits, return_dtype=pl.Int64, default=2)

    def shown(name: str) -> pl.Expr:
        amount = pl.col(name)
        sign = pl.when(amount < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        scale = pl.lit(10, dtype=pl.Int64).pow(places)
        whole, fraction = amount.abs() // scale, amount.abs() % scale
        result = pl.format("{}{}", sign, whole)
        for count in sorted(set(digits.values()) - {0}, reverse=True):
            padded = fraction.cast(pl.String).str.pad_start(count, "0")
            result = (
                pl.when(places == count)
                .then(pl.format("{}{}.{}", sign, whole, padded))
                .otherwise(result)
            )
        return result.alias(name)

    return frame.with_columns(shown(name) for name in columns)
