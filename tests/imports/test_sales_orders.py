import polars as pl

from revrec.imports.sales_orders import to_lines
from revrec.imports.templates import template_frame


def _raw(rows):
    heads = [
        "contract_id", "customer_id", "so_number", "so_line_id", "order_date", "item_code",
        "pob_template", "amount", "currency", "service_start_date", "service_end_date",
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=dict.fromkeys(heads, pl.String), orient="row")


def test_good_rows_survive_bad_rows_and_every_problem_is_named():
    raw = _raw(
        [
            ["C1", "A", "SO1", "L1", "2024-01-01", "LIC", "license_pit", "100.00", "USD",
             "2024-01-01", "2024-12-31"],
            ["C1", "A", "SO1", "L2", "2024-01-01", "SUP", "no_such", "1.234", "USD",
             "2024-01-01", "2024-12-31"],
            ["C2", "B", "SO2", "L3", "2024-13-01", "SUP", "ratable_daily", "5", "XXX",
             "2024-02-01", "2024-01-01"],
            ["C3", "B", "SO3", "L4", "2024-02-01", "SUP", "ratable_daily", "500", "JPY",
             "2024-02-01", "2024-02-29"],
        ]
    )  # fmt: skip
    good, errors = to_lines(raw, template_frame())
    assert good["line_id"].to_list() == ["L1", "L4"]
    assert good["amount"].to_list() == [10_000, 500]
    # The file's inclusive end date 2024-02-29 is the exclusive end 2024-03-01.
    assert str(good["end"][1]) == "2024-03-01"
    found = {(r["line"], r["column"]): (r["value"], r["message"]) for r in errors.to_dicts()}
    assert found[(3, "pob_template")] == ("no_such", "unknown POB template")
    assert found[(3, "amount")] == ("1.234", "too many decimals: the currency allows 2")
    assert found[(4, "currency")][0] == "XXX"
    assert found[(4, "order_date")][0] == "2024-13-01"
    assert found[(4, "service_end_date")] == ("2024-01-01", "service end is before service start")
    assert {line for line, _ in found} == {3, 4}
