"""Properties of the report rules (engine/reports) on random lines: every waterfall row adds
up, the liability and asset reports roll forward like the GL accounts, the reconciliation's
totals agree, and the roll-forward's rows and totals roll."""

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from revrec.engine import reports

PERIOD = 24_290  # 2024-03
money = st.integers(min_value=-50_000, max_value=500_000)


@st.composite
def bases(draw):
    count = draw(st.integers(min_value=1, max_value=8))
    lines, schedule, postings, billings = [], [], [], []
    for n in range(count):
        line, contract = f"L{n}", f"C{draw(st.integers(0, 3))}"
        currency = {"C0": "USD", "C1": "USD", "C2": "EUR", "C3": "JPY"}[contract]
        amounts = draw(st.lists(money, min_size=1, max_size=18))
        first = PERIOD - draw(st.integers(0, 5))
        schedule += [(line, first + k, a) for k, a in enumerate(amounts)]
        postings += [(line, first + k, a) for k, a in enumerate(amounts) if first + k <= PERIOD]
        billings += [(line, PERIOD - draw(st.integers(0, 3)), draw(money))
                     for _ in range(draw(st.integers(0, 3)))]  # fmt: skip
        lines.append((line, contract, currency, "CUST", "ITEM", "TPL", sum(amounts), sum(amounts)))
    schema = ["line_id", "contract_id", "currency", "customer_id", "item_code", "pob_template",
              "amount", "allocated"]  # fmt: skip
    movement = {"line_id": pl.String, "period": pl.Int64, "amount": pl.Int64}
    return reports.basis(
        PERIOD,
        pl.DataFrame(lines, schema=schema, orient="row"),
        pl.DataFrame(schedule, schema=movement, orient="row"),
        pl.DataFrame(postings, schema=movement, orient="row"),
        pl.DataFrame(billings, schema=movement, orient="row"),
    )


@given(data=bases(), periods=st.integers(min_value=1, max_value=14))
def test_the_reports_add_up_and_roll(data, periods):
    months = reports.month_names(PERIOD, periods)
    waterfall = reports.waterfall(data, periods=periods)
    for row in waterfall.iter_rows(named=True):
        assert row["allocated"] == row["recognized_to_date"] + row["total_scheduled"]
        assert row["total_scheduled"] == sum(row[m] for m in months) + row["thereafter"]
    liability, asset = reports.liability(data), reports.asset(data)
    for row in liability.iter_rows(named=True):
        assert row["closing_balance"] == (
            row["opening_balance"] + row["billed"] - row["released"] + row["reclass"]
        )
        assert row["closing_balance"] >= 0
    for row in asset.iter_rows(named=True):
        assert row["closing_balance"] == row["opening_balance"] + row["movement"]
    insight = reports.insight(data)
    for currency in data.lines["currency"].unique():
        mine = pl.col("currency") == currency
        scheduled = int(liability.filter(mine)["scheduled"].sum()) + int(
            asset.filter(mine)["scheduled"].sum()
        )
        assert int(waterfall.filter(mine)["total_scheduled"].sum()) == scheduled
        assert int(insight.filter(mine)["scheduled_balance"].sum()) == scheduled
    rpo = reports.rpo(data)
    assert (rpo["within_12_months"] + rpo["beyond_12_months"] == rpo["total"]).all()


@given(data=bases())
def test_the_rollforward_rolls_and_ends_at_the_balances(data):
    lines = data.lines.select("line_id", "contract_id", "currency")
    postings = data.schedule.filter(pl.col("period") <= PERIOD)
    billings = pl.DataFrame(schema={"line_id": pl.String, "period": pl.Int64, "amount": pl.Int64})
    rows = reports.rollforward(lines, postings, billings, list(range(PERIOD - 2, PERIOD + 1)))
    for row in rows.iter_rows(named=True):
        assert row["deferred_closing"] == (
            row["deferred_opening"] + row["billed"] - row["revenue"] + row["reclass"]
        )
        assert row["asset_closing"] == row["asset_opening"] + row["asset_movement"]
    totals = reports.rollforward_totals(rows)
    for row in totals.iter_rows(named=True):
        assert row["deferred_closing"] == (
            row["deferred_opening"] + row["billed"] - row["revenue"] + row["reclass"]
        )
