from datetime import date

import polars as pl
import pytest

from revrec.errors import InputError
from revrec.imports.events import to_events

HEADS = [
    "so_line_id", "doc_line_id", "event_date", "action", "percent", "cumulative_percent",
    "quantity", "event_id",
]  # fmt: skip


def _raw(rows, heads=HEADS):
    return pl.DataFrame(rows, schema=dict.fromkeys(heads, pl.String), orient="row")


def _errors(errors):
    return [(r["line"], r["column"], r["value"], r["message"]) for r in errors.to_dicts()]


def test_events_good_rows_survive_and_every_problem_is_named():
    raw = _raw(
        [
            ["L1", None, "2024-03-01", None, "50", None, None, "E1"],
            [None, "D1", "2024-04-01", "release", None, "100%", None, "E2"],
            ["L2", None, "2024-04-01T08:00:00Z", "Hold", None, None, None, "E3"],
            ["L3", None, "2024-04-02", "release", None, None, "2.5", "E4"],
            ["L2", "D2", "2024-04-01", "hold", "5", None, None, "E5"],
            [None, None, "2024-04-01", "release", "101", "50", "1", "E6"],
            ["L3", None, None, "release", None, None, None, "E7"],
            ["L3", None, "2024-04-01", "pause", "-1", None, None, "E8"],
            ["L3", None, "2024-04-01", None, None, "100.5", None, "E9"],
            ["L3", None, "2024-04-01", None, None, None, "-1", "E10"],
            ["L3", None, "2024-04-01", None, "1.2345678", None, None, "E11"],
        ]
    )
    good, errors = to_events(raw, "milestone")
    assert good.select(
        "line", "event_id", "event_name", "line_id", "event_date", "action", "kind", "value_micro"
    ).rows() == [
        (2, "E1", "milestone", "L1", date(2024, 3, 1), "release", "percent", 50_000_000),
        (3, "E2", "milestone", "D1", date(2024, 4, 1), "release", "cumulative_percent",
         100_000_000),
        (4, "E3", "milestone", "L2", date(2024, 4, 1), "hold", None, None),
        (5, "E4", "milestone", "L3", date(2024, 4, 2), "release", "quantity", 2_500_000),
    ]  # fmt: skip
    assert _errors(errors) == [
        (6, "doc_line_id", "D2", "expected so_line_id or doc_line_id, not both"),
        (6, "percent", "5", "only a release takes a percent, cumulative_percent or quantity"),
        (7, "cumulative_percent", "50",
         "expected only one of percent, cumulative_percent, quantity"),
        (7, "percent", "101", "expected a percent between 0 and 100"),
        (7, "quantity", "1", "expected only one of percent, cumulative_percent, quantity"),
        (7, "so_line_id", "", "a value is required in so_line_id or doc_line_id"),
        (8, "event_date", "", "a value is required"),
        (8, "percent", "", "a release needs one of percent, cumulative_percent or quantity"),
        (9, "action", "pause",
         ("unknown action 'pause': expected one of release, hold, remove_hold, accelerate, "
         "expire")),
        (9, "percent", "-1", "only a release takes a percent, cumulative_percent or quantity"),
        (10, "cumulative_percent", "100.5", "expected a cumulative percent between 0 and 100"),
        (11, "quantity", "-1", "expected a quantity of 0 or more"),
        (12, "percent", "1.2345678", "at most 6 decimals are allowed"),
    ]  # fmt: skip


def test_an_event_without_id_gets_one_from_its_meaning_not_its_line():
    rows = [
        ["L1", None, "2024-03-01", None, "50", None, None, None],
        ["L1", None, "2024-03-01", None, "50.0", None, None, None],
        ["L1", None, "2024-03-01", "release", "25", None, None, None],
    ]
    good, errors = to_events(_raw(rows), "milestone")
    assert errors.height == 0
    ids = good["event_id"].to_list()
    # "50" and "50.0" mean the same release: the second row is a duplicate of the first.
    assert ids[0] == ids[1] != ids[2]
    assert good["duplicate"].to_list() == [False, True, False]
    # The same row on another line of another file has the same id; the id is written by
    # revrec's own hash, so it does not change with a Polars upgrade either.
    moved, _ = to_events(_raw([rows[2]]).with_columns(pl.lit(40, pl.Int64).alias("line")),
                         "milestone")  # fmt: skip
    assert moved["event_id"].to_list() == [ids[2]]
    assert ids[0] == "auto-" + _reference_hash(
        ["milestone", "L1", "", "2024-03-01", "release", "percent", "50000000"]
    )
    assert ids[0] == "auto-0681931065815377154"
    assert good["content_hash"][0] == ids[0].removeprefix("auto-")
    other, _ = to_events(_raw(rows[:1]), "go_live")
    assert other["event_id"][0] != ids[0]


def _reference_hash(parts):
    """The content hash written out with Python integers, to pin the vectorized one."""
    digits = "\x1f".join(parts).encode().hex()
    chunks = [int(digits[k : k + 13], 16) for k in range(0, len(digits), 13)]
    sums = [
        (len(digits) + sum(c % p * pow(b, k + 1, p) % p for k, c in enumerate(chunks))) % p
        for p, b in ((2_147_483_629, 1_000_003), (2_147_483_587, 7_919_111))
    ]
    return str(sums[0] * 2_147_483_587 + sums[1]).zfill(19)


def test_a_repeated_event_id_with_other_content_is_an_error_on_the_later_row():
    rows = [
        ["L1", None, "2024-03-01", None, "50", None, None, "E1"],
        ["L1", None, "2024-03-01", None, "50", None, None, "E1"],
        ["L1", None, "2024-03-02", None, "50", None, None, "E1"],
    ]
    good, errors = to_events(_raw(rows), "milestone")
    assert good.select("line", "duplicate", "seq").rows() == [(2, False, 2), (3, True, 3)]
    assert _errors(errors) == [
        (4, "event_id", "E1", ("event_id 'E1' is also on line 2 with other content: "
         "expected one row per event_id")),
    ]  # fmt: skip


def test_the_event_name_of_the_file_is_checked():
    raw = _raw([["L1", None, "2024-03-01", None, "50", None, None, None]])
    with pytest.raises(InputError, match=r"^an event file needs the name of its event$"):
        to_events(raw, " ")
    with pytest.raises(InputError) as caught:
        to_events(raw, "golive", known_events={"go_live", "upon_billing"})
    assert str(caught.value) == "unknown event 'golive': expected one of go_live, upon_billing"
