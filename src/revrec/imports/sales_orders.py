"""Sales-order rows (attribute names of a sales_order mapping, all strings, plus `line`) to engine
lines.

Validation is per cell and vectorized: every problem becomes a row error (file line, column,
value, message) and the good rows go on. No I/O: the caller reads the file.
"""

from __future__ import annotations

import polars as pl

from revrec.imports.checks import (
    ERROR_SCHEMA,
    FIRST_DATA_LINE,
    REQUIRED,
    boolean,
    bounded_cells,
    check,
    choice,
    duplicates,
    first_of_group,
    free_attributes,
    prepare,
    required,
    text,
)
from revrec.imports.mappings import KNOWN, REVREC_SALES_ORDER
from revrec.imports.templates import with_templates
from revrec.imports.values import currency_exponents, dates, micro_units, minor_units
from revrec.vocab import POLICIES, SSP_METHODS

RATABLE = ("ratable_daily", "ratable_monthly")  # methods that need a service period

__all__ = [
    "ERROR_SCHEMA", "FIRST_DATA_LINE", "POLICIES", "RATABLE", "SSP_METHODS", "recognition",
    "to_lines",
]  # fmt: skip

ATTRIBUTES = KNOWN["sales_order"]
UNKNOWN_CURRENCY = "': expected an ISO 4217 code such as USD"


def with_currency(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `_currency` (the code, upper case) and `_exp` (its decimals; null when unknown)."""
    frame = frame.with_columns(text("currency").str.to_uppercase().alias("_currency"))
    known = currency_exponents(frame["_currency"]).rename({"currency": "_currency"})
    return frame.join(known, on="_currency", how="left", maintain_order="left")


def unknown_currency() -> pl.Expr:
    return pl.when(pl.col("currency").is_not_null() & pl.col("_exp").is_null()).then(
        pl.concat_str(pl.lit("unknown currency '"), pl.col("currency"), pl.lit(UNKNOWN_CURRENCY))
    )


@bounded_cells
def to_lines(
    raw: pl.DataFrame, templates: pl.DataFrame, *, one_file: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good lines, row errors). raw: string columns named by attribute, `line` optional.

    `one_file`: the rows are one file's, so a so_line_id given twice with other content and a
    contract with two customers or currencies are errors. Processing reads rows of several
    files at once (False): a later file's row of a line is its next version, judged with the
    store's contracts by `engine.verdicts.versions`.

    Good lines: contract_id, line_id, line_no, customer_id, currency, amount, quantity_micro,
    ssp_unit, exclude, residual, pob_template, method, convention, at, start, end (exclusive),
    order_day, then line, so_number, item_code, list_price, modification_date,
    modification_policy, duplicate and the free attributes.
    """
    frame = prepare(raw, ATTRIBUTES)
    free = free_attributes(frame, ATTRIBUTES)
    content = [c for c in frame.columns if c != "line"]
    frame = with_currency(frame)
    frame, unknown_template = with_templates(frame, templates)
    frame = minor_units(frame, "amount", "_exp", "_amount", "_currency")
    frame = minor_units(frame, "ssp", "_exp", "_ssp", "_currency")
    frame = minor_units(frame, "list_price", "_exp", "_list_price", "_currency")
    frame = micro_units(frame, "quantity", "_quantity")
    order_date, order_err = dates(pl.col("order_date"))
    start, start_err = dates(pl.col("service_start_date"))
    end, end_err = dates(pl.col("service_end_date"))
    modified, modified_err = dates(pl.col("modification_date"))
    exclude, exclude_err = boolean("exclude_from_allocation")
    frame = frame.with_columns(
        order_date.alias("_order_day"),
        start.alias("_start"),
        # The file's service end is inclusive; the engine's end is exclusive.
        (end + pl.duration(days=1)).alias("_end"),
        modified.alias("_modified"),
        exclude.alias("_exclude"),
        text("ssp_method").str.to_lowercase().alias("_ssp_method"),
        text("modification_policy").str.to_lowercase().alias("_policy"),
    )
    if one_file:
        frame = duplicates(frame, "so_line_id", content)
        frame = first_of_group(
            frame,
            "contract_id",
            {"_customer_first": pl.col("customer_id"), "_currency_first": pl.col("_currency")},
        )
    else:
        frame = frame.with_columns(
            pl.lit(value=False).alias("duplicate"),
            pl.col("customer_id").alias("_customer_first"),
            pl.col("_currency").alias("_currency_first"),
            pl.col("line").alias("_customer_first_line"),
            pl.col("line").alias("_currency_first_line"),
        )
    checks: dict[str, pl.Expr] = {
        **{
            f"{name}:required": required(name)
            for name in (a.name for a in REVREC_SALES_ORDER.attributes if a.required)
            if name not in ("amount", "order_date")
        },
        "currency": unknown_currency(),
        "pob_template": unknown_template,
        "amount": pl.col("_amount_error"),
        "ssp": pl.when(pl.col("ssp").is_not_null()).then(pl.col("_ssp_error")),
        "list_price": pl.when(pl.col("list_price").is_not_null()).then(pl.col("_list_price_error")),
        "quantity": pl.when(pl.col("_quantity_error").is_not_null())
        .then(pl.col("_quantity_error"))
        .when(pl.col("_quantity") <= 0)
        .then(pl.lit("expected a quantity above 0")),
        "order_date": pl.when(pl.col("order_date").is_null())
        .then(pl.lit(REQUIRED))
        .otherwise(order_err),
        "service_start_date": pl.when(pl.col("service_start_date").is_not_null()).then(start_err),
        "service_end_date": pl.when(
            pl.col("service_end_date").is_not_null() & end_err.is_not_null()
        )
        .then(end_err)
        .when(pl.col("_end") <= pl.col("_start"))
        .then(pl.lit("service end is before service start")),
        "service_start_date:ratable": _ratable_needs("service_start_date"),
        "service_end_date:ratable": _ratable_needs("service_end_date"),
        "modification_date": pl.when(pl.col("modification_date").is_not_null()).then(modified_err),
        "exclude_from_allocation": exclude_err,
        "ssp_method": choice(pl.col("_ssp_method"), "ssp_method", SSP_METHODS, "ssp_method"),
        "modification_policy": choice(
            pl.col("_policy"), "modification_policy", POLICIES, "modification_policy"
        ),
        "customer_id:contract": _disagrees("customer_id", "_customer_first", "customer"),
        "currency:contract": _disagrees("_currency", "_currency_first", "currency"),
    }
    good, errors = check(frame, checks)
    good = good.select(
        "contract_id",
        pl.col("so_line_id").alias("line_id"),
        pl.col("line").alias("line_no"),
        "customer_id",
        pl.col("_currency").alias("currency"),
        pl.col("_amount").alias("amount"),
        pl.col("_quantity").fill_null(1_000_000).alias("quantity_micro"),
        pl.col("_ssp").alias("ssp_unit"),
        pl.col("_exclude").fill_null(value=False).alias("exclude"),
        (pl.col("_ssp_method") == "residual").fill_null(value=False).alias("residual"),
        "pob_template",
        pl.col("_method").alias("method"),
        pl.col("_convention").alias("convention"),
        pl.col("_at").alias("at"),
        pl.col("_start").fill_null(pl.col("_order_day")).alias("start"),
        pl.col("_end").alias("end"),
        pl.col("_order_day").alias("order_day"),
        "line",
        "so_number",
        "item_code",
        pl.col("_list_price").alias("list_price"),
        pl.col("_modified").alias("modification_date"),
        pl.col("_policy").alias("modification_policy"),
        "duplicate",
        *(c for c in free if c not in _OUTPUT),
    )
    return good.with_columns(attributes_json([c for c in free if c not in _OUTPUT])), errors


def attributes_json(free: list[str]) -> pl.Expr:
    """`attributes`: the row's free attributes as one JSON object of texts ("{}" for none),
    what the subledger keeps and reports filter by (`--attribute NAME=VALUE`)."""
    if not free:
        return pl.lit("{}").alias("attributes")
    return pl.struct(pl.col(free).cast(pl.String)).struct.json_encode().alias("attributes")


def recognition(good: pl.DataFrame, templates: pl.DataFrame) -> pl.DataFrame:
    """Good lines (`to_lines`' rows) with the method, convention and at of their POB template
    in `templates` (null for a template it does not have)."""
    frame, _ = with_templates(good, templates)
    return frame.with_columns(
        pl.col("_method").alias("method"),
        pl.col("_convention").alias("convention"),
        pl.col("_at").alias("at"),
    ).select(good.columns)


_OUTPUT = frozenset((
    "line_id", "line_no", "quantity_micro", "ssp_unit", "exclude", "residual", "method",
    "convention", "at", "start", "end", "order_day", "list_price", "duplicate",
))  # fmt: skip


def _ratable_needs(name: str) -> pl.Expr:
    """A line recognized over time needs both ends of its service period."""
    ratable = pl.col("_method").is_in(RATABLE).fill_null(value=False)
    return pl.when(ratable & pl.col(name).is_null()).then(
        pl.format("a value is required: POB template {} recognizes over the service period",
                  pl.col("pob_template"))
    )  # fmt: skip


def _disagrees(cell: str, first: str, what: str) -> pl.Expr:
    """A contract has one customer and one currency (SPEC §3): the rows after its first say so."""
    return pl.when(
        pl.col("contract_id").is_not_null()
        & pl.col(cell).is_not_null()
        & (pl.col(cell) != pl.col(first))
    ).then(
        pl.concat_str(
            pl.lit("contract '"),
            pl.col("contract_id"),
            pl.lit(f"' has {what} '"),
            pl.col(first),
            pl.lit("' (line "),
            pl.col(f"{first}_line").cast(pl.String),
            pl.lit(f"): expected one {what} per contract"),
        )
    )
