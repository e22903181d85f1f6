"""Billing rows from the stage area into billings (SPEC §4.2, §5 step 2).

INV lines (and stand-alone credits) whose doc_line_id is once in the batch are judged as a
column, against the store only. Reversals (IVC, CM, CMC) and repeated doc_line_ids depend on the
rows before them: the engine's `billing_rules.judge` replays them in processing order.
"""

from __future__ import annotations

import functools

import polars as pl
import sqlalchemy as sa

from revrec.engine import billing_rules
from revrec.imports import billings as billing_import
from revrec.imports.checks import stable_id
from revrec.services.mappings import get_mapping
from revrec.services.processing.outcome import Outcome
from revrec.services.processing.staged import (
    Stale,
    accounting_period,
    content_hash,
    given,
    validated,
)
from revrec.store import batches
from revrec.store import billings as billing_store
from revrec.store import lines as line_store
from revrec.vocab import DEFAULT_SCHEDULE_TYPE

RECORD = {
    "doc_line_id": pl.String,
    "doc_type": pl.String,
    "doc_number": pl.String,
    "doc_date": pl.Date,
    "line_id": pl.String,
    "customer_id": pl.String,
    "currency": pl.String,
    "amount": pl.Int64,
    "ref_doc_line_id": pl.String,
    "content_hash": pl.String,
    "period": pl.String,
    "stage_row_id": pl.Int64,
    # Not stored: the row's place in processing order, whether it makes its own line, and
    # what that line needs beyond the billing.
    "_order": pl.UInt32,
    "_driven": pl.Boolean,
    "item_code": pl.String,
    "pob_template": pl.String,
    "schedule_type": pl.String,
    "start": pl.Date,
    "end": pl.Date,
    # Kept for the legacy export only (SPEC §10), as uploaded.
    "origin": pl.String,
    "invoice_state": pl.String,
    "invoice_origin": pl.String,
    "accounting_code": pl.String,
}
LINE_NEEDS = ("item_code", "pob_template", "schedule_type", "start", "end")
LEGACY = ("origin", "invoice_state", "invoice_origin", "accounting_code")


def apply(
    conn: sa.Connection,
    rows: pl.DataFrame,
    templates: pl.DataFrame,
    open_name: str,
    outcome: Outcome,
) -> None:
    if rows.height == 0:
        return
    good = _validated(conn, rows, templates, outcome)
    good = _same_owner(conn, good, outcome)
    if good.height == 0:
        return
    good = accounting_period(good, "doc_date", open_name).with_columns(
        pl.when(given("so_line_id"))
        .then(pl.col("so_line_id"))
        .otherwise(pl.col("doc_line_id"))
        .alias("line_id"),
    )
    alone = (
        (pl.col("doc_type") == "INV") | ((pl.col("doc_type") == "CM") & ~given("ref_doc_line_id"))
    ) & pl.col("doc_line_id").is_unique()
    accepted = _judge_alone(conn, good.filter(alone), outcome)
    replayed = good.filter(~alone)
    if replayed.height:
        accepted = pl.concat(
            [accepted, _replay(conn, replayed, accepted, outcome, rows)], how="vertical_relaxed"
        )
    if accepted.height:
        billing_store.add(conn, _records(conn, accepted, templates))


def _validated(
    conn: sa.Connection, rows: pl.DataFrame, templates: pl.DataFrame, outcome: Outcome
) -> pl.DataFrame:
    """The rows that pass the import's checks under their file's mapping, with content_hash,
    amount_text (as uploaded, for messages; null for a row taken typed: `_amount_texts`) and
    _order (the place in processing order)."""
    parts = []
    for name in rows["mapping"].unique(maintain_order=True).to_list():
        found, errors = validated(
            conn,
            rows.filter(pl.col("mapping") == name),
            functools.partial(_from_text, conn, name, templates),
            stale=_template_gone(templates),
            keyed=True,
        )
        outcome.fail_all(errors)
        parts.append(content_hash(billing_import.recognition(found, templates), "billing"))
    good = pl.concat(parts, how="diagonal_relaxed")
    if "amount_text" not in good.columns:  # every row taken typed
        good = good.with_columns(pl.lit(None, dtype=pl.String).alias("amount_text"))
    # Stage row ids follow the processing order (accounting date, file, line).
    order = rows.select(pl.col("row_id").alias("line")).with_row_index("_order")
    return good.join(order, on="line")


def _from_text(
    conn: sa.Connection, mapping: str, templates: pl.DataFrame, raw: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The import's checks of these rows' text under their mapping, with amount_text."""
    found, errors = billing_import.to_billings(
        raw, templates, get_mapping(conn, mapping, "billing")
    )
    return found.join(raw.select("line", pl.col("amount").alias("amount_text")), on="line"), errors


def _template_gone(templates: pl.DataFrame) -> Stale:
    """The typed rows to validate again from their text: their POB template is gone."""
    known = templates["pob_template"].implode()

    def stale(typed: pl.DataFrame) -> pl.Series:
        gone = given("pob_template") & ~pl.col("pob_template").is_in(known)
        return typed.select(gone.fill_null(value=True).alias("_gone"))["_gone"]

    return stale


def _same_owner(conn: sa.Connection, good: pl.DataFrame, outcome: Outcome) -> pl.DataFrame:
    """The rows whose so_line_id's contract has their customer and currency (SPEC §3: a
    contract has one of each); the others are error rows."""
    so_lines = good.filter(given("so_line_id"))["so_line_id"].unique().to_list()
    if not so_lines:
        return good
    owners = line_store.line_owners(conn, so_lines).rename({"line_id": "so_line_id"})
    framed = good.join(owners, on="so_line_id", how="left", maintain_order="left")
    customer = pl.col("_customer").is_not_null() & (pl.col("customer_id") != pl.col("_customer"))
    currency = pl.col("_currency").is_not_null() & (pl.col("currency") != pl.col("_currency"))
    failed = framed.filter(customer | currency)
    outcome.fail_all(
        failed.select(
            "line",
            pl.when(customer).then(pl.lit("customer_id")).otherwise(pl.lit("currency"))
            .alias("column"),
            pl.when(customer).then(pl.col("customer_id")).otherwise(pl.col("currency"))
            .alias("value"),
            pl.when(customer)
            .then(pl.format("line {} belongs to customer {}", "so_line_id", "_customer"))
            .otherwise(pl.format("line {} is in {}", "so_line_id", "_currency"))
            .alias("message"),
        )
    )  # fmt: skip
    return framed.filter(~(customer | currency)).drop("_customer", "_currency")


def _judge_alone(conn: sa.Connection, rows: pl.DataFrame, outcome: Outcome) -> pl.DataFrame:
    """INV and stand-alone CM rows whose doc_line_id is once in the batch: a duplicate or a
    conflict of a stored document line, or an unknown so_line_id; else accepted."""
    if rows.height == 0:
        return pl.DataFrame(schema=RECORD)
    stored = billing_store.stored_hashes(conn, rows["doc_line_id"].to_list())
    so_lines = rows.filter(given("so_line_id"))["so_line_id"].unique().to_list()
    known = (
        line_store.existing_lines(conn, so_lines) if so_lines else pl.Series([], dtype=pl.String)
    )
    judged = rows.join(stored, on="doc_line_id", how="left").with_columns(
        pl.col("_stored").is_not_null().alias("_seen"),
        (given("so_line_id") & ~pl.col("so_line_id").is_in(known.implode())).alias("_unknown"),
    )
    seen = judged.filter(pl.col("_seen"))
    outcome.duplicate_all(seen.filter(pl.col("_stored") == pl.col("content_hash"))["line"])
    outcome.fail_all(
        _errors(seen.filter(pl.col("_stored") != pl.col("content_hash")), "doc_line_id",
                billing_rules.CONFLICT)
    )  # fmt: skip
    fresh = judged.filter(~pl.col("_seen"))
    outcome.fail_all(
        _errors(fresh.filter(pl.col("_unknown")), "so_line_id", billing_rules.UNKNOWN_LINE)
    )
    accepted = fresh.filter(~pl.col("_unknown"))
    outcome.ok_all(accepted["line"])
    return accepted.select(
        "doc_line_id", "doc_type", "doc_number", "doc_date", "line_id", "customer_id",
        "currency", pl.col("signed_amount").alias("amount"),
        pl.lit(None, dtype=pl.String).alias("ref_doc_line_id"), "content_hash", "period",
        pl.col("line").alias("stage_row_id"), "_order", (~given("so_line_id")).alias("_driven"),
        pl.col("item_code").cast(pl.String), *LINE_NEEDS[1:], *_legacy(rows),
    ).cast(RECORD)  # type: ignore[arg-type]  # fmt: skip


def _legacy(rows: pl.DataFrame) -> list[pl.Expr]:
    """The attributes the legacy export shows, as uploaded (null when the rows have none)."""
    return [
        pl.col(name).cast(pl.String)
        if name in rows.columns
        else pl.lit(None, pl.String).alias(name)
        for name in LEGACY
    ]


def _errors(rows: pl.DataFrame, column: str, message: str) -> pl.DataFrame:
    return rows.select(
        "line",
        pl.lit(column).alias("column"),
        pl.col(column).alias("value"),
        pl.lit(message).alias("message"),
    )


def _replay(
    conn: sa.Connection,
    rows: pl.DataFrame,
    alone: pl.DataFrame,
    outcome: Outcome,
    staged: pl.DataFrame,
) -> pl.DataFrame:
    """Reversals and repeated doc_line_ids judged in processing order by the engine, with the
    rows accepted as a column (`alone`) that they refer to joining at their place. staged: the
    batch's stage rows (their amounts as uploaded are read for the messages that show them)."""
    refs = [r for r in rows["ref_doc_line_id"].to_list() if r]
    known = billing_store.documents(conn, {*rows["doc_line_id"].to_list(), *refs})
    so_lines = rows.filter(given("so_line_id"))["so_line_id"].unique().to_list()
    existing = line_store.existing_lines(conn, so_lines).to_list() if so_lines else []
    credited = [k for k, v in known.items() if v["doc_type"] == "INV"] + [
        k for k, v in known.items() if v["doc_type"] == "CM"
    ]
    ledger = billing_rules.Ledger(
        documents=known,
        lines=frozenset(existing),
        history=tuple(billing_store.history(conn, credited)),
    )
    referred = alone.filter(pl.col("doc_line_id").is_in(refs))
    steps = sorted(
        [(r["_order"], True, r) for r in referred.iter_rows(named=True)]
        + [(r["_order"], False, r) for r in rows.iter_rows(named=True)],
        key=lambda step: step[0],
    )
    by_row = {r["line"]: r for _, settled, r in steps if not settled}
    accepted = []
    judged = billing_rules.judge(ledger, [(settled, r) for _, settled, r in steps])
    texts = _amount_texts(conn, staged, by_row, judged)
    for verdict in judged:
        if verdict.status == "duplicate":
            outcome.duplicate(verdict.row_id)
        elif verdict.status == "error":
            value = texts.get(verdict.row_id, verdict.value)
            outcome.fail(verdict.row_id, verdict.column, value, verdict.message)
        else:
            outcome.ok(verdict.row_id)
            accepted.append(_record(by_row[verdict.row_id], verdict))
    return pl.DataFrame(accepted, schema=RECORD)


def _amount_texts(
    conn: sa.Connection,
    staged: pl.DataFrame,
    by_row: dict[int, dict[str, object]],
    judged: list[billing_rules.Verdict],
) -> dict[int, object]:
    """row id -> the amount as uploaded, of the rows taken typed whose error shows their amount
    (only those read their text)."""
    wanted = [
        v.row_id
        for v in judged
        if v.status == "error"
        and v.column == "amount"
        and by_row[v.row_id].get("amount_text") is None
    ]
    if not wanted:
        return {}
    found = batches.values(conn, staged.filter(pl.col("row_id").is_in(wanted)))
    return dict(found.select("line", "amount").iter_rows())


def _record(row: dict[str, object], verdict: billing_rules.Verdict) -> dict[str, object]:
    assert verdict.record is not None  # noqa: S101 - accepted verdicts carry their record
    return {
        **{name: row[name] for name in RECORD if name in row and name != "amount"},
        "line_id": verdict.record["line_id"],
        "amount": verdict.record["amount"],
        "ref_doc_line_id": verdict.record["ref"],
        "stage_row_id": row["line"],
        "_driven": verdict.record["driven"],
    }


def _records(conn: sa.Connection, accepted: pl.DataFrame, templates: pl.DataFrame) -> pl.DataFrame:
    """The accepted billings as the store takes them: a billing-driven line is its own contract
    and takes its template (or its schedule type); other lines' contracts are in the store."""
    others = accepted.filter(~pl.col("_driven"))["line_id"].unique().to_list()
    contract_of = line_store.contracts_of(conn, others) if others else {}
    records = accepted.with_columns(
        pl.when(pl.col("_driven")).then(_driven_template(templates)).alias("pob_template"),
        pl.coalesce("start", "doc_date").alias("start"),
        pl.col("line_id")
        .replace_strict(contract_of, default=pl.col("line_id"), return_dtype=pl.String)
        .alias("contract_id"),
        pl.col("line_id").is_first_distinct().alias("_first_of_line"),
    )
    found = records.select(
        "doc_line_id", "doc_type", "doc_number", "doc_date",
        # Null where it is the doc_line_id (every billing-driven line): not sent row by row.
        _unless_doc_line("line_id"),
        "customer_id", "currency", "amount", "ref_doc_line_id", "content_hash", "period",
        "stage_row_id", pl.col("item_code").cast(pl.String), "pob_template", "start", "end",
        _unless_doc_line("contract_id"),
        pl.col("_driven").alias("driven"),
        pl.col("_first_of_line").alias("first_of_line"),
        *_legacy(records),
    )  # fmt: skip
    # The legacy export's id of each billing (decision 69), kept with its export row.
    return stable_id(found, "doc_line_id", "revenue_schedule_id")


def _driven_template(templates: pl.DataFrame) -> pl.Expr:
    """A billing-driven line's POB template: its own when the setup has it, else its
    schedule_type as `schedule_type:<name>` (SPEC §3)."""
    known = templates["pob_template"].implode()
    schedule_type = (
        pl.when(given("schedule_type"))
        .then(pl.col("schedule_type"))
        .otherwise(pl.lit(DEFAULT_SCHEDULE_TYPE))
    )
    return (
        pl.when(given("pob_template") & pl.col("pob_template").is_in(known))
        .then(pl.col("pob_template"))
        .otherwise(pl.format(line_store.SCHEDULE_TYPE_PREFIX + "{}", schedule_type))
    )


def _unless_doc_line(name: str) -> pl.Expr:
    return pl.when(pl.col(name) != pl.col("doc_line_id")).then(pl.col(name)).alias(name)
