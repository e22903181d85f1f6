"""engine.run: one pure run over any set of contracts.

Contracts are independent, so a run over all of them equals the union of runs over any split of
them into parts; and a few worked examples through the whole run.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from revrec.engine import methods
from revrec.engine import run as engine
from revrec.engine.costs import COST_SCHEMA
from revrec.engine.journals import ACCOUNT_SCHEMA, unbalanced

MICRO = 1_000_000
OPEN = 2024 * 12 + 5  # 2024-06
TEMPLATES = methods.templates(
    [
        ("daily", "ratable_daily", None, None),
        ("prorate", "ratable_monthly", "prorate_days", None),
        ("full", "ratable_monthly", "full_month", None),
        ("mid", "ratable_monthly", "mid_month", None),
        ("pit_start", "point_in_time", None, "start"),
        ("pit_end", "point_in_time", None, "end"),
        ("milestone", "event", None, None),
        ("usage", "upon_billing", None, None),
    ]
)
TEMPLATE_NAMES = TEMPLATES["pob_template"].to_list()
SCHEDULE_TYPES = ("evenly", "at_range_start", "at_range_end", None)
ACTIONS = ("hold", "remove_hold", "accelerate", "expire")
PERCENTS = ("percent", "cumulative_percent")

days = st.integers(min_value=0, max_value=900).map(lambda n: date(2023, 1, 1) + timedelta(n))


@st.composite
def line_versions(draw: st.DrawFn, contract: str, line: str, line_no: int, driven: bool) -> list:
    """One to three versions of a line, each a LINE_SCHEMA row."""
    count = 1 if driven else draw(st.integers(1, 3))
    template = None if driven else draw(st.sampled_from(TEMPLATE_NAMES))
    schedule_type = draw(st.sampled_from(SCHEDULE_TYPES)) if driven else None
    policy = draw(st.sampled_from([None, "catch_up", "prospective"]))
    rows, effective = [], draw(days)
    for version in range(1, count + 1):
        start = draw(days)
        end = draw(
            st.one_of(st.none(), st.integers(1, 500).map(lambda n, s=start: s + timedelta(n)))
        )
        rows.append(
            {
                "line_id": line,
                "version": version,
                "contract_id": contract,
                "currency": "USD",
                "billing_driven": driven,
                "line_no": line_no,
                "pob_template": template,
                "schedule_type": schedule_type,
                "amount": 0 if driven else draw(st.integers(-50_000, 5_000_000)),
                "quantity_micro": draw(st.sampled_from([MICRO, 8 * MICRO, 2_500_000])),
                "ssp_unit": draw(st.one_of(st.none(), st.integers(1, 2_000_000))),
                "exclude": draw(st.booleans()) and not driven,
                "residual": False,
                "start": start,
                "end": end,
                "effective_date": effective,
                "modification_policy": policy,
            }
        )
        effective += timedelta(draw(st.integers(1, 200)))
    return rows


@st.composite
def portfolios(draw: st.DrawFn) -> engine.Inputs:
    lines, billings, events, stored, posted, costs = [], [], [], [], [], []
    for c in range(draw(st.integers(1, 6))):
        contract = f"C{c}"
        driven = draw(st.booleans()) and c % 3 == 2
        for n in range(1 if driven else draw(st.integers(1, 4))):
            line = contract if driven else f"{contract}-{n}"
            versions = draw(line_versions(contract, line, n, driven))
            lines.extend(versions)
            stored.extend(
                (line, v["version"], draw(st.integers(-10_000, 5_000_000))) for v in versions[:-1]
            )
            billings.extend(
                (line, draw(days), draw(st.integers(-100_000, 3_000_000)))
                for _ in range(draw(st.integers(1 if driven else 0, 3)))
            )
            quantities = draw(st.booleans())
            for seq in range(draw(st.integers(0, 3))):
                kind = (
                    "quantity"
                    if quantities
                    else draw(st.sampled_from(["percent", "cumulative_percent"]))
                )
                value = draw(st.integers(0, 9 * MICRO if quantities else 100 * MICRO))
                events.append((line, draw(days), seq, "release", kind, value))
            if draw(st.integers(0, 4)) == 0:
                events.append((line, draw(days), 9, draw(st.sampled_from(ACTIONS)), None, None))
            if draw(st.integers(0, 3)) == 0:  # a contract cost on the line or its contract
                costs.append(
                    (f"K-{line}", None if draw(st.booleans()) else line, contract, "USD",
                     draw(st.integers(-5_000, 500_000)), draw(st.integers(OPEN - 6, OPEN)),
                     draw(days), *draw(st.sampled_from([("follow_revenue", None),
                     ("straight_line", 7)])), draw(st.booleans()))
                )  # fmt: skip
            posted.extend(
                (book, line, period, draw(st.integers(-1_000, 900_000)))
                for book in ("PRIMARY", "LOCAL")
                for period in draw(st.sets(st.integers(OPEN - 8, OPEN - 1), max_size=3))
            )
    policies = [(f"C{c}", "prospective") for c in range(6) if draw(st.booleans())]
    return engine.Inputs(
        lines=pl.DataFrame(lines, schema=engine.LINE_SCHEMA),
        billings=pl.DataFrame(billings, schema=engine.BILLING_SCHEMA, orient="row"),
        events=pl.DataFrame(events, schema=engine.EVENT_SCHEMA, orient="row"),
        stored_allocations=pl.DataFrame(stored, schema=engine.ALLOCATION_SCHEMA, orient="row"),
        posted=pl.DataFrame(posted, schema=engine.POSTING_SCHEMA, orient="row"),
        books=pl.DataFrame(
            [("PRIMARY", OPEN), ("LOCAL", OPEN)], schema=engine.BOOK_SCHEMA, orient="row"
        ),
        overrides=pl.DataFrame(
            [("LOCAL", "prorate", "ratable_daily"), ("LOCAL", "pit_end", "ratable_monthly")],
            schema=engine.OVERRIDE_SCHEMA,
            orient="row",
        ),
        templates=TEMPLATES,
        policies=pl.DataFrame(policies, schema=engine.POLICY_SCHEMA, orient="row"),
        default_policy=draw(st.sampled_from(["catch_up", "prospective"])),
        costs=pl.DataFrame(costs, schema=COST_SCHEMA, orient="row"),
        accounts=pl.DataFrame(
            [
                ("", "default", "", role, code)
                for role, code in (
                    ("revenue", "4000"),
                    ("deferred_revenue", "2400"),
                    ("accounts_receivable", "1200"),
                )
            ]
            + [("LOCAL", "template", "daily", "revenue", "4100")],
            schema=ACCOUNT_SCHEMA,
            orient="row",
        ),
    )


def _part(inputs: engine.Inputs, contracts: set[str]) -> engine.Inputs:
    """The inputs of these contracts only, as a repository would load them."""
    keep = pl.col("contract_id").is_in(list(contracts))
    lines = inputs.lines.filter(keep)
    ids = pl.col("line_id").is_in(lines["line_id"].unique().implode())
    return engine.Inputs(
        lines=lines,
        billings=inputs.billings.filter(ids),
        events=inputs.events.filter(ids),
        stored_allocations=inputs.stored_allocations.filter(ids),
        posted=inputs.posted.filter(ids),
        books=inputs.books,
        overrides=inputs.overrides,
        templates=inputs.templates,
        policies=inputs.policies.filter(keep),
        default_policy=inputs.default_policy,
        costs=inputs.costs.filter(keep),
        accounts=inputs.accounts,
    )


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


OUTPUTS = (
    "allocations", "schedules", "postings", "balances", "findings", "journal", "cost_postings",
)  # fmt: skip


@given(portfolios(), st.data())
def test_a_run_over_all_contracts_equals_the_runs_over_any_split(inputs, data):
    contracts = sorted(inputs.lines["contract_id"].unique().to_list())
    groups = data.draw(
        st.lists(st.integers(0, 2), min_size=len(contracts), max_size=len(contracts))
    )
    whole = engine.run(inputs)
    parts = [
        engine.run(_part(inputs, {c for c, g in zip(contracts, groups, strict=True) if g == group}))
        for group in sorted(set(groups))
    ]
    for name in OUTPUTS:
        together = getattr(whole, name)
        apart = pl.concat([getattr(p, name) for p in parts])
        assert _sorted(together).equals(_sorted(apart)), name
    assert unbalanced(whole.journal).height == 0  # every journal balances per currency
    # Every posting of the open period is in the whole run's schedule's reach: the schedule sums
    # to each allocated line's total in every book.
    totals = whole.schedules.group_by("book", "line_id").agg(pl.col("amount").sum())
    allocated = whole.allocations.select("line_id", "allocated")
    checked = totals.join(allocated, on="line_id").join(
        inputs.lines.select("line_id", "pob_template").unique(), on="line_id"
    )
    time_based = checked.filter(~pl.col("pob_template").is_in(["milestone", "usage"]))
    on_hold = inputs.events.filter(pl.col("action") == "hold")["line_id"].implode()
    settled = time_based.filter(~pl.col("line_id").is_in(on_hold))
    assert (settled["amount"] == settled["allocated"]).all()


def _one_line(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "line_id": "L1",
        "version": 1,
        "contract_id": "C1",
        "currency": "USD",
        "billing_driven": False,
        "line_no": 1,
        "pob_template": "milestone",
        "schedule_type": None,
        "amount": 800_000,
        "quantity_micro": 8 * MICRO,
        "ssp_unit": None,
        "exclude": False,
        "residual": False,
        "start": date(2024, 6, 1),
        "end": date(2025, 6, 1),
        "effective_date": date(2024, 6, 1),
        "modification_policy": None,
    }
    return {**row, **overrides}


def _inputs(lines: list[dict[str, object]], events: list[tuple], billings=()) -> engine.Inputs:
    return engine.Inputs(
        lines=pl.DataFrame(lines, schema=engine.LINE_SCHEMA),
        billings=pl.DataFrame(list(billings), schema=engine.BILLING_SCHEMA, orient="row"),
        events=pl.DataFrame(events, schema=engine.EVENT_SCHEMA, orient="row"),
        stored_allocations=pl.DataFrame(schema=engine.ALLOCATION_SCHEMA),
        posted=pl.DataFrame(schema=engine.POSTING_SCHEMA),
        books=pl.DataFrame([("PRIMARY", OPEN)], schema=engine.BOOK_SCHEMA, orient="row"),
        overrides=pl.DataFrame(schema=engine.OVERRIDE_SCHEMA),
        templates=TEMPLATES,
        policies=pl.DataFrame(schema=engine.POLICY_SCHEMA),
    )


def test_quantity_events_release_their_share_of_the_lines_quantity():
    """8 units for 8,000.00; events of 3 and 2 units release 5/8 = 5,000.00 (not all of it)."""
    day = date(2024, 6, 10)
    out = engine.run(
        _inputs(
            [_one_line()],
            [("L1", day, 1, "release", "quantity", 3 * MICRO),
             ("L1", day, 2, "release", "quantity", 2 * MICRO)],
        )
    )  # fmt: skip
    assert out.postings.rows() == [("PRIMARY", "L1", OPEN, 500_000)]


def test_balances_of_a_contract_billed_ahead_of_its_revenue():
    """A 1,200.00 year of daily service from 2024-06-01, billed 1,200.00 up front: at the end
    of June 30 of its 365 days are recognized (98.63), the rest is deferred."""
    line = _one_line(pob_template="daily", amount=120_000, quantity_micro=MICRO)
    out = engine.run(_inputs([line], [], [("L1", date(2024, 6, 1), 120_000)]))
    assert out.postings.rows() == [("PRIMARY", "L1", OPEN, 9_863)]
    row = out.balances.row(0, named=True)
    assert (row["billed"], row["recognized"], row["allocated"]) == (120_000, 9_863, 120_000)
    assert (row["liability"], row["asset"], row["scheduled"]) == (110_137, 0, 110_137)
    assert out.findings.height == 0


def test_a_cost_on_an_event_line_follows_the_share_released_of_its_allocation():
    """L1: 8,000.00 by milestones, 10% released in June (800.00); L2: 2,000.00 by milestones,
    nothing released. K1 (100.00 on L1) amortizes 10.00; KC (100.00 on the contract, T =
    10,000.00) amortizes 100.00 x 800.00 / 10,000.00 = 8.00. Neither is amortized at once."""
    day = date(2024, 6, 10)
    lines = [_one_line(), _one_line(line_id="L2", line_no=2, amount=200_000)]
    costs = [
        ("K1", "L1", "C1", "USD", 10_000, OPEN, day, "follow_revenue", None, False),
        ("KC", None, "C1", "USD", 10_000, OPEN, day, "follow_revenue", None, False),
    ]
    inputs = _inputs(lines, [("L1", day, 1, "release", "percent", 10 * MICRO)])
    out = engine.run(replace(inputs, costs=pl.DataFrame(costs, schema=COST_SCHEMA, orient="row")))
    assert out.postings.rows() == [("PRIMARY", "L1", OPEN, 80_000)]
    assert out.cost_postings.rows() == [
        ("PRIMARY", "K1", OPEN, "amortize", 1_000),
        ("PRIMARY", "K1", OPEN, "capitalize", 10_000),
        ("PRIMARY", "KC", OPEN, "amortize", 800),
        ("PRIMARY", "KC", OPEN, "capitalize", 10_000),
    ]
    assert out.findings.height == 0


@settings(max_examples=25)
@given(portfolios())
def test_a_run_without_the_month_end_gives_the_same_schedules_postings_and_balances(inputs):
    """What the reports read (decision 59) does not depend on the month-end; a run that skips
    it (Inputs.month_end False) writes no journal lines and no cost postings."""
    whole, reports = engine.run(inputs), engine.run(replace(inputs, month_end=False))
    for name in ("allocations", "schedules", "postings", "balances"):
        assert _sorted(getattr(reports, name)).equals(_sorted(getattr(whole, name))), name
    assert reports.journal.height == 0
    assert reports.cost_postings.height == 0
