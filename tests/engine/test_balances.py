"""Contract balances at a period end (SPEC §5.1), with B billed, R recognized, T allocated."""

import polars as pl

from revrec.engine.balances import BALANCE_COLUMNS, balances


def balance(billed, recognized, allocated):
    frame = pl.DataFrame({"billed": [billed], "recognized": [recognized], "allocated": [allocated]})
    return balances(frame).select(BALANCE_COLUMNS).row(0, named=True)


def test_overbilled_contract():
    # T 1,000.00, billed 1,200.00, recognized 300.00.
    assert balance(120_000, 30_000, 100_000) == {
        "liability": 90_000,  # 1,200 - 300
        "asset": 0,
        "scheduled": 70_000,  # 1,000 - 300
        "liability_scheduled": 70_000,  # min(900, 700): the 200.00 over T is not future revenue
        "asset_scheduled": 0,  # 1,000 - max(1,200, 300) < 0
        "overbilled": 20_000,  # 1,200 - 1,000
    }


def test_unbilled_contract():
    # T 1,200.00, nothing billed, 500.00 recognized.
    assert balance(0, 50_000, 120_000) == {
        "liability": 0,
        "asset": 50_000,
        "scheduled": 70_000,
        "liability_scheduled": 0,
        "asset_scheduled": 70_000,  # 1,200 - max(0, 500)
        "overbilled": 0,
    }


def test_partly_billed_behind_revenue():
    # T 1,200.00, billed 200.00, recognized 500.00: 300.00 earned but not billed.
    assert balance(20_000, 50_000, 120_000) == {
        "liability": 0,
        "asset": 30_000,
        "scheduled": 70_000,
        "liability_scheduled": 0,
        "asset_scheduled": 70_000,  # 1,200 - max(200, 500)
        "overbilled": 0,
    }


def test_billed_ahead_of_revenue_within_the_price():
    # T 1,200.00, billed 800.00, recognized 300.00: the 900.00 still scheduled is 500.00 already
    # billed (liability) and 400.00 not yet billed; 500 + 400 = 900.
    assert balance(80_000, 30_000, 120_000) == {
        "liability": 50_000,
        "asset": 0,
        "scheduled": 90_000,
        "liability_scheduled": 50_000,  # min(500, 900)
        "asset_scheduled": 40_000,  # 1,200 - max(800, 300)
        "overbilled": 0,
    }


def test_fully_recognized_and_fully_billed_contract_has_nothing_left():
    assert balance(120_000, 120_000, 120_000) == dict.fromkeys(BALANCE_COLUMNS, 0)


def test_fully_recognized_but_partly_billed_contract_is_an_asset():
    # T = R = 1,200.00, billed 1,000.00: the last 200.00 is a receivable-to-be.
    assert balance(100_000, 120_000, 120_000) == {
        "liability": 0,
        "asset": 20_000,
        "scheduled": 0,
        "liability_scheduled": 0,
        "asset_scheduled": 0,
        "overbilled": 0,
    }


def test_balances_of_several_contracts_with_other_column_names():
    frame = pl.DataFrame(
        {
            "contract_id": ["C1", "C2"],
            "B": [120_000, 0],
            "R": [30_000, 50_000],
            "T": [100_000, 120_000],
        }
    )
    result = balances(frame, billed="B", recognized="R", allocated="T")
    assert result["contract_id"].to_list() == ["C1", "C2"]
    assert result["liability"].to_list() == [90_000, 0]
    assert result["asset"].to_list() == [0, 50_000]
    assert result["overbilled"].to_list() == [20_000, 0]
