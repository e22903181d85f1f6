from datetime import date

import polars as pl

from revrec.imports.costs import to_costs

HEADS = [
    "cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id", "contract_id",
    "amortization", "amortization_months", "expense_immediately",
]  # fmt: skip


def _raw(rows, heads=HEADS):
    return pl.DataFrame(rows, schema=dict.fromkeys(heads, pl.String), orient="row")


def _errors(errors):
    return [(r["line"], r["column"], r["value"], r["message"]) for r in errors.to_dicts()]


def test_costs_good_rows_survive_and_every_problem_is_named():
    raw = _raw(
        [
            ["K1", "commission", "500.00", "USD", "2024-01-31", "L1", None, None, None, None],
            ["K2", "commission", "-120", "eur", "2024-01-31", None, "C1", "Straight_Line", "24",
             "FALSE"],
            ["K3", "bonus", "75", "JPY", "2024-02-01", "L2", None, None, None, "true"],
            ["K4", None, "5.001", "EUR", "2024-13-01", None, None, "straight_line", "0", "maybe"],
            ["K5", "commission", "5", "EUR", "2024-01-31", None, "C1", "follow_revenue", "12",
             None],
            ["K6", "commission", "5", "EUR", "2024-01-31", None, "C1", "straight_line", None,
             None],
            ["K7", "commission", "5", "EUR", "2024-01-31", None, "C1", "monthly", None, None],
            ["K8", "commission", "5", "EUR", "2024-01-31", None, "C1", "straight_line", "1.5",
             None],
        ]
    )  # fmt: skip
    good, errors = to_costs(raw)
    assert good.rows() == [
        (2, "K1", "commission", 50_000, "USD", date(2024, 1, 31), "L1", None, "follow_revenue",
         None, False, False),
        (3, "K2", "commission", -12_000, "EUR", date(2024, 1, 31), None, "C1", "straight_line",
         24, False, False),
        (4, "K3", "bonus", 75, "JPY", date(2024, 2, 1), "L2", None, "follow_revenue", None, True,
         False),
    ]  # fmt: skip
    assert good.columns == [
        "line", "cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id",
        "contract_id", "amortization", "amortization_months", "expense_immediately", "duplicate",
    ]  # fmt: skip
    assert _errors(errors) == [
        (5, "amortization_months", "0", "expected a whole number of months from 1 to 600"),
        (5, "amount", "5.001", "too many decimals: EUR allows 2"),
        (5, "cost_date", "2024-13-01", "not a day of the calendar"),
        (5, "cost_type", "", "a value is required"),
        (5, "expense_immediately", "maybe", "expected true or false"),
        (5, "so_line_id", "", "a value is required in so_line_id or contract_id"),
        (6, "amortization_months", "12",
         "amortization_months is used only with amortization straight_line"),
        (7, "amortization_months", "",
         "a value is required for straight_line amortization: a whole number of months"),
        (8, "amortization", "monthly",
         "unknown amortization 'monthly': expected one of follow_revenue, straight_line"),
        (9, "amortization_months", "1.5", "expected a whole number of months from 1 to 600"),
    ]  # fmt: skip


def test_a_repeated_cost_id_and_free_attributes():
    heads = [*HEADS[:6], "region"]
    row = ["K1", "commission", "500.00", "USD", "2024-01-31", "L1", "EMEA"]
    good, errors = to_costs(_raw([row, row, [*row[:6], "APAC"]], heads))
    assert good.select("line", "duplicate", "region").rows() == [
        (2, False, "EMEA"),
        (3, True, "EMEA"),
    ]
    assert _errors(errors) == [
        (4, "cost_id", "K1", ("cost_id 'K1' is also on line 2 with other content: "
         "expected one row per cost_id")),
    ]  # fmt: skip
