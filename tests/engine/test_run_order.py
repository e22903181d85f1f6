"""engine.run reads its inputs as sets: the order of their rows changes no output.

The run skips sorts, joins and groupings when its inputs come in order (billing-driven lines
alone in their contracts, each with one billing, in id order: the bulk of a Recurly-style
month), so a run over rows in order must equal the run over the same rows in any other.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date, timedelta

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from test_run import OUTPUTS, portfolios

from revrec.engine import methods
from revrec.engine import run as engine
from revrec.engine.journals import ACCOUNT_SCHEMA

MARCH = 2024 * 12 + 2


def _shuffled(inputs: engine.Inputs, seed: int) -> engine.Inputs:
    frames = {
        f.name: getattr(inputs, f.name).sample(fraction=1.0, shuffle=True, seed=seed)
        for f in fields(inputs)
        if isinstance(getattr(inputs, f.name), pl.DataFrame) and f.name != "books"
    }
    return replace(inputs, **frames)


def _same(one: engine.Outputs, other: engine.Outputs) -> None:
    for name in OUTPUTS:
        a, b = getattr(one, name), getattr(other, name)
        if name == "balances":  # in no given order
            a, b = a.sort(a.columns, nulls_last=True), b.sort(b.columns, nulls_last=True)
        assert a.equals(b), name


@given(portfolios(), st.integers(0, 2**32 - 1))
def test_a_run_gives_the_same_outputs_whatever_the_order_of_its_rows(inputs, seed):
    _same(engine.run(inputs), engine.run(_shuffled(inputs, seed)))


def _billing_driven(count: int) -> engine.Inputs:
    """`count` billing-driven lines, each alone in its contract with one billing (a credit
    every seventh), every frame in id order: the rows of a Recurly-style import."""
    lines, billings = [], []
    for i in range(count):
        line, start = f"li{i:04d}", date(2024, 3, 1) + timedelta(days=i % 28)
        one_time = i % 5 == 1
        lines.append(
            {
                "line_id": line,
                "version": 1,
                "contract_id": line,
                "currency": "USD",
                "billing_driven": True,
                "line_no": 1,
                "pob_template": None,
                "schedule_type": "at_range_start" if one_time else "evenly",
                "amount": 0,
                "quantity_micro": 1_000_000,
                "ssp_unit": None,
                "exclude": True,
                "residual": False,
                "start": start,
                "end": None if one_time else start + timedelta(days=30 * (1 + i % 12)),
                "effective_date": start,
                "modification_policy": None,
            }
        )
        billings.append((line, start, (-1 if i % 7 == 0 else 1) * (100 + 7919 * i % 200_000)))
    return engine.Inputs(
        lines=pl.DataFrame(lines, schema=engine.LINE_SCHEMA),
        billings=pl.DataFrame(billings, schema=engine.BILLING_SCHEMA, orient="row"),
        events=pl.DataFrame(schema=engine.EVENT_SCHEMA),
        stored_allocations=pl.DataFrame(schema=engine.ALLOCATION_SCHEMA),
        posted=pl.DataFrame(schema=engine.POSTING_SCHEMA),
        books=pl.DataFrame([("PRIMARY", MARCH)], schema=engine.BOOK_SCHEMA, orient="row"),
        overrides=pl.DataFrame(schema=engine.OVERRIDE_SCHEMA),
        templates=methods.templates([("plan", "ratable_daily", None, None)]),
        policies=pl.DataFrame(schema=engine.POLICY_SCHEMA),
        accounts=pl.DataFrame(
            [("", "default", "", role, code) for role, code in
             (("revenue", "4000"), ("deferred_revenue", "2400"),
              ("accounts_receivable", "1200"), ("contract_asset", "1300"))],
            schema=ACCOUNT_SCHEMA,
            orient="row",
        ),
    )  # fmt: skip


def test_billing_driven_lines_run_the_same_in_id_order_as_in_any_other():
    march = _billing_driven(300)
    first = engine.run(march)
    # Allocated as billed; every line posts in March (each starts in it).
    billed = march.billings.select("line_id", pl.col("amount").alias("allocated"))
    assert first.allocations.select("line_id", "allocated").equals(billed)
    assert first.postings["line_id"].equals(march.lines["line_id"])
    _same(first, engine.run(_shuffled(march, 1)))
    # April, with March closed as posted, in two books, and a second billing for some lines.
    refunds = march.billings.gather_every(10).with_columns(
        pl.lit(date(2024, 4, 9)).alias("doc_date"), -pl.col("amount") // 2
    )
    april = replace(
        march,
        books=pl.DataFrame(
            [("PRIMARY", MARCH + 1), ("LOCAL", MARCH + 1)], schema=engine.BOOK_SCHEMA, orient="row"
        ),
        posted=pl.concat(
            [first.postings, first.postings.with_columns(pl.lit("LOCAL").alias("book"))]
        ),
    )
    for inputs in (april, replace(april, billings=pl.concat([april.billings, refunds]))):
        again = engine.run(inputs)
        assert again.journal.filter(pl.col("source") == "revenue").height > 0
        _same(again, engine.run(_shuffled(inputs, 2)))
