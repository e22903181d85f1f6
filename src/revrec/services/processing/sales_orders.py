"""Sales-order lines from the stage area into contracts and line versions (SPEC §3, §4.5):
a new line, a modification (a new version), a duplicate, or an error row."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from revrec.engine import ssp
from revrec.engine.verdicts import versions
from revrec.imports import sales_orders
from revrec.services.processing.outcome import Outcome
from revrec.services.processing.staged import accounting_period, content_hash
from revrec.store import batches, rules
from revrec.store import lines as line_store


def apply(
    conn: sa.Connection,
    rows: pl.DataFrame,
    templates: pl.DataFrame,
    open_name: str,
    outcome: Outcome,
) -> None:
    if rows.height == 0:
        return
    good, errors = sales_orders.to_lines(batches.values(conn, rows), templates, one_file=False)
    outcome.fail_all(errors)
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
