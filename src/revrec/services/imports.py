"""Importing a file into the stage area (SPEC §4): header check, row validation, statuses.

One database transaction per file: either every row of the file is staged, or none is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from revrec.errors import InputError
from revrec.imports import billings, costs, events, sales_orders
from revrec.imports.files import file_sha256, read_upload_rows
from revrec.imports.mappings import Mapping, check_headers
from revrec.imports.values import dates
from revrec.services.mappings import get_mapping
from revrec.services.setup import open_period
from revrec.services.stage import status_counts
from revrec.store import payloads, rules
from revrec.store import setup as setup_store
from revrec.store import stage as store
from revrec.store.audit import record
from revrec.vocab import DATE_OF_TYPE, KEY_OF_TYPE, TAB_OF_TYPE, UPLOAD_TYPES

# Event names every setup accepts, besides those its POB templates name.
BUILTIN_EVENTS = ("upon_billing", "upon_booking", "expiration")


@dataclass
class ImportSummary:
    file: str
    rows_read: int = 0
    processed: int = 0
    future: int = 0
    pending: int = 0
    error: int = 0
    duplicate: int = 0
    unchanged: bool = False
    file_id: int | None = None
    notes: list[str] = field(default_factory=list)
    errors: list[dict[str, object]] = field(default_factory=list)

    def counts(self) -> dict[str, object]:
        """The summary of SPEC §11.1: the file and its rows per outcome."""
        return {
            "file": self.file,
            "rows_read": self.rows_read,
            "processed": self.processed,
            "future": self.future,
            "pending": self.pending,
            "error": self.error,
            "duplicate": self.duplicate,
        }


def templates_frame(conn: sa.Connection) -> pl.DataFrame:
    """The store's POB templates as the validators' and the engine's frame: pob_template,
    method, convention, at."""
    return rules.templates(conn).drop("events")


def _validate(
    upload_type: str,
    raw: pl.DataFrame,
    conn: sa.Connection,
    mapping: Mapping,
    event_name: str | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    templates = templates_frame(conn)
    if upload_type == "sales_order":
        return sales_orders.to_lines(raw, templates)
    if upload_type == "billing":
        return billings.to_billings(raw, templates, mapping)
    if upload_type == "cost":
        return costs.to_costs(raw)
    return events.to_events(raw, event_name or "")


def import_file(
    conn: sa.Connection,
    path: Path,
    upload_type: str,
    *,
    mapping_name: str = "revrec",
    user: str,
    now: datetime,
    event_name: str | None = None,
    name: str | None = None,
) -> ImportSummary:
    """Stage every row of the file; good rows become pending or future, bad ones error."""
    # What the options name is checked first, so a mistake is an error even for a file that
    # was imported before.
    if upload_type not in UPLOAD_TYPES:
        raise InputError(f"unknown type {upload_type!r}: expected one of {', '.join(UPLOAD_TYPES)}")
    display = name or path.name
    if upload_type == "event":
        _check_event_name(conn, event_name)
    mapping = get_mapping(conn, mapping_name, upload_type)
    digest = file_sha256(path)
    seen = store.find_file(conn, digest, upload_type, event_name)
    if seen is not None:
        seen_id, seen_rows = seen
        return ImportSummary(
            display,
            rows_read=seen_rows,
            duplicate=seen_rows,
            unchanged=True,
            file_id=seen_id,
            notes=["the same file was imported before: nothing changed"],
        )
    summary = _stage_file(conn, path, upload_type, mapping, event_name, display, digest, user, now)
    record(
        conn,
        user=user,
        now=now,
        action="import.file",
        entity=f"file:{summary.file_id}",
        before=None,
        after={
            **summary.counts(),
            "upload_type": upload_type,
            "mapping": mapping_name,
            "event": event_name,
            "sha256": digest,
        },
    )
    return summary


def _stage_file(
    conn: sa.Connection,
    path: Path,
    upload_type: str,
    mapping: Mapping,
    event_name: str | None,
    display: str,
    digest: str,
    user: str,
    now: datetime,
) -> ImportSummary:
    """Read, check and stage every row of a file not seen before."""
    upload = read_upload_rows(path, mapping)  # rows that cannot be read are row errors
    raw = upload.rows
    headings = [c for c in raw.columns if c != "line"]
    renames = check_headers(headings, mapping)
    raw = raw.rename({k: v for k, v in renames.items() if k != v})
    good, errors = _validate(upload_type, raw, conn, mapping, event_name)
    raw, errors = upload.with_unreadable(raw, errors, renames)
    upload_names = {a.name: a.upload_name for a in mapping.attributes}
    summary = ImportSummary(display, rows_read=raw.height)
    file_id = store.add_file(
        conn,
        name=display,
        sha256=digest,
        upload_type=upload_type,
        mapping=mapping.name,
        event_name=event_name,
        uploaded_by=user,
        uploaded_at=now,
        rows_read=raw.height,
    )
    summary.file_id = file_id
    stage = _stage_frame(conn, raw, good, errors, upload_type, upload_names, file_id)
    payloads.write(conn, file_id, raw)
    # The typed good rows too: processing reads them rather than validating the text again.
    payloads.write_values(conn, file_id, good)
    store.add_rows(conn, stage)
    counts = dict(stage.group_by("status").len().iter_rows())
    summary.future = counts.get("future", 0)
    summary.pending = counts.get("pending", 0)
    summary.error = counts.get("error", 0)
    summary.errors = _error_rows(stage)
    return summary


def file_outcome(conn: sa.Connection, summary: ImportSummary) -> None:
    """The summary's counts as the file's stage rows stand now (after the jobs ran): a
    processed row whose note says it was skipped as a duplicate counts as a duplicate."""
    counts = next(iter(status_counts(conn, summary.file_id).values()), {})
    summary.processed = counts.get("processed", 0)
    summary.duplicate = counts.get("duplicate", 0)
    summary.pending = counts.get("pending", 0)
    summary.future = counts.get("future", 0)
    summary.error = counts.get("error", 0)
    errors = [] if summary.file_id is None else store.rows_of_file(conn, summary.file_id, "error")
    summary.errors = [{"line": line, "messages": json.loads(m)} for line, m in errors]


def accepted_events(conn: sa.Connection) -> dict[str, list[str]]:
    """Each event name an event file may name, with the POB templates that accept it (by
    name); the built-in ones every setup accepts have none unless a template names them."""
    found: dict[str, list[str]] = {name: [] for name in BUILTIN_EVENTS}
    for template in setup_store.templates(conn):
        for event in template["events"]:
            found.setdefault(event, []).append(template["name"])
    return {event: sorted(templates) for event, templates in found.items()}


def _check_event_name(conn: sa.Connection, event_name: str | None) -> None:
    names = set(accepted_events(conn))
    if not event_name:
        raise InputError(f"an event file needs --event: one of {', '.join(sorted(names))}")
    if event_name not in names:
        raise InputError(
            f"unknown event {event_name!r}: expected one of {', '.join(sorted(names))}"
        )


def _stage_frame(
    conn: sa.Connection,
    raw: pl.DataFrame,
    good: pl.DataFrame,
    errors: pl.DataFrame,
    upload_type: str,
    upload_names: dict[str, str],
    file_id: int,
) -> pl.DataFrame:
    """One stage row per file row: key, accounting date, period, status, messages.

    An identical repeat of an earlier row of the file is staged as that row is (pending, or
    future), with a note naming the row: the job that processes them gives it that row's
    outcome (`processing.staged.settle_repeats`), never `processed` before the row is.
    """
    key = KEY_OF_TYPE[upload_type]
    accounting, _ = dates(pl.col(DATE_OF_TYPE[upload_type]))
    if upload_type == "sales_order" and "modification_date" in raw.columns:
        modified, _ = dates(pl.col("modification_date"))
        accounting = pl.coalesce(modified, accounting)
    frame = raw.with_columns(
        accounting.alias("accounting_date"),
        pl.col(key).fill_null("").alias("key") if key in raw.columns else pl.lit("").alias("key"),
    )
    if upload_type == "event" and "event_id" in good.columns:
        frame = frame.join(
            good.select("line", pl.col("event_id").alias("_eid")), on="line", how="left"
        ).with_columns(pl.coalesce("_eid", "key").alias("key"))
    frame = frame.join(_messages(errors, upload_names), on="line", how="left")
    frame = _with_repeats(frame, good).with_columns(
        pl.col("accounting_date").dt.strftime("%Y-%m").alias("period")
    )
    return frame.with_columns(
        _status(open_period(conn)).alias("status"),
        pl.lit(file_id).alias("file_id"),
        pl.lit(TAB_OF_TYPE[upload_type]).alias("tab"),
        pl.when(pl.col("_messages").is_not_null())
        .then(pl.col("_messages"))
        .when(pl.col("_repeats").is_not_null())
        .then(_repeat_note(pl.col("_repeats")))
        .otherwise(pl.lit("[]"))
        .alias("messages"),
    ).select("file_id", "tab", "line", "status", "key", "accounting_date", "period", "messages")


def _repeat_note(line: pl.Expr) -> pl.Expr:
    """The messages (JSON) of an in-file repeat while it waits: the line of the row it repeats."""
    text = "repeats line {}, an identical row of this file: it takes that row's outcome"
    note = [{"column": "", "value": "", "message": text}]
    before, after = json.dumps(note, separators=(",", ":")).split("{}")
    return pl.concat_str(pl.lit(before), line.cast(pl.String), pl.lit(after))


def _with_repeats(frame: pl.DataFrame, good: pl.DataFrame) -> pl.DataFrame:
    """`_repeats`: for an identical repeat of an earlier row (the validators' `duplicate`), the
    line of the first row of its key, which it repeats; else null."""
    # In-file repeats are few: a lookup of their lines and keys, not a join of every good row.
    lines = (
        good.filter(pl.col("duplicate"))["line"]
        if "duplicate" in good.columns
        else pl.Series("line", [], dtype=pl.Int64)
    )
    if lines.is_empty():
        return frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("_repeats"))
    repeated = pl.col("line").is_in(lines.implode())
    keys = frame.filter(repeated)["key"].unique()
    firsts = (
        frame.filter(pl.col("key").is_in(keys.implode()))
        .group_by("key")
        .agg(pl.col("line").min().alias("_first"))
    )
    return (
        frame.join(firsts, on="key", how="left", maintain_order="left")
        .with_columns(pl.when(repeated).then(pl.col("_first")).alias("_repeats"))
        .drop("_first")
    )


def _messages(errors: pl.DataFrame, upload_names: dict[str, str]) -> pl.DataFrame:
    """line, _messages: each row's errors as one JSON array, columns by their upload names."""
    return (
        errors.with_columns(pl.col("column").replace(upload_names).alias("column"))
        .group_by("line")
        .agg(pl.struct("column", "value", "message").alias("_m"))
        .with_columns(
            pl.col("_m").list.eval(pl.element().struct.json_encode()).list.join(",").alias("_m")
        )
        .select("line", pl.format("[{}]", pl.col("_m")).alias("_messages"))
    )


def _status(open_name: str) -> pl.Expr:
    """A staged row's status: error, future or pending (an in-file repeat as the row it
    repeats: the job that processes them settles it)."""
    return (
        pl.when(pl.col("_messages").is_not_null())
        .then(pl.lit("error"))
        .when(pl.col("period") > open_name)
        .then(pl.lit("future"))
        .otherwise(pl.lit("pending"))
    )


def _error_rows(stage: pl.DataFrame) -> list[dict[str, object]]:
    found = stage.filter(pl.col("status") == "error").select("line", "messages")
    return [{"line": line, "messages": json.loads(m)} for line, m in found.iter_rows()]
