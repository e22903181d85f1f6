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
    assert found[(3, "pob_template")] == (
        "no_such",
        (
            "unknown POB template 'no_such': expected one of ratable_daily, monthly_prorate, "
            "monthly_full, monthly_mid, license_pit, delivery_end, milestone_evt, usage_billing"
        ),
    )
    assert found[(3, "amount")] == ("1.234", "too many decimals: USD allows 2")
    assert found[(4, "currency")][0] == "XXX"
    assert found[(4, "order_date")][0] == "2024-13-01"
    assert found[(4, "service_end_date")] == ("2024-01-01", "service end is before service start")
    assert {line for line, _ in found} == {3, 4}


def _so(rows, extra=()):
    heads = [
        "contract_id", "customer_id", "so_number", "so_line_id", "order_date", "item_code",
        "pob_template", "amount", "currency", *extra,
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=dict.fromkeys(heads, pl.String), orient="row")


def _errors(errors):
    return [(r["line"], r["column"], r["value"], r["message"]) for r in errors.to_dicts()]


def test_a_contract_keeps_the_customer_and_currency_of_its_first_line():
    raw = _so(
        [
            ["C1", "A", "SO1", "L1", "2024-01-01", "LIC", "license_pit", "100", "USD"],
            ["C1", "B", "SO1", "L2", "2024-01-01", "SUP", "license_pit", "100", "usd"],
            ["C1", "A", "SO1", "L3", "2024-01-01", "SUP", "license_pit", "100", "EUR"],
            ["C2", "B", "SO2", "L4", "2024-01-01", "SUP", "license_pit", "100", "EUR"],
        ]
    )
    good, errors = to_lines(raw, template_frame())
    assert good["line_id"].to_list() == ["L1", "L4"]
    assert _errors(errors) == [
        (3, "customer_id", "B", ("contract 'C1' has customer 'A' (line 2): "
         "expected one customer per contract")),
        (4, "currency", "EUR", ("contract 'C1' has currency 'USD' (line 2): "
         "expected one currency per contract")),
    ]  # fmt: skip


def test_a_repeated_so_line_id_is_a_duplicate_when_identical_and_an_error_when_not():
    line = ["C1", "A", "SO1", "L1", "2024-01-01", "LIC", "license_pit", "100.00", "USD"]
    changed = [*line[:7], "90.00", "USD"]
    good, errors = to_lines(_so([line, line, changed]), template_frame())
    assert good.select("line", "line_id", "duplicate").rows() == [
        (2, "L1", False),
        (3, "L1", True),
    ]
    assert _errors(errors) == [
        (4, "so_line_id", "L1", ("so_line_id 'L1' is also on line 2 with other content: "
         "expected one row per so_line_id")),
    ]  # fmt: skip


def test_flags_policies_and_list_price_are_checked_and_typed():
    extra = ("exclude_from_allocation", "ssp_method", "modification_policy", "list_price",
             "modification_date", "region")  # fmt: skip
    base = ["C1", "A", "SO1", "", "2024-01-01", "LIC", "license_pit", "100.00", "USD"]
    rows = [
        [*base[:3], "L1", *base[4:], "TRUE", "Residual", "prospective", "120.50", "2024-03-01",
         "EMEA"],
        [*base[:3], "L2", *base[4:], "false", None, None, None, None, None],
        [*base[:3], "L3", *base[4:], "yes", "relative", "later", "12.345", "2024-02-30", None],
    ]  # fmt: skip
    good, errors = to_lines(_so(rows, extra), template_frame())
    assert good.select(
        "line", "exclude", "residual", "modification_policy", "list_price", "region"
    ).rows() == [
        (2, True, True, "prospective", 12_050, "EMEA"),
        (3, False, False, None, None, None),
    ]
    assert str(good["modification_date"][0]) == "2024-03-01"
    assert _errors(errors) == [
        (4, "exclude_from_allocation", "yes", "expected true or false"),
        (4, "list_price", "12.345", "too many decimals: USD allows 2"),
        (4, "modification_date", "2024-02-30", "not a day of the calendar"),
        (4, "modification_policy", "later",
         "unknown modification_policy 'later': expected one of catch_up, prospective"),
        (4, "ssp_method", "relative", "unknown ssp_method 'relative': expected one of residual"),
    ]  # fmt: skip


def test_the_file_line_number_given_by_the_reader_is_kept():
    raw = _so([["C1", "A", "SO1", "L1", "2024-01-01", "LIC", "license_pit", "1", "XYZ"]])
    good, errors = to_lines(
        raw.with_columns(pl.lit(7, dtype=pl.Int64).alias("line")), template_frame()
    )
    assert good.height == 0
    assert _errors(errors) == [
        (7, "amount", "1", "no amount can be read without a known currency"),
        (7, "currency", "XYZ", "unknown currency 'XYZ': expected an ISO 4217 code such as USD"),
    ]
