"""Sales-order lines from the stage area into contracts and line versions (SPEC §3, §4.5):
a new line, a modification (a new version), a duplicate, or an error row."""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.engine import ssp
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
    good, errors = sales_orders.to_lines(batches.values(conn, rows), templates)
    outcome.fail_all(errors)
    if good.height == 0:
        return
    good = good.with_columns(pl.coalesce("modification_date", "order_day").alias("effective_date"))
    good = accounting_period(content_hash(good, "sales_order"), "effective_date", open_name)
    good = ssp.resolve(good, rules.ssp_table(conn))
    known = line_store.contract_owners(conn, good["contract_id"].unique().to_list())
    latest = line_store.newest_versions(conn, good["line_id"].unique().to_list())
    accepted, new_contracts = _judge(good, known, latest, outcome)
    line_store.add_contracts(conn, new_contracts)
    if accepted:
        frame = pl.DataFrame(accepted, infer_schema_length=None)
        line_store.add_versions(conn, frame)
        line_store.mark_touched(conn, frame.select("line_id", "contract_id").unique())


def _judge(
    good: pl.DataFrame,
    known: dict[str, tuple[str, str]],
    latest: dict[str, tuple[int, str]],
    outcome: Outcome,
) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
    """Each row in processing order against the store and the rows before it: another
    customer or currency than its contract's is an error, the same content a duplicate, else a
    new version. Returns the new versions and the new contracts."""
    accepted: list[dict[str, Any]] = []
    new_contracts: dict[str, tuple[str, str]] = {}
    for row in good.iter_rows(named=True):
        row_id, contract = row["line_no"], row["contract_id"]
        owner = known.get(contract) or new_contracts.get(contract)
        if owner is not None and owner != (row["customer_id"], row["currency"]):
            which = "customer_id" if owner[0] != row["customer_id"] else "currency"
            has = owner[0] if which == "customer_id" else owner[1]
            outcome.fail(
                row_id, which, row[which], f"contract {contract} already has {which} {has}"
            )
            continue
        version, content = latest.get(row["line_id"], (0, ""))
        if content == row["content_hash"]:
            outcome.duplicate(row_id)
            continue
        if owner is None:
            new_contracts[contract] = (row["customer_id"], row["currency"])
        latest[row["line_id"]] = (version + 1, row["content_hash"])
        accepted.append({**row, "version": version + 1, "stage_row_id": row_id})
        outcome.ok(row_id)
    return accepted, new_contracts
