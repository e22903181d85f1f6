"""Sales-order lines from the stage area into contracts and line versions (SPEC §3, §4.5):
a new line, a modification (a new version), a duplicate, or an error row."""

from __future__ import annotations

import functools

import polars as pl
import sqlalchemy as sa

from revrec.engine import ssp
from revrec.engine.verdicts import versions
from revrec.imports import sales_orders
from revrec.imports.templates import with_templates
from revrec.services.processing.outcome import Outcome
from revrec.services.processing.staged import Stale, accounting_period, content_hash, validated
from revrec.store import lines as line_store
from revrec.store import rules


def apply(
    conn: sa.Connection,
    rows: pl.DataFrame,
    templates: pl.DataFrame,
    open_name: str,
    outcome: Outcome,
) -> None:
    if rows.height == 0:
        return
    good, errors = validated(
        conn,
        rows,
        functools.partial(sales_orders.to_lines, templates=templates, one_file=False),
        stale=_stale(templates),
        from_line=("line_no",),
    )
    outcome.fail_all(errors)
    good = sales_orders.recognition(good, templates)
    if good.height == 0:
        return
    good = good.with_columns(pl.coalesce("modification_date", "order_day").alias("effective_date"))
    good = accounting_period(content_hash(good, "sales_order"), "effective_date", open_name)
    good = ssp.resolve(good, rules.ssp_table(conn))
    owners = line_store.owners_frame(conn, good["contract_id"].unique().to_list())
    latest = line_store.newest_versions(conn, good["line_id"].unique().to_list())
    judged = versions(good, owners, latest)
    verdict = pl.col("_verdict")
    failed = judged.filter(verdict == "failed")
    outcome.fail_all(
        failed.select(
            "line",
            pl.col("_column").alias("column"),
            pl.when(pl.col("_column") == "customer_id")
            .then(pl.col("customer_id"))
            .otherwise(pl.col("currency"))
            .alias("value"),
            pl.format("contract {} already has {} {}", "contract_id", "_column", "_has").alias(
                "message"
            ),
        )
    )
    outcome.duplicate_all(judged.filter(verdict == "duplicate")["line"])
    accepted = judged.filter(verdict == "accepted")
    outcome.ok_all(accepted["line"])
    known = owners["contract_id"].implode()
    line_store.add_new_contracts(
        conn,
        accepted.filter(~pl.col("contract_id").is_in(known))
        .unique("contract_id", keep="first", maintain_order=True)
        .select("contract_id", "customer_id", "currency"),
    )
    if accepted.height:
        frame = accepted.with_columns(pl.col("line").alias("stage_row_id")).drop(
            "_verdict", "_column", "_has"
        )
        line_store.add_versions(conn, frame)
        line_store.mark_touched(conn, frame.select("line_id", "contract_id").unique())


def _stale(templates: pl.DataFrame) -> Stale:
    """The typed lines to validate again from their text: their POB template is gone, or now
    recognizes over the service period while it did not at the import (the line needs both
    service dates then). The others take their template's method as it is now."""
    ratable = pl.col("method").is_in(sales_orders.RATABLE)

    def stale(typed: pl.DataFrame) -> pl.Series:
        now, _ = with_templates(typed.select("pob_template", "method"), templates)
        ratable_now = pl.col("_method").is_in(sales_orders.RATABLE) & ~ratable
        return now.select((pl.col("_method").is_null() | ratable_now).fill_null(value=True))[
            "_method"
        ]

    return stale
