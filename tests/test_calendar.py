"""Dates and periods (SPEC §1): the three file date formats, YYYY-MM periods, day counts."""

from datetime import date

import pytest

from revrec.calendar import (
    days_in_month,
    month_index,
    month_start,
    parse_date,
    parse_period,
    period_name,
)
from revrec.errors import InputError


@pytest.mark.parametrize(
    "text",
    ["2017-06-01", "2017-06-01T12:00:00Z", "2017-06-01 12:00:00 UTC", " 2017-06-01 "],
)
def test_the_three_file_formats_give_the_same_date(text):
    assert parse_date(text) == date(2017, 6, 1)


def test_a_time_late_in_the_utc_day_stays_on_that_day():
    assert parse_date("2017-06-01T23:59:59Z") == date(2017, 6, 1)
    assert parse_date("2017-06-30 23:59:59 UTC") == date(2017, 6, 30)


def test_an_offset_is_converted_to_utc_before_the_time_is_dropped():
    # 22:30 in New York (-05:00) is 03:30 UTC the next day.
    assert parse_date("2017-06-01T22:30:00-05:00") == date(2017, 6, 2)
    # 01:00 in Berlin summer time (+02:00) is 23:00 UTC the day before.
    assert parse_date("2017-06-01T01:00:00+02:00") == date(2017, 5, 31)
    # Across a month end and a year end.
    assert parse_date("2023-12-31T20:00:00-06:00") == date(2024, 1, 1)


@pytest.mark.parametrize("text", ["2017-13-01", "2017-02-30", "01/06/2017", "tomorrow", ""])
def test_a_date_that_does_not_exist_or_cannot_be_read_is_an_input_error(text):
    with pytest.raises(InputError, match="not a date"):
        parse_date(text)


def test_period_names_and_month_indexes():
    # A month index is year x 12 + month - 1: 2024 x 12 + 1 = 24,289 for February 2024.
    assert parse_period("2024-02") == 24_289
    assert period_name(24_289) == "2024-02"
    assert period_name(parse_period("2024-12") + 1) == "2025-01"
    assert period_name(parse_period("2024-01") - 1) == "2023-12"
    assert month_index(date(2024, 2, 29)) == parse_period("2024-02")
    assert month_start(parse_period("2024-02")) == date(2024, 2, 1)


@pytest.mark.parametrize("text", ["2024-13", "2024-00", "2024-2", "24-02", "2024/02", "2024-02-01"])
def test_a_malformed_period_is_an_input_error(text):
    with pytest.raises(InputError, match="not a period"):
        parse_period(text)


@pytest.mark.parametrize(
    ("period", "days"),
    [
        ("2024-02", 29),  # 2024 is divisible by 4
        ("2023-02", 28),
        ("2000-02", 29),  # divisible by 400
        ("1900-02", 28),  # divisible by 100 but not 400
        ("2024-01", 31),
        ("2024-04", 30),
        ("2024-12", 31),
    ],
)
def test_days_in_month(period, days):
    assert days_in_month(parse_period(period)) == days
