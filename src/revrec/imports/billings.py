"""Billing rows (attribute names of a billing mapping, all strings, plus `line`) to typed billings.

The `revrec` mapping gives positive amounts and a doc_type; the `recurly` mapping gives signed
totals, from which the doc_type is derived, and an exclusive service end. Those two rules belong to
the mapping (its attribute types `signed_amount`, `exclusive_date`), not to its name. No I/O.
"""

from __future__ import annotations

import polars as pl

from revrec.imports.checks import (
    REQUIRED,
    bounded_cells,
    check,
    choice,
    duplicates,
    free_attributes,
    prepare,
    required,
    text,
)
from revrec.imports.mappings import KNOWN, SHIPPED, Mapping, exclusive_end, signed_amounts
from revrec.imports.sales_orders import unknown_currency, with_currency
from revrec.imports.templates import with_templates
from revrec.imports.values import dates, minor_units
from revrec.vocab import DOC_TYPES, REFERENCING, SCHEDULE_TYPES, TIME_METHODS

ATTRIBUTES = KNOWN["billing"]
OUTPUT = (
    "line", "doc_type", "doc_number", "doc_line_id", "doc_date", "amount", "signed_amount",
    "currency", "customer_id", "so_line_id", "ref_doc_number", "ref_doc_line_id", "start", "end",
    "item_code", "pob_template", "schedule_type", "origin", "invoice_state", "invoice_origin",
    "accounting_code", "billing_driven", "method", "convention", "at", "duplicate",
)  # fmt: skip


@bounded_cells
def to_billings(
    raw: pl.DataFrame, templates: pl.DataFrame, mapping: Mapping | str = "revrec"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good billings, row errors). raw: string columns named by attribute, `line` optional.

    Good billings have the columns of OUTPUT, then the free attributes. `amount` is positive;
    `signed_amount` is the billing's effect (INV, CMC positive; IVC, CM negative); `end` is
    exclusive. A billing-driven line (no so_line_id, no reference) carries the method,
    convention and at that recognize it (SPEC §3); the others carry nulls there.

    `mapping` says how amounts and service ends are read; a name stands for a shipped mapping
    (any other name reads as the `revrec` mapping does).
    """
    if isinstance(mapping, str):
        mapping = SHIPPED.get((mapping, "billing"), SHIPPED["revrec", "billing"])
    signed, exclusive = signed_amounts(mapping), exclusive_end(mapping)
    frame = prepare(raw, ATTRIBUTES)
    free = free_attributes(frame, ATTRIBUTES)
    content = [c for c in frame.columns if c != "line"]
    frame = with_currency(frame)
    frame, unknown_template = with_templates(frame, templates)
    frame = minor_units(frame, "amount", "_exp", "_total", "_currency")
    doc_date, doc_date_err = dates(pl.col("doc_date"))
    start, start_err = dates(pl.col("service_start_date"))
    end, end_err = dates(pl.col("service_end_date"))
    given_type = text("doc_type").str.to_uppercase()
    credit = (text("origin").str.to_lowercase() == "credit").fill_null(value=False) | (
        pl.col("_total") < 0
    ).fill_null(value=False)
    frame = frame.with_columns(
        (
            # SPEC §4.3: Recurly has no doc_type; a credit or a negative total is a CM.
            pl.coalesce(given_type, pl.when(credit).then(pl.lit("CM")).otherwise(pl.lit("INV")))
            if signed
            else given_type
        ).alias("_doc_type"),
        (pl.col("_total").abs() if signed else pl.col("_total")).alias("_amount"),
        doc_date.alias("_doc_date"),
        start.alias("_given_start"),
        # The revrec file's service end is inclusive, Recurly's already exclusive.
        (end if exclusive else end + pl.duration(days=1)).alias("_end"),
        text("schedule_type").str.to_lowercase().alias("_schedule_type"),
    )
    frame = frame.with_columns(pl.coalesce("_given_start", "_doc_date").alias("_start"))
    frame = _with_method(frame)
    frame = duplicates(frame, "doc_line_id", content)
    kind = pl.col("_doc_type")
    no_reference = pl.col("ref_doc_number").is_null() & pl.col("ref_doc_line_id").is_null()
    # A Recurly credit may stand alone (its own billing-driven line); a reversal never does.
    alone = (kind == "CM") & no_reference if signed else pl.lit(value=False)
    references = kind.is_in(REFERENCING) & ~alone
    checks: dict[str, pl.Expr] = {
        **{
            f"{name}:required": required(name)
            for name in ("doc_number", "doc_line_id", "customer_id", "currency")
        },
        "doc_type": (
            choice(given_type, "doc_type", DOC_TYPES, "doc_type")
            if signed
            else pl.when(pl.col("doc_type").is_null())
            .then(pl.lit(REQUIRED))
            .otherwise(choice(given_type, "doc_type", DOC_TYPES, "doc_type"))
        ),
        "currency": unknown_currency(),
        "amount": pl.col("_total_error"),
        "amount:sign": pl.when(pl.col("_total") < 0).then(
            None
            if signed
            else pl.lit("expected an amount of 0 or more: doc_type gives the direction")
        ),
        "doc_date": pl.when(pl.col("doc_date").is_null())
        .then(pl.lit(REQUIRED))
        .otherwise(doc_date_err),
        "service_start_date": pl.when(pl.col("service_start_date").is_not_null()).then(start_err),
        "service_end_date": pl.when(
            pl.col("service_end_date").is_not_null() & end_err.is_not_null()
        )
        .then(end_err)
        .when(pl.col("_end") < pl.col("_start") + pl.duration(days=0 if exclusive else 1))
        .then(
            pl.when(pl.col("_given_start").is_not_null())
            .then(pl.lit("service end is before service start"))
            .otherwise(pl.lit("service end is before the doc_date (no service start given)"))
        )
        .when(pl.col("_end") == pl.col("_start"))
        .then(pl.lit("the service period is empty: its end (exclusive) is its start")),
        "schedule_type": choice(
            pl.col("_schedule_type"), "schedule_type", tuple(SCHEDULE_TYPES), "schedule_type"
        ),
        "schedule_type:needed": pl.when(
            pl.col("_driven")
            & pl.col("_end").is_not_null()
            & pl.col("pob_template").is_null()
            & pl.col("schedule_type").is_null()
        ).then(
            pl.lit(
                "a billing with no so_line_id needs a pob_template or a schedule_type: "
                "expected one of " + ", ".join(SCHEDULE_TYPES)
            )
        ),
        "pob_template": unknown_template,
        **{
            f"{name}:reference": pl.when(references & pl.col(name).is_null()).then(
                pl.lit(f"{REQUIRED} for IVC, CM and CMC: the document line it refers to")
            )
            for name in ("ref_doc_number", "ref_doc_line_id")
        },
    }
    good, errors = check(frame, checks)
    good = good.select(
        "line",
        pl.col("_doc_type").alias("doc_type"),
        "doc_number",
        "doc_line_id",
        pl.col("_doc_date").alias("doc_date"),
        pl.col("_amount").alias("amount"),
        pl.when(pl.col("_doc_type").is_in(("INV", "CMC")))
        .then(pl.col("_amount"))
        .otherwise(-pl.col("_amount"))
        .alias("signed_amount"),
        pl.col("_currency").alias("currency"),
        "customer_id",
        "so_line_id",
        "ref_doc_number",
        "ref_doc_line_id",
        pl.col("_start").alias("start"),
        pl.col("_end").alias("end"),
        "item_code",
        "pob_template",
        pl.col("_schedule_type").alias("schedule_type"),
        "origin",
        "invoice_state",
        "invoice_origin",
        "accounting_code",
        pl.col("_driven").alias("billing_driven"),
        pl.col("_how_method").alias("method"),
        pl.col("_how_convention").alias("convention"),
        pl.col("_how_at").alias("at"),
        "duplicate",
        *(c for c in free if c not in OUTPUT),
    )
    return good, errors


def recognition(good: pl.DataFrame, templates: pl.DataFrame) -> pl.DataFrame:
    """Good billings (`to_billings`' rows) with the method, convention and at that recognize a
    billing-driven line under `templates`, as `to_billings` gives them (SPEC §3)."""
    frame, _ = with_templates(good, templates)
    frame = _with_method(
        frame.with_columns(
            pl.col("schedule_type").alias("_schedule_type"),
            pl.col("start").alias("_start"),
            pl.col("end").alias("_end"),
        )
    )
    return frame.with_columns(
        pl.col("_how_method").alias("method"),
        pl.col("_how_convention").alias("convention"),
        pl.col("_how_at").alias("at"),
    ).select(good.columns)


def _with_method(frame: pl.DataFrame) -> pl.DataFrame:
    """How a billing-driven line is recognized (SPEC §3): its template, else its schedule_type;
    with no service end (or an empty range), whole on its start, whatever either says."""
    driven = pl.col("so_line_id").is_null() & pl.col("ref_doc_line_id").is_null()
    by_schedule = pl.col("_schedule_type").replace_strict(
        {k: v[0] for k, v in SCHEDULE_TYPES.items()}, default=None, return_dtype=pl.String
    )
    at_by_schedule = pl.col("_schedule_type").replace_strict(
        {k: v[1] for k, v in SCHEDULE_TYPES.items()}, default=None, return_dtype=pl.String
    )
    template = pl.col("pob_template").is_not_null()
    method = pl.when(template).then(pl.col("_method")).otherwise(by_schedule)
    at = pl.when(template).then(pl.col("_at")).otherwise(at_by_schedule)
    convention = pl.when(template).then(pl.col("_convention"))
    whole_on_start = (pl.col("_end").is_null() | (pl.col("_end") <= pl.col("_start"))) & (
        method.is_null() | method.is_in(TIME_METHODS)
    )
    return frame.with_columns(
        driven.alias("_driven"),
        pl.when(~driven)
        .then(None)
        .when(whole_on_start)
        .then(pl.lit("point_in_time"))
        .otherwise(method)
        .alias("_how_method"),
        pl.when(driven & ~whole_on_start).then(convention).alias("_how_convention"),
        pl.when(~driven)
        .then(None)
        .when(whole_on_start)
        .then(pl.lit("start"))
        .otherwise(at)
        .alias("_how_at"),
    )
