"""Processing (SPEC §5): the scheduled jobs that move staged rows into the subledger and post
the open period's revenue.

Each job runs as one database transaction: a failure leaves the store as it was, and running
again finishes the work without duplicates. The calculations are the engine's; this module reads
state, calls the engine and writes results.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.calendar import month_start, parse_period
from revrec.engine.allocation import allocate
from revrec.engine.modifications import effective_schedule, prospective
from revrec.engine.schedules import apply_actions, schedule
from revrec.imports import billings as billing_import
from revrec.imports import costs as cost_import
from revrec.imports import events as event_import
from revrec.imports import sales_orders
from revrec.imports.checks import stable_hash
from revrec.services.imports import templates_frame
from revrec.services.mappings import get_mapping
from revrec.services.setup import open_period
from revrec.services.stage import JOB_OF_TAB
from revrec.store import payloads
from revrec.store import schema as t
from revrec.store.audit import record
from revrec.store.bulk import BATCH, among, analyze, for_ids, insert_frame, read_frame, scratch

JOB_ORDER = ("transaction_import", "event_import", "revenue_process")
SCHEDULE_TYPES = {
    "evenly": ("ratable_daily", None, None),
    "at_range_start": ("point_in_time", None, "start"),
    "at_range_end": ("point_in_time", None, "range_end"),
}


@dataclass
class JobResult:
    job: str
    processed: int = 0
    error: int = 0
    duplicate: int = 0
    posted_lines: int = 0
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "job": self.job,
            "processed": self.processed,
            "error": self.error,
            "duplicate": self.duplicate,
            "posted_lines": self.posted_lines,
            "notes": self.notes,
        }


@dataclass
class _Outcome:
    """What happened to each stage row of a batch.

    Rows judged one by one are in `rows` (row_id -> (status, messages)); rows judged as a whole
    column are in `done` (processed), `skipped` (duplicates) and `failed` (errors: line, column,
    value, message). A row is judged once.
    """

    rows: dict[int, tuple[str, list[dict[str, str]]]] = field(default_factory=dict)
    done: list[pl.Series] = field(default_factory=list)
    skipped: list[pl.Series] = field(default_factory=list)
    failed: list[pl.DataFrame] = field(default_factory=list)
    duplicates: int = 0

    def ok(self, row_id: int) -> None:
        self.rows[row_id] = ("processed", [])

    def duplicate(self, row_id: int) -> None:
        self.duplicates += 1
        self.rows[row_id] = ("processed", [_msg("", "", DUPLICATE)])

    def fail(self, row_id: int, column: str, value: object, message: str) -> None:
        status, found = self.rows.get(row_id, ("error", []))
        self.rows[row_id] = (
            "error",
            [*(found if status == "error" else []), _msg(column, value, message)],
        )

    def ok_all(self, row_ids: pl.Series) -> None:
        self.done.append(row_ids)

    def duplicate_all(self, row_ids: pl.Series) -> None:
        self.duplicates += row_ids.len()
        self.skipped.append(row_ids)

    def fail_all(self, errors: pl.DataFrame) -> None:
        """Errors (line = row id, column, value, message), several per row in their order."""
        if errors.height:
            self.failed.append(errors.select("line", "column", "value", "message"))

    def counts(self) -> tuple[int, int]:
        """(processed, error) rows."""
        processed = sum(1 for st, _ in self.rows.values() if st == "processed")
        processed += sum(s.len() for s in self.done) + sum(s.len() for s in self.skipped)
        error = sum(1 for st, _ in self.rows.values() if st == "error")
        error += sum(f["line"].n_unique() for f in self.failed)
        return processed, error


DUPLICATE = "duplicate of a processed row: skipped"


def _msg(column: str, value: object, message: str) -> dict[str, str]:
    return {"column": column, "value": "" if value is None else str(value), "message": message}


def run(conn_factory: Any, *, user: str, now: datetime, only: str | None = None) -> list[JobResult]:
    """Run the active jobs once (or only the named one, active or not), each in a transaction.

    conn_factory is a sqlalchemy Engine: each job gets its own transaction from it.
    """
    results = []
    for job in JOB_ORDER:
        if only is not None and job != only:
            continue
        with conn_factory.begin() as conn:
            active = conn.execute(sa.select(t.jobs.c.active).where(t.jobs.c.name == job)).scalar()
            if only is None and not active:
                continue
            result = _JOBS[job](conn)
            conn.execute(
                t.jobs.update()
                .where(t.jobs.c.name == job)
                .values(last_run_at=now, last_result=json.dumps(result.as_json()))
            )
            record(conn, user, f"job.run:{job}", f"job:{job}", None, result.as_json())
        results.append(result)
    return results


# --- reading staged rows ----------------------------------------------------------------------


def _pending(conn: sa.Connection, tabs: Iterable[str]) -> pl.DataFrame:
    """The pending rows of these tabs in processing order (accounting date, file, line), with
    their file's mapping and event name."""
    s = t.stage_rows
    f = t.files
    rows = read_frame(
        conn,
        sa.select(s.c.row_id, s.c.tab, s.c.line, s.c.file_id, s.c.accounting_date).where(
            s.c.tab.in_(list(tabs)) & (s.c.status == "pending")
        ),
    )
    # The few files of the batch are joined here rather than in SQL, once per row.
    files = read_frame(
        conn,
        sa.select(f.c.file_id, f.c.mapping, f.c.event_name).where(
            f.c.file_id.in_(rows["file_id"].unique().to_list())
        ),
        {"file_id": pl.Int64, "mapping": pl.String, "event_name": pl.String},
    )
    return rows.join(files, on="file_id", how="inner").sort(
        "accounting_date", "file_id", "line", nulls_last=conn.dialect.name == "postgresql"
    )


def _decode(conn: sa.Connection, rows: pl.DataFrame) -> pl.DataFrame:
    """The staged rows' attributes as columns, with `line` = the stage row id (so the
    validators' errors point at stage rows)."""
    if rows.height == 0:
        return pl.DataFrame({"line": pl.Series([], dtype=pl.Int64)})
    found = payloads.of_rows(conn, rows)
    return found.select(pl.col("row_id").alias("line"), pl.all().exclude("row_id"))


# What a row means, by upload type: its parsed values (amounts in minor units, dates, flags),
# not the text it was written with, so "100.0" and "100.00", a date with or without a time
# of day, or an optional column left out or left empty are the same content (SPEC §4.5).
# Free columns are not part of it: a re-export whose extra columns moved on is the same row.
MEANING = {
    "sales_order": (
        "contract_id", "line_id", "customer_id", "currency", "amount", "quantity_micro",
        "ssp_unit", "exclude", "residual", "pob_template", "start", "end", "order_day",
        "so_number", "item_code", "list_price", "modification_policy",
    ),
    "billing": (
        "doc_type", "doc_number", "doc_line_id", "doc_date", "amount", "currency",
        "customer_id", "so_line_id", "ref_doc_number", "ref_doc_line_id", "start", "end",
        "item_code", "pob_template", "schedule_type", "origin", "invoice_state",
        "invoice_origin", "accounting_code",
    ),
    "cost": (
        "cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id", "contract_id",
        "amortization", "amortization_months", "expense_immediately",
    ),
}  # fmt: skip


def _content_hash(good: pl.DataFrame, upload_type: str) -> pl.DataFrame:
    """`good` (validated rows) with `content_hash`: the stable hash of its MEANING columns (a
    column the file did not have counts as empty), the same in every run and Polars version."""
    parts = [
        pl.col(name) if name in good.columns else pl.lit(None, dtype=pl.String)
        for name in MEANING[upload_type]
    ]
    return stable_hash(good, parts, "content_hash")


def _write_outcome(conn: sa.Connection, outcome: _Outcome) -> None:
    """Processed rows and duplicates in one UPDATE each (their ids as one JSON parameter); only
    error rows, each with its own messages, one by one."""
    s = t.stage_rows
    plain = [rid for rid, (st, msgs) in outcome.rows.items() if st == "processed" and not msgs]
    skipped = [rid for rid, (st, msgs) in outcome.rows.items() if st == "processed" and msgs]
    for status, messages, singles, bulk in (
        ("processed", "[]", plain, outcome.done),
        ("processed", json.dumps([_msg("", "", DUPLICATE)]), skipped, outcome.skipped),
    ):
        ids = pl.concat([pl.Series(singles, dtype=pl.Int64), *(b.cast(pl.Int64) for b in bulk)])
        for condition in for_ids(conn, s.c.row_id, ids):
            conn.execute(s.update().where(condition).values(status=status, messages=messages))
    failed: dict[int, list[dict[str, str]]] = {
        rid: msgs for rid, (st, msgs) in outcome.rows.items() if st == "error"
    }
    for frame in outcome.failed:
        for row_id, column, value, message in frame.iter_rows():
            failed.setdefault(row_id, []).append(_msg(column, value, message))
    params = [{"rid": rid, "msgs": json.dumps(msgs)} for rid, msgs in failed.items()]
    statement = (
        s.update()
        .where(s.c.row_id == sa.bindparam("rid"))
        .values(status="error", messages=sa.bindparam("msgs"))
    )
    for offset in range(0, len(params), 50_000):
        conn.execute(statement, params[offset : offset + 50_000])


def _accounting_period(frame: pl.DataFrame, day: str, open_name: str) -> pl.DataFrame:
    """Late rows (a closed period) are processed into the open period."""
    period = pl.col(day).dt.strftime("%Y-%m")
    return frame.with_columns(
        pl.when(period < open_name).then(pl.lit(open_name)).otherwise(period).alias("period")
    )


# --- transaction_import -----------------------------------------------------------------------


def transaction_import(conn: sa.Connection) -> JobResult:
    result = JobResult("transaction_import")
    outcome = _Outcome()
    pending = _pending(conn, ("contracts", "documents", "cost"))
    if pending.height == 0:
        return result
    open_name = open_period(conn)
    templates = templates_frame(conn)
    tab = pl.col("tab")
    _apply_sales_orders(conn, pending.filter(tab == "contracts"), templates, open_name, outcome)
    _apply_billings(conn, pending.filter(tab == "documents"), templates, open_name, outcome)
    _apply_costs(conn, pending.filter(tab == "cost"), open_name, outcome)
    _write_outcome(conn, outcome)
    result.processed, result.error = outcome.counts()
    result.duplicate = outcome.duplicates
    return result


def _apply_sales_orders(
    conn: sa.Connection,
    rows: pl.DataFrame,
    templates: pl.DataFrame,
    open_name: str,
    outcome: _Outcome,
) -> None:
    if rows.height == 0:
        return
    raw = _decode(conn, rows)
    good, errors = sales_orders.to_lines(raw, templates)
    outcome.fail_all(errors)
    if good.height == 0:
        return
    good = good.with_columns(pl.coalesce("modification_date", "order_day").alias("effective_date"))
    good = _content_hash(good, "sales_order")
    good = _accounting_period(good, "effective_date", open_name)
    # Current state of the contracts and lines of this batch.
    contract_ids = good["contract_id"].unique().to_list()
    line_ids = good["line_id"].unique().to_list()
    known_contracts = {
        r.contract_id: (r.customer_id, r.currency)
        for r in conn.execute(
            sa.select(t.contracts).where(among(conn, t.contracts.c.contract_id, contract_ids))
        )
    }
    latest: dict[str, tuple[int, str]] = {}
    lv = t.line_versions
    for r in conn.execute(
        sa.select(lv.c.line_id, lv.c.version, lv.c.content_hash, lv.c.contract_id)
        .where(among(conn, lv.c.line_id, line_ids))
        .order_by(lv.c.line_id, lv.c.version)
    ):
        latest[r.line_id] = (r.version, r.content_hash)
    ssp = _resolve_ssp(conn, good)
    accepted = []
    new_contracts: dict[str, tuple[str, str]] = {}
    for row in ssp.iter_rows(named=True):
        row_id = row["line_no"]
        contract = row["contract_id"]
        owner = known_contracts.get(contract) or new_contracts.get(contract)
        if owner is not None and owner != (row["customer_id"], row["currency"]):
            which = "customer_id" if owner[0] != row["customer_id"] else "currency"
            outcome.fail(
                row_id,
                which,
                row[which],
                f"contract {contract} already has {which} "
                f"{owner[0] if which == 'customer_id' else owner[1]}",
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
    if new_contracts:
        conn.execute(
            t.contracts.insert(),
            [
                {"contract_id": c, "customer_id": cust, "currency": cur, "billing_driven": False}
                for c, (cust, cur) in new_contracts.items()
            ],
        )
    if accepted:
        frame = pl.DataFrame(accepted, infer_schema_length=None)
        insert_frame(
            conn,
            t.line_versions,
            frame.with_columns(
                pl.lit("{}").alias("attributes"),
            ),
        )
        _mark_dirty(conn, frame.select("line_id", "contract_id").unique())


def _resolve_ssp(conn: sa.Connection, lines: pl.DataFrame) -> pl.DataFrame:
    """The SSP unit price of each line: its own `ssp`, else the SSP table's row for its item and
    currency valid on its order date (the latest valid_from wins), as a price or a percent of the
    line's list price (rounded half-even)."""
    table = read_frame(
        conn,
        sa.select(t.ssp),
        {
            "id": pl.Int64,
            "item_code": pl.String,
            "currency": pl.String,
            "ssp": pl.Int64,
            "ssp_percent_micro": pl.Int64,
            "valid_from": pl.Date,
            "valid_to": pl.Date,
        },
    )
    if table.height == 0:
        return lines
    indexed = lines.with_row_index("_i")
    candidates = (
        indexed.select("_i", "item_code", "currency", "order_day")
        .join(table, on=["item_code", "currency"], how="inner")
        .filter(
            (pl.col("valid_from").is_null() | (pl.col("valid_from") <= pl.col("order_day")))
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("order_day")))
        )
        .sort("_i", pl.col("valid_from").fill_null(date(1, 1, 1)))
        .group_by("_i")
        .last()
    )
    joined = indexed.join(
        candidates.select("_i", pl.col("ssp").alias("_tssp"), "ssp_percent_micro"),
        on="_i",
        how="left",
    )
    list_price = pl.col("list_price").cast(pl.Int64, strict=False)
    from_percent = (list_price * pl.col("ssp_percent_micro") + 50_000_000) // 100_000_000
    return joined.with_columns(
        pl.coalesce("ssp_unit", "_tssp", from_percent).alias("ssp_unit")
    ).drop("_i", "_tssp", "ssp_percent_micro")


def _mark_dirty(conn: sa.Connection, pairs: pl.DataFrame) -> None:
    if pairs.height == 0:
        return
    d = t.dirty_lines
    if conn.execute(sa.select(d.c.line_id).limit(1)).first() is not None:
        conn.execute(d.delete().where(among(conn, d.c.line_id, pairs["line_id"].to_list())))
    insert_frame(conn, d, pairs.unique(subset="line_id"))


def _apply_billings(
    conn: sa.Connection,
    rows: pl.DataFrame,
    templates: pl.DataFrame,
    open_name: str,
    outcome: _Outcome,
) -> None:
    """INV lines (and stand-alone credits) whose doc_line_id is once in the batch are judged as
    a column: against the store only. Reversals (IVC, CM, CMC) and repeated doc_line_ids depend
    on the rows before them, so they are replayed in processing order, one by one."""
    if rows.height == 0:
        return
    parts = []
    for name in rows["mapping"].unique(maintain_order=True).to_list():
        raw = _decode(conn, rows.filter(pl.col("mapping") == name))
        mapping = get_mapping(conn, name, "billing")
        found, errors = billing_import.to_billings(raw, templates, mapping)
        outcome.fail_all(errors)
        parts.append(
            _content_hash(found, "billing").join(
                raw.select("line", pl.col("amount").alias("amount_text")), on="line"
            )
        )
    good = pl.concat(parts, how="diagonal_relaxed")
    if good.height == 0:
        return
    # Stage row ids follow the processing order (accounting date, file, line).
    order = rows.select(pl.col("row_id").alias("line")).with_row_index("_order")
    good = good.join(order, on="line")
    good = _accounting_period(good, "doc_date", open_name).with_columns(
        pl.when(_given("so_line_id"))
        .then(pl.col("so_line_id"))
        .otherwise(pl.col("doc_line_id"))
        .alias("line_id"),
    )
    alone = (
        (pl.col("doc_type") == "INV") | ((pl.col("doc_type") == "CM") & ~_given("ref_doc_line_id"))
    ) & pl.col("doc_line_id").is_unique()
    good = good.with_columns(alone.alias("_alone"))
    accepted = _judge_alone(conn, good.filter(pl.col("_alone")), outcome)
    replayed = good.filter(~pl.col("_alone"))
    if replayed.height:
        accepted = pl.concat(
            [accepted, _replay_billings(conn, replayed, accepted, outcome)], how="vertical_relaxed"
        )
    if accepted.height == 0:
        return
    # A billing-driven line is its own contract; other lines' contracts are in the store.
    others = accepted.filter(~pl.col("_driven"))["line_id"].unique().to_list()
    contract_of = _contracts_of(conn, others) if others else {}
    records = accepted.with_columns(
        pl.when(pl.col("_driven")).then(_driven_template(templates)).alias("pob_template"),
        pl.coalesce("start", "doc_date").alias("start"),
        pl.col("line_id")
        .replace_strict(contract_of, default=pl.col("line_id"), return_dtype=pl.String)
        .alias("contract_id"),
        pl.col("line_id").is_first_distinct().alias("_first_of_line"),
    )
    _write_billings(conn, records)


def _driven_template(templates: pl.DataFrame) -> pl.Expr:
    """A billing-driven line's POB template: its own when the setup has it, else its
    schedule_type as `schedule_type:<name>` (SPEC §3)."""
    known = templates["pob_template"].implode()
    schedule_type = (
        pl.when(_given("schedule_type")).then(pl.col("schedule_type")).otherwise(pl.lit("evenly"))
    )
    return (
        pl.when(_given("pob_template") & pl.col("pob_template").is_in(known))
        .then(pl.col("pob_template"))
        .otherwise(pl.format("schedule_type:{}", schedule_type))
    )


def _write_billings(conn: sa.Connection, records: pl.DataFrame) -> None:
    """The accepted billings; for each billing-driven one its one-line contract and line
    (SPEC §3); every line touched marked dirty. The rows go to the database once, into a
    scratch table, and each table is filled from it."""
    frame = records.select(
        "doc_line_id",
        "doc_type",
        "doc_number",
        "doc_date",
        # Null where it is the doc_line_id (every billing-driven line): not sent row by row.
        _unless_doc_line("line_id"),
        "customer_id",
        "currency",
        "amount",
        "ref_doc_line_id",
        "content_hash",
        "period",
        "stage_row_id",
        pl.col("item_code").cast(pl.String),
        "pob_template",
        "start",
        "end",
        _unless_doc_line("contract_id"),
        pl.col("_driven").alias("driven"),
        pl.col("_first_of_line").alias("first_of_line"),
    ).sort("doc_line_id")  # key order: SQLite appends to the keys' indexes
    b, c, lv, d = t.billings, t.contracts, t.line_versions, t.dirty_lines
    with scratch(conn, frame, "scratch_billings") as s:
        line_id = sa.func.coalesce(s.c.line_id, s.c.doc_line_id)
        billing: dict[str, Any] = {n: s.c[n] for n in frame.columns if n in b.c}
        billing.update(line_id=line_id, attributes=sa.literal("{}"))
        conn.execute(b.insert().from_select(list(billing), sa.select(*billing.values())))
        driven = s.c.driven.is_(True)
        conn.execute(
            c.insert().from_select(
                ["contract_id", "customer_id", "currency", "billing_driven"],
                sa.select(s.c.doc_line_id, s.c.customer_id, s.c.currency, sa.true()).where(driven),
            )
        )
        values = {
            "line_id": s.c.doc_line_id,
            "version": sa.literal(1),
            "contract_id": s.c.doc_line_id,
            "line_no": s.c.stage_row_id,
            "content_hash": s.c.content_hash,
            "item_code": s.c.item_code,
            "pob_template": s.c.pob_template,
            "amount": sa.literal(0),
            "quantity_micro": sa.literal(1_000_000),
            "exclude": sa.true(),
            "residual": sa.false(),
            "start": s.c.start,
            "end": s.c.end,
            "effective_date": s.c.doc_date,
            "period": s.c.period,
            "attributes": sa.literal("{}"),
            "stage_row_id": s.c.stage_row_id,
        }
        conn.execute(
            lv.insert().from_select(list(values), sa.select(*values.values()).where(driven))
        )
        if conn.execute(sa.select(d.c.line_id).limit(1)).first() is not None:
            conn.execute(d.delete().where(d.c.line_id.in_(sa.select(line_id))))
        conn.execute(
            d.insert().from_select(
                ["line_id", "contract_id"],
                sa.select(line_id, sa.func.coalesce(s.c.contract_id, s.c.doc_line_id)).where(
                    s.c.first_of_line.is_(True)
                ),
            )
        )
    if frame.height >= BATCH:
        analyze(conn, b, c, lv, d)


def _unless_doc_line(name: str) -> pl.Expr:
    return pl.when(pl.col(name) != pl.col("doc_line_id")).then(pl.col(name)).alias(name)


def _has_rows(conn: sa.Connection, query: sa.Select[Any]) -> bool:
    """Whether a query finds anything: a lookup of a million keys in an empty table is skipped."""
    return conn.execute(query.limit(1)).first() is not None


def _given(name: str) -> pl.Expr:
    """A cell that is there: neither null nor empty."""
    return pl.col(name).fill_null("") != ""


_BILLING_RECORD = {
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
    "attributes": pl.String,
    "stage_row_id": pl.Int64,
    # Not stored: the row's place in processing order, whether it makes its own line, and
    # what that line needs beyond the billing.
    "_order": pl.UInt32,
    "line": pl.Int64,
    "_driven": pl.Boolean,
    "item_code": pl.String,
    "pob_template": pl.String,
    "schedule_type": pl.String,
    "start": pl.Date,
    "end": pl.Date,
}


_LINE_NEEDS = ("item_code", "pob_template", "schedule_type", "start", "end")


def _judge_alone(conn: sa.Connection, rows: pl.DataFrame, outcome: _Outcome) -> pl.DataFrame:
    """INV and stand-alone CM rows whose doc_line_id is once in the batch: a duplicate or a
    conflict of a stored document line, or an unknown so_line_id; else accepted (returned as
    billing records)."""
    if rows.height == 0:
        return pl.DataFrame(schema=_BILLING_RECORD)
    b, lv = t.billings, t.line_versions
    stored = read_frame(
        conn,
        sa.select(b.c.doc_line_id, b.c.content_hash.label("_stored")).where(
            among(conn, b.c.doc_line_id, rows["doc_line_id"].to_list())
            if _has_rows(conn, sa.select(b.c.doc_line_id))
            else sa.false()
        ),
        {"doc_line_id": pl.String, "_stored": pl.String},
    )
    so_lines = rows.filter(_given("so_line_id"))["so_line_id"].unique().to_list()
    known_lines = (
        read_frame(
            conn,
            sa.select(lv.c.line_id).distinct().where(among(conn, lv.c.line_id, so_lines)),
            {"line_id": pl.String},
        )["line_id"]
        if so_lines
        else pl.Series("line_id", [], dtype=pl.String)
    )
    judged = rows.join(stored, on="doc_line_id", how="left").with_columns(
        pl.col("_stored").is_not_null().alias("_seen"),
        (_given("so_line_id") & ~pl.col("so_line_id").is_in(known_lines.implode())).alias(
            "_unknown"
        ),
    )
    seen = judged.filter(pl.col("_seen"))
    outcome.duplicate_all(seen.filter(pl.col("_stored") == pl.col("content_hash"))["line"])
    outcome.fail_all(
        seen.filter(pl.col("_stored") != pl.col("content_hash")).select(
            "line",
            pl.lit("doc_line_id").alias("column"),
            pl.col("doc_line_id").alias("value"),
            pl.lit("this document line was processed before with different content").alias(
                "message"
            ),
        )
    )
    fresh = judged.filter(~pl.col("_seen"))
    outcome.fail_all(
        fresh.filter(pl.col("_unknown")).select(
            "line",
            pl.lit("so_line_id").alias("column"),
            pl.col("so_line_id").alias("value"),
            pl.lit("unknown so_line_id: import the sales order first").alias("message"),
        )
    )
    accepted = fresh.filter(~pl.col("_unknown"))
    outcome.ok_all(accepted["line"])
    return accepted.select(
        "doc_line_id",
        "doc_type",
        "doc_number",
        "doc_date",
        "line_id",
        "customer_id",
        "currency",
        pl.col("signed_amount").alias("amount"),
        pl.lit(None, dtype=pl.String).alias("ref_doc_line_id"),
        "content_hash",
        "period",
        pl.lit("{}").alias("attributes"),
        pl.col("line").alias("stage_row_id"),
        "_order",
        "line",
        (~_given("so_line_id")).alias("_driven"),
        pl.col("item_code").cast(pl.String),
        "pob_template",
        "schedule_type",
        "start",
        "end",
    ).cast(_BILLING_RECORD)  # type: ignore[arg-type]


def _replay_billings(
    conn: sa.Connection, rows: pl.DataFrame, alone: pl.DataFrame, outcome: _Outcome
) -> pl.DataFrame:
    """Reversals and repeated doc_line_ids in processing order, with the remaining billed
    amount of each invoice line kept as they go (SPEC §4.2); `alone` are the rows accepted as a
    column, which reversals may refer to. Returns the accepted rows as billing records."""
    b = t.billings
    ids = rows["doc_line_id"].to_list()
    refs = [r for r in rows["ref_doc_line_id"].to_list() if r]
    known: dict[str, dict[str, Any]] = {
        r.doc_line_id: dict(r._mapping)  # noqa: SLF001
        for r in conn.execute(sa.select(b).where(among(conn, b.c.doc_line_id, {*ids, *refs})))
    }
    so_lines = set(rows.filter(_given("so_line_id"))["so_line_id"].unique().to_list())
    lv = t.line_versions
    existing_lines = (
        {
            r.line_id
            for r in conn.execute(
                sa.select(lv.c.line_id).where(among(conn, lv.c.line_id, so_lines))
            )
        }
        if so_lines
        else set()
    )
    # Remaining billed amount per original document line, from the store.
    remaining: dict[str, int] = {}
    cancelled: set[str] = set()
    credited = [k for k, v in known.items() if v["doc_type"] == "INV"] + [
        k for k, v in known.items() if v["doc_type"] == "CM"
    ]
    if credited:
        for r in conn.execute(
            sa.select(b.c.doc_line_id, b.c.doc_type, b.c.amount, b.c.ref_doc_line_id).where(
                among(conn, b.c.doc_line_id, credited) | among(conn, b.c.ref_doc_line_id, credited)
            )
        ):
            _track(
                remaining, cancelled, known, r.doc_line_id, r.doc_type, r.amount, r.ref_doc_line_id
            )
    # The rows accepted as a column that these rows refer to join the replay at their place.
    referred = alone.filter(pl.col("doc_line_id").is_in(refs))
    steps = sorted(
        [(r["_order"], True, r) for r in referred.iter_rows(named=True)]
        + [(r["_order"], False, r) for r in rows.iter_rows(named=True)],
        key=lambda step: step[0],
    )
    accepted: list[dict[str, Any]] = []
    for _, settled, row in steps:
        if settled:
            known[row["doc_line_id"]] = row
            _track(remaining, cancelled, known, row["doc_line_id"], row["doc_type"],
                   row["amount"], None)  # fmt: skip
            continue
        record_row = _replay_one(row, known, existing_lines, remaining, cancelled, outcome)
        if record_row is not None:
            accepted.append(record_row)
    return pl.DataFrame(accepted, schema=_BILLING_RECORD)


def _replay_one(
    row: dict[str, Any],
    known: dict[str, dict[str, Any]],
    existing_lines: set[str],
    remaining: dict[str, int],
    cancelled: set[str],
    outcome: _Outcome,
) -> dict[str, Any] | None:
    """One billing row judged against the store and the rows before it; its record if accepted."""
    row_id, doc_line = row["line"], row["doc_line_id"]
    previous = known.get(doc_line)
    if previous is not None:
        if previous["content_hash"] == row["content_hash"]:
            outcome.duplicate(row_id)
        else:
            outcome.fail(
                row_id,
                "doc_line_id",
                doc_line,
                "this document line was processed before with different content",
            )
        return None
    kind, amount = row["doc_type"], row["amount"]
    driven = False
    if kind == "INV" or (kind == "CM" and not row["ref_doc_line_id"]):
        line_id = row["so_line_id"] or doc_line
        if row["so_line_id"] and row["so_line_id"] not in existing_lines:
            outcome.fail(
                row_id,
                "so_line_id",
                row["so_line_id"],
                "unknown so_line_id: import the sales order first",
            )
            return None
        driven = not row["so_line_id"]
        signed = amount if kind == "INV" else -amount
        ref = None
    else:
        ref = row["ref_doc_line_id"]
        original = known.get(ref)
        if original is None or original["doc_number"] != row["ref_doc_number"]:
            outcome.fail(
                row_id,
                "ref_doc_line_id",
                ref,
                f"{kind} references unknown document {row['ref_doc_number']} line {ref}",
            )
            return None
        line_id = original["line_id"]
        left = remaining.get(ref, 0)
        failure = _reversal_problem(row, original, ref, left, cancelled)
        if failure is not None:
            outcome.fail(row_id, *failure)
            return None
        signed = amount if kind == "CMC" else -amount
    record_row = {
        "doc_line_id": doc_line,
        "doc_type": kind,
        "doc_number": row["doc_number"],
        "doc_date": row["doc_date"],
        "line_id": line_id,
        "customer_id": row["customer_id"],
        "currency": row["currency"],
        "amount": signed,
        "ref_doc_line_id": ref,
        "content_hash": row["content_hash"],
        "period": row["period"],
        "attributes": "{}",
        "stage_row_id": row_id,
        "_order": row["_order"],
        "line": row_id,
        "_driven": driven,
        **{name: row[name] for name in _LINE_NEEDS},
    }
    known[doc_line] = record_row
    _track(remaining, cancelled, known, doc_line, kind, signed, ref)
    outcome.ok(row_id)
    return record_row


def _reversal_problem(
    row: dict[str, Any], original: dict[str, Any], ref: str, left: int, cancelled: set[str]
) -> tuple[str, object, str] | None:
    """Why an IVC, CM or CMC cannot apply to its original line (column, value, message)."""
    kind, amount, currency = row["doc_type"], row["amount"], row["currency"]
    wrong_original = {
        "IVC": ("INV", "an IVC cancels an INV line"),
        "CM": ("INV", "a CM credits an INV line"),
        "CMC": ("CM", "a CMC cancels a credit memo line that is not yet cancelled"),
    }
    expected, message = wrong_original[kind]
    if original["doc_type"] != expected or (kind == "CMC" and ref in cancelled):
        return "ref_doc_line_id", ref, message
    if kind == "IVC" and left == 0:
        message = f"{ref} is already cancelled or credited in full: nothing remains billed"
    elif kind == "IVC" and amount != left:
        message = (
            "partial invoice cancellations are not permitted: "
            f"the remaining amount of {ref} is {_fmt(left, currency)}"
        )
    elif kind == "CM" and amount > left:
        message = f"the credit exceeds the remaining billed amount of {ref}: {_fmt(left, currency)}"
    elif kind == "CMC" and amount != -original["amount"]:
        message = f"a CMC must match its credit memo: {_fmt(-original['amount'], currency)}"
    else:
        return None
    return "amount", row["amount_text"], message


def _fmt(amount: int, currency: str) -> str:
    from revrec.money import format_minor  # noqa: PLC0415

    return format_minor(amount, currency)


def _track(
    remaining: dict[str, int],
    cancelled: set[str],
    known: dict[str, dict[str, Any]],
    doc_line: str,
    kind: str,
    signed: int,
    ref: str | None,
) -> None:
    """Keep the remaining billed amount of each INV line as credits and cancellations arrive."""
    if kind == "INV":
        remaining[doc_line] = remaining.get(doc_line, 0) + signed
    elif kind in ("IVC", "CM") and ref is not None:
        remaining[ref] = remaining.get(ref, 0) + signed
    elif kind == "CMC" and ref is not None:
        cancelled.add(ref)
        original = known.get(ref)
        if original is not None and original.get("ref_doc_line_id"):
            target = original["ref_doc_line_id"]
            remaining[target] = remaining.get(target, 0) + signed


def _contracts_of(conn: sa.Connection, line_ids: list[str]) -> dict[str, str]:
    lv = t.line_versions
    query = sa.select(lv.c.line_id, lv.c.contract_id).where(among(conn, lv.c.line_id, line_ids))
    return {r.line_id: r.contract_id for r in conn.execute(query)}


def _verdicts(rows: pl.DataFrame, key: str, stored: pl.DataFrame, passes: pl.Expr) -> pl.DataFrame:
    """Add `_verdict` to rows in processing order, as judging them one by one would: a key in
    the store makes every row of it a duplicate (same content) or a conflict; otherwise the
    first row that `passes` its checks is accepted, the rows of the key after it are duplicates
    or conflicts of it, and the rows before it failed their checks. stored: key, _stored."""
    first = pl.col("_first")
    frame = (
        rows.with_row_index("_pos")
        .join(stored, on=key, how="left", maintain_order="left")
        .with_columns((pl.col("_stored").is_null() & passes).alias("_passes"))
    )
    repeated = pl.col(key).is_duplicated()
    frame = frame.with_columns(
        pl.when(repeated)
        .then(pl.col("_pos").filter(pl.col("_passes")).min().over(key))
        .when(pl.col("_passes"))
        .then(pl.col("_pos"))
        .alias("_first"),
    )
    frame = frame.with_columns(
        pl.when(repeated)
        .then(pl.col("_content").filter(pl.col("_pos") == first).first().over(key))
        .otherwise(pl.col("_content"))
        .alias("_first_content")
    )
    return frame.with_columns(
        pl.when(pl.col("_stored").is_not_null())
        .then(
            pl.when(pl.col("_content") == pl.col("_stored"))
            .then(pl.lit("duplicate"))
            .otherwise(pl.lit("conflict"))
        )
        .when(first.is_null() | (pl.col("_pos") < first))
        .then(pl.lit("failed"))
        .when(pl.col("_pos") == first)
        .then(pl.lit("accepted"))
        .when(pl.col("_content") == pl.col("_first_content"))
        .then(pl.lit("duplicate"))
        .otherwise(pl.lit("conflict"))
        .alias("_verdict")
    ).drop("_pos", "_passes", "_first", "_first_content")


def _report(
    outcome: _Outcome, judged: pl.DataFrame, key: str, conflict: str, failures: list[pl.Expr]
) -> pl.DataFrame:
    """Record the verdicts of `_verdicts` in the outcome; failures are (column, value, message)
    structs, the first non-null one per failed row. Returns the accepted rows."""
    verdict = pl.col("_verdict")
    outcome.duplicate_all(judged.filter(verdict == "duplicate")["line"])
    outcome.fail_all(
        judged.filter(verdict == "conflict").select(
            "line",
            pl.lit(key).alias("column"),
            pl.col(key).cast(pl.String).fill_null("").alias("value"),
            pl.lit(conflict).alias("message"),
        )
    )
    failed = judged.filter(verdict == "failed")
    if failed.height:
        outcome.fail_all(failed.select("line", pl.coalesce(failures).alias("_why")).unnest("_why"))
    accepted = judged.filter(verdict == "accepted")
    outcome.ok_all(accepted["line"])
    return accepted


def _why(column: str, value: pl.Expr, message: pl.Expr, when: pl.Expr) -> pl.Expr:
    return pl.when(when).then(
        pl.struct(
            pl.lit(column).alias("column"),
            value.cast(pl.String).fill_null("").alias("value"),
            message.alias("message"),
        )
    )


def _apply_costs(
    conn: sa.Connection,
    rows: pl.DataFrame,
    open_name: str,
    outcome: _Outcome,
) -> None:
    if rows.height == 0:
        return
    raw = _decode(conn, rows)
    good, errors = cost_import.to_costs(raw)
    outcome.fail_all(errors)
    if good.height == 0:
        return
    good = _content_hash(good, "cost")
    good = _accounting_period(good, "cost_date", open_name)
    c = t.costs
    stored = read_frame(
        conn,
        sa.select(c.c.cost_id, c.c.content_hash.label("_stored")).where(
            among(conn, c.c.cost_id, good["cost_id"].to_list())
        ),
        {"cost_id": pl.String, "_stored": pl.String},
    )
    so_lines = good.filter(_given("so_line_id"))["so_line_id"].unique().to_list()
    lines = pl.Series(list(_contracts_of(conn, so_lines)) if so_lines else [], dtype=pl.String)
    ids = good.filter(~_given("so_line_id"))["contract_id"].drop_nulls().unique().to_list()
    contracts = pl.Series(
        [
            r.contract_id
            for r in conn.execute(
                sa.select(t.contracts.c.contract_id).where(
                    among(conn, t.contracts.c.contract_id, ids)
                )
            )
        ]
        if ids
        else [],
        dtype=pl.String,
    )
    unknown_line = _given("so_line_id") & ~pl.col("so_line_id").is_in(lines.implode())
    unknown_contract = ~_given("so_line_id") & ~pl.col("contract_id").is_in(
        contracts.implode()
    ).fill_null(value=False)
    judged = _verdicts(
        good.with_columns(pl.col("content_hash").alias("_content")),
        "cost_id",
        stored,
        ~unknown_line & ~unknown_contract,
    )
    accepted = _report(
        outcome,
        judged,
        "cost_id",
        "this cost was processed before with different content",
        [
            _why("so_line_id", pl.col("so_line_id"), pl.lit("unknown so_line_id"), unknown_line),
            _why(
                "contract_id",
                pl.col("contract_id"),
                pl.lit("unknown contract_id"),
                unknown_contract,
            ),
        ],
    )
    insert_frame(
        conn,
        t.costs,
        accepted.select(
            "cost_id",
            "cost_type",
            "amount",
            "currency",
            "cost_date",
            pl.col("so_line_id").alias("line_id"),
            "contract_id",
            "amortization",
            "amortization_months",
            "expense_immediately",
            "period",
            "content_hash",
            pl.col("line").alias("stage_row_id"),
        ),
    )


# --- event_import -----------------------------------------------------------------------------


def event_import_job(conn: sa.Connection) -> JobResult:
    result = JobResult("event_import")
    rows = _pending(conn, ("events",))
    if rows.height == 0:
        return result
    outcome = _Outcome()
    open_name = open_period(conn)
    for event_name in rows["event_name"].fill_null("").unique(maintain_order=True).to_list():
        part = _decode(conn, rows.filter(pl.col("event_name").fill_null("") == event_name))
        good, errors = event_import.to_events(part, event_name)
        outcome.fail_all(errors)
        if good.height:
            _apply_events(conn, good, event_name, open_name, outcome)
    _write_outcome(conn, outcome)
    result.processed, result.error = outcome.counts()
    result.duplicate = outcome.duplicates
    return result


def _apply_events(
    conn: sa.Connection, good: pl.DataFrame, event_name: str, open_name: str, outcome: _Outcome
) -> None:
    good = _accounting_period(good, "event_date", open_name)
    lv, tp, ev = t.line_versions, t.pob_templates, t.events
    line_ids = good["line_id"].unique().to_list()
    # The newest version's template of each line.
    templates = read_frame(
        conn,
        sa.select(lv.c.line_id, lv.c.version, lv.c.pob_template).where(
            among(conn, lv.c.line_id, line_ids)
        ),
        {"line_id": pl.String, "version": pl.Int64, "pob_template": pl.String},
    )
    templates = templates.sort("version").group_by("line_id").last().drop("version")
    # Whether a line's template takes this event for a release.
    takes = {
        r.name: r.method == "event" and event_name in (r.events or [])
        for r in conn.execute(sa.select(tp))
    }
    stored = read_frame(
        conn,
        sa.select(ev.c.event_id, ev.c.content_hash.label("_stored")).where(
            among(conn, ev.c.event_id, good["event_id"].to_list())
        ),
        {"event_id": pl.String, "_stored": pl.String},
    )
    frame = good.join(templates, on="line_id", how="left", maintain_order="left").with_columns(
        pl.coalesce(
            pl.col("content_hash") if "content_hash" in good.columns else pl.lit(None),
            pl.col("event_id"),
        )
        .cast(pl.String)
        .alias("_content"),
        pl.col("pob_template")
        .replace_strict(takes, default=False, return_dtype=pl.Boolean)
        .alias("_takes"),
    )
    unknown = pl.col("pob_template").is_null()
    refused = ~unknown & (pl.col("action") == "release") & ~pl.col("_takes")
    judged = _verdicts(frame, "event_id", stored, ~unknown & ~refused)
    accepted = _report(
        outcome,
        judged,
        "event_id",
        "this event was processed before with different content",
        [
            _why("so_line_id", pl.col("line_id"), pl.lit("event for an unknown line"), unknown),
            _why(
                "so_line_id",
                pl.col("line_id"),
                pl.format(
                    "line {}'s POB template {} does not accept event {}",
                    pl.col("line_id"),
                    pl.col("pob_template"),
                    pl.lit(event_name),
                ),
                refused,
            ),
        ],
    )
    if accepted.height == 0:
        return
    frame = accepted.select(
        "event_id",
        pl.lit(event_name).alias("event_name"),
        "line_id",
        "event_date",
        pl.col("line").alias("seq"),
        "action",
        pl.col("kind") if "kind" in accepted.columns else pl.lit(None, dtype=pl.String),
        pl.col("value_micro") if "value_micro" in accepted.columns else pl.lit(None, pl.Int64),
        pl.col("_content").alias("content_hash"),
        "period",
        pl.col("line").alias("stage_row_id"),
    )
    insert_frame(conn, ev, frame)
    pairs = frame.select("line_id").unique()
    contract_of = _contracts_of(conn, pairs["line_id"].to_list())
    _mark_dirty(
        conn,
        pairs.with_columns(
            pl.col("line_id")
            .replace_strict(contract_of, default=pl.col("line_id"), return_dtype=pl.String)
            .alias("contract_id")
        ),
    )


# --- revenue_process --------------------------------------------------------------------------


def revenue_process(conn: sa.Connection) -> JobResult:
    """Re-allocate and re-schedule the contracts touched since the last run; post the open
    period of every book (closed periods as posted, the open one catching up)."""
    result = JobResult("revenue_process")
    if conn.execute(sa.select(t.dirty_lines.c.line_id).limit(1)).first() is None:
        return result
    analyze(conn, t.dirty_lines)  # its size swings from a few lines to every line
    whole = _most_are_touched(conn)
    lines = _current_lines(conn, whole=whole)
    if lines.height == 0:
        conn.execute(t.dirty_lines.delete())
        return result
    billed = _of_touched(
        conn,
        sa.select(t.billings.c.line_id, t.billings.c.doc_date, t.billings.c.amount),
        t.billings.c.line_id,
        lines["line_id"],
        whole=whole,
    )
    driven_totals = billed.group_by("line_id").agg(pl.col("amount").sum().alias("_billed"))
    lines = (
        lines.join(driven_totals, on="line_id", how="left")
        .with_columns(
            pl.when(pl.col("billing_driven"))
            .then(pl.col("_billed").fill_null(0))
            .otherwise(pl.col("amount"))
            .alias("amount")
        )
        .drop("_billed")
    )
    templates = {
        r.name: (r.method, r.params or {}) for r in conn.execute(sa.select(t.pob_templates))
    }
    base = {name: _method(name, templates, {})[0] for name in lines["pob_template"].unique()}
    lines = lines.with_columns(pl.col("pob_template").replace_strict(base).alias("method"))
    allocated, errors = allocate(lines)
    result.notes.extend(f"contract {e.contract_id}: {e.message}" for e in errors)
    allocated = allocated.filter(pl.col("allocated").is_not_null())
    ids = allocated["line_id"]
    _store_allocations(conn, allocated)
    e = t.events
    touched = _of_touched(
        conn,
        sa.select(e.c.line_id, e.c.event_date, e.c.seq, e.c.action, e.c.kind, e.c.value_micro),
        e.c.line_id,
        ids,
        whole=whole,
    )
    released = pl.col("action") == "release"
    events = touched.filter(released).select("line_id", "event_date", "seq", "kind", "value_micro")
    actions = touched.filter(~released).select("line_id", "event_date", "seq", "action")
    books = conn.execute(sa.select(t.books)).all()
    for book in books:
        open_name = open_period(conn, book.name)
        segments = _segments(conn, allocated, templates, book.methods or {})
        rows, schedule_errors = schedule(
            segments, events=events, billings=billed.select("line_id", "doc_date", "amount")
        )
        rows = apply_actions(rows, actions)
        result.notes.extend(f"line {e.line_id}: {e.message}" for e in schedule_errors)
        posted = _posted(conn, book.name, ids, open_name, whole=whole)
        open_index = parse_period(open_name)
        # Only the open period is posted: later months of the schedule cannot change it.
        effective = effective_schedule(
            rows.filter(pl.col("period") <= open_index), posted, open_index
        )
        now_open = effective.filter(pl.col("period") == open_index)
        p = t.postings
        conn.execute(
            p.delete().where(
                (p.c.book == book.name)
                & (p.c.period == open_name)
                & among(conn, p.c.line_id, ids.to_list())
            )
        )
        insert_frame(
            conn,
            p,
            now_open.select(
                pl.lit(book.name).alias("book"),
                "line_id",
                pl.lit(open_name).alias("period"),
                "amount",
            ),
        )
        result.posted_lines += now_open.height
    conn.execute(t.dirty_lines.delete())
    result.processed = lines.height
    return result


def _most_are_touched(conn: sa.Connection) -> bool:
    """Whether the touched contracts are a large share of all: their rows are then read with
    whole tables, filtered here (a scan is cheaper than a lookup per line), else by index."""
    touched = conn.execute(sa.select(sa.func.count()).select_from(t.dirty_lines)).scalar() or 0
    every = conn.execute(sa.select(sa.func.count()).select_from(t.contracts)).scalar() or 0
    return touched * 4 >= every


def _dirty_line_ids() -> sa.Select[Any]:
    """Every line of the contracts touched since the last run (a subquery, never a list)."""
    lv, d = t.line_versions, t.dirty_lines
    return sa.select(lv.c.line_id).where(lv.c.contract_id.in_(sa.select(d.c.contract_id)))


def _of_touched(
    conn: sa.Connection,
    query: sa.Select[Any],
    line_id: sa.Column[Any],
    keep: pl.Series,
    *,
    whole: bool,
) -> pl.DataFrame:
    """The rows of `query` about these lines of the touched contracts."""
    if not _has_rows(conn, query):
        return read_frame(conn, query.where(sa.false()))
    frame = read_frame(conn, query if whole else query.where(line_id.in_(_dirty_line_ids())))
    return frame.filter(pl.col("line_id").is_in(keep.implode()))


def _current_lines(conn: sa.Connection, *, whole: bool) -> pl.DataFrame:
    """The newest version of every line of the touched contracts, with `versions`: the history
    of the lines that have more than one (for prospective modifications), oldest first."""
    lv, c, d = t.line_versions, t.contracts, t.dirty_lines
    columns = (
        lv.c.line_id,
        lv.c.version,
        lv.c.contract_id,
        lv.c.line_no,
        lv.c.pob_template,
        lv.c.amount,
        lv.c.quantity_micro,
        lv.c.ssp_unit,
        lv.c.exclude,
        lv.c.residual,
        lv.c.start,
        lv.c.end,
        lv.c.effective_date,
        lv.c.modification_policy,
    )
    if whole:
        touched = read_frame(conn, sa.select(d.c.contract_id))
        versions = (
            read_frame(conn, sa.select(*columns))
            .join(touched, on="contract_id", how="semi")
            .join(
                read_frame(conn, sa.select(c.c.contract_id, c.c.billing_driven)),
                on="contract_id",
                how="inner",
            )
        )
    else:
        versions = read_frame(
            conn,
            sa.select(*columns, c.c.billing_driven)
            .join(c, c.c.contract_id == lv.c.contract_id)
            .where(lv.c.contract_id.in_(sa.select(d.c.contract_id))),
        )
    policy: dict[str, str] = {
        r.contract_id: r.modification_policy for r in conn.execute(sa.select(t.contract_policies))
    }
    default = (
        conn.execute(
            sa.select(t.settings.c.value).where(t.settings.c.key == "modification_policy")
        ).scalar()
        or "catch_up"
    )
    versions = versions.with_columns(
        pl.coalesce(
            pl.col("contract_id").replace_strict(policy, default=None, return_dtype=pl.String),
            pl.col("modification_policy"),
            pl.lit(default),
        ).alias("policy"),
        pl.col("start").cast(pl.Date),
        pl.col("end").cast(pl.Date),
        pl.col("effective_date").cast(pl.Date),
    )
    if versions["line_id"].is_duplicated().any():
        versions = versions.sort("line_id", "version")
        latest = versions.group_by("line_id", maintain_order=True).last()
        history = (
            versions.filter(pl.col("line_id").is_duplicated())
            .group_by("line_id", maintain_order=True)
            .agg(pl.struct(pl.all().exclude("line_id")).alias("versions"))
        )
        lines = latest.join(history, on="line_id", how="left")
    else:
        lines = versions
    return lines.sort("contract_id", "line_no", "line_id")


def _store_allocations(conn: sa.Connection, allocated: pl.DataFrame) -> None:
    a = t.allocations
    pairs = allocated.select("line_id", "version", "allocated")
    if conn.execute(sa.select(a.c.line_id).limit(1)).first() is not None:
        # Only the (line, version) pairs being re-stored: another version of a line keeps the
        # allocation it had, which the prospective chain needs.
        for version in pairs["version"].unique().to_list():
            lines = pairs.filter(pl.col("version") == version)["line_id"].to_list()
            conn.execute(
                a.delete().where(among(conn, a.c.line_id, lines) & (a.c.version == version))
            )
    insert_frame(conn, a, pairs)


def _method(
    template: str, templates: dict[str, tuple[str, dict[str, str]]], overrides: dict[str, str]
) -> tuple[str, str | None, str | None]:
    if template.startswith("schedule_type:"):
        return SCHEDULE_TYPES.get(template.split(":", 1)[1], SCHEDULE_TYPES["evenly"])
    method, params = templates.get(template, ("ratable_daily", {}))
    if template in overrides and overrides[template] != method:
        method, params = overrides[template], {}
    convention = params.get("convention") or (
        "prorate_days" if method == "ratable_monthly" else None
    )
    at = params.get("at") or ("start" if method == "point_in_time" else None)
    return method, convention, at


def _segments(
    conn: sa.Connection,
    lines: pl.DataFrame,
    templates: dict[str, tuple[str, dict[str, str]]],
    overrides: dict[str, str],
) -> pl.DataFrame:
    """Each line's segments for a book: the newest version with its allocation (catch-up), or
    the chain of versions through engine.prospective (prospective policy)."""
    methods = {
        name: _method(name, templates, overrides)
        for name in lines["pob_template"].unique().to_list()
    }
    frame = lines.with_columns(
        pl.col("pob_template")
        .replace_strict({k: v[0] for k, v in methods.items()})
        .alias("method"),
        pl.col("pob_template")
        .replace_strict({k: v[1] for k, v in methods.items()}, return_dtype=pl.String)
        .alias("convention"),
        pl.col("pob_template")
        .replace_strict({k: v[2] for k, v in methods.items()}, return_dtype=pl.String)
        .alias("at"),
    )
    columns = ["line_id", "total", "method", "convention", "at", "start", "end"]
    simple = frame.filter(
        (pl.col("policy") != "prospective")
        | (pl.col("version") == 1)
        | pl.col("method").is_in(["event", "upon_billing"])
    )
    segments = simple.select(pl.col("allocated").alias("total"), *columns[:1], *columns[2:])
    segments = segments.select(columns).with_columns(pl.lit(None, dtype=pl.Date).alias("cap"))
    chained = frame.join(simple.select("line_id"), on="line_id", how="anti")
    if chained.height:
        chain = _prospective_chain(conn, chained).select(segments.columns)
        segments = pl.concat([segments, chain], how="vertical_relaxed")
    return segments


def _prospective_chain(conn: sa.Connection, lines: pl.DataFrame) -> pl.DataFrame:
    """Apply each later version prospectively on top of the earlier ones."""
    a = t.allocations
    stored = {
        (r.line_id, r.version): r.allocated
        for r in conn.execute(
            sa.select(a).where(among(conn, a.c.line_id, lines["line_id"].to_list()))
        )
    }
    parts = []
    for row in lines.iter_rows(named=True):
        history = row["versions"]
        base = {
            "line_id": row["line_id"],
            "method": row["method"],
            "convention": row["convention"],
            "at": row["at"],
        }
        first = history[0]
        current = pl.DataFrame(
            [
                {
                    **base,
                    "total": stored.get((row["line_id"], first["version"]), first["amount"]),
                    "start": first["start"],
                    "end": first["end"],
                    "cap": None,
                }
            ],
            schema=_SEGMENT_SCHEMA,
        )
        for later in history[1:]:
            total = (
                row["allocated"]
                if later["version"] == row["version"]
                else stored.get((row["line_id"], later["version"]), later["amount"])
            )
            changed = pl.DataFrame(
                [
                    {
                        **base,
                        "total": total,
                        "start": later["start"],
                        "end": later["end"],
                        "cap": None,
                        "modification_date": later["effective_date"],
                    }
                ],
                schema={**_SEGMENT_SCHEMA, "modification_date": pl.Date},
            )
            current = prospective(current, changed).select(list(_SEGMENT_SCHEMA))
        parts.append(current)
    return pl.concat(parts)


_SEGMENT_SCHEMA = {
    "line_id": pl.String,
    "method": pl.String,
    "convention": pl.String,
    "at": pl.String,
    "total": pl.Int64,
    "start": pl.Date,
    "end": pl.Date,
    "cap": pl.Date,
}


def _posted(
    conn: sa.Connection, book: str, line_ids: pl.Series, open_name: str, *, whole: bool
) -> pl.DataFrame:
    """What was posted to the closed periods of a book for these lines (period as month index)."""
    p = t.postings
    frame = _of_touched(
        conn,
        sa.select(p.c.line_id, p.c.period, p.c.amount).where(
            (p.c.book == book) & (p.c.period < open_name)
        ),
        p.c.line_id,
        line_ids,
        whole=whole,
    )
    return frame.with_columns(
        (
            pl.col("period").str.slice(0, 4).cast(pl.Int64) * 12
            + pl.col("period").str.slice(5, 2).cast(pl.Int64)
            - 1
        ).alias("period")
    )


_JOBS = {
    "transaction_import": transaction_import,
    "event_import": event_import_job,
    "revenue_process": revenue_process,
}


def open_next_period(conn: sa.Connection, *, user: str) -> str:
    """Close every book's open period and open the next; future stage rows of the new period
    become pending. (The checklist of SPEC §7 comes with the period-close issue.)"""
    books = [r.name for r in conn.execute(sa.select(t.books.c.name))]
    new_name = ""
    for book in books:
        current = open_period(conn, book)
        index = parse_period(current) + 1
        new_name = f"{month_start(index):%Y-%m}"
        p = t.periods
        conn.execute(
            p.update().where((p.c.book == book) & (p.c.period == current)).values(status="closed")
        )
        exists = conn.execute(
            sa.select(p.c.period).where((p.c.book == book) & (p.c.period == new_name))
        ).scalar()
        if exists:
            conn.execute(
                p.update()
                .where((p.c.book == book) & (p.c.period == new_name))
                .values(status="open")
            )
        else:
            conn.execute(p.insert().values(book=book, period=new_name, status="open"))
    # Every line may recognize revenue in the new period: revenue_process re-posts them all.
    lv, dirty = t.line_versions, t.dirty_lines
    conn.execute(
        dirty.insert().from_select(
            ["line_id", "contract_id"],
            sa.select(lv.c.line_id, sa.func.min(lv.c.contract_id))
            .where(lv.c.line_id.not_in(sa.select(dirty.c.line_id)))
            .group_by(lv.c.line_id),
        )
    )
    s = t.stage_rows
    conn.execute(
        s.update()
        .where((s.c.status == "future") & (s.c.period <= new_name))
        .values(status="pending")
    )
    record(conn, user, "period.open", f"period:{new_name}", None, {"open": new_name})
    return new_name


__all__ = ["JOB_OF_TAB", "JobResult", "open_next_period", "run"]
