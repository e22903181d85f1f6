"""Billings (INV, IVC, CM, CMC document lines) and the one-line contracts of billing-driven
lines: what judging new billings needs from the store, and the accepted billings written."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.store import bulk, exports
from revrec.store import schema as t
from revrec.store.bulk import BATCH, among, analyze, scratch


def stored_hashes(conn: sa.Connection, doc_line_ids: list[str]) -> pl.DataFrame:
    """doc_line_id, _stored (its content hash) of the stored rows among these."""
    return bulk.stored_hashes(conn, t.billings, "doc_line_id", doc_line_ids)


def documents(conn: sa.Connection, doc_line_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """doc_line_id -> the stored billing row (as a dict) of those among these."""
    b = t.billings
    return {
        r.doc_line_id: r._asdict()
        for r in conn.execute(sa.select(b).where(among(conn, b.c.doc_line_id, doc_line_ids)))
    }


def history(conn: sa.Connection, doc_line_ids: list[str]) -> list[tuple[str, str, int, str | None]]:
    """(doc_line_id, doc_type, signed amount, ref_doc_line_id) of the stored billings that are
    these document lines or refer to them."""
    if not doc_line_ids:
        return []
    b = t.billings
    query = sa.select(b.c.doc_line_id, b.c.doc_type, b.c.amount, b.c.ref_doc_line_id).where(
        among(conn, b.c.doc_line_id, doc_line_ids) | among(conn, b.c.ref_doc_line_id, doc_line_ids)
    )
    return [(r.doc_line_id, r.doc_type, r.amount, r.ref_doc_line_id) for r in conn.execute(query)]


def add(conn: sa.Connection, frame: pl.DataFrame) -> None:
    """The accepted billings; for each billing-driven one (`driven`) its one-line contract and
    line (SPEC §3); every line touched (`first_of_line`) marked for the revenue run. line_id and
    contract_id are null where they are the doc_line_id. The rows go to the database once, into a
    scratch table, and each table is filled from it. The billings of billing-driven lines are
    kept for the legacy export too, with their id and attributes (exports.EXPORT_ONLY, when
    given)."""
    b, c, lv, d = t.billings, t.contracts, t.line_versions, t.dirty_lines
    stored = frame.drop(exports.EXPORT_ONLY, strict=False)  # kept with the export's rows only
    with scratch(conn, stored.sort("doc_line_id"), "scratch_billings") as s:
        line_id = sa.func.coalesce(s.c.line_id, s.c.doc_line_id)
        billing: dict[str, Any] = {n: s.c[n] for n in stored.columns if n in b.c}
        billing.update(line_id=line_id, attributes=sa.literal("{}"))
        conn.execute(b.insert().from_select(list(billing), sa.select(*billing.values())))
        driven = s.c.driven.is_(True)
        conn.execute(
            c.insert().from_select(
                ["contract_id", "customer_id", "currency", "billing_driven"],
                sa.select(s.c.doc_line_id, s.c.customer_id, s.c.currency, sa.true()).where(driven),
            )
        )
        _add_driven_lines(conn, s, driven)
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
    _keep_legacy_rows(conn, frame)
    if frame.height >= BATCH:
        analyze(conn, b, c, lv, d)


def _keep_legacy_rows(conn: sa.Connection, frame: pl.DataFrame) -> None:
    """The legacy export's rows of these billings whose line is billing-driven: a line made by
    one of them (`driven`: its dates and template are theirs), or one the store has."""
    line_id = pl.coalesce("line_id", "doc_line_id").alias("line_id")
    others = frame.filter(~pl.col("driven"))
    parts = [frame.filter(pl.col("driven"))]
    if others.height:
        ids = others.select(line_id)["line_id"].unique().to_list()
        lines = exports.driven_lines(conn, ids)
        parts.append(
            others.with_columns(line_id)
            .drop("start", "end", "item_code", "pob_template", strict=False)
            .join(lines, on="line_id", how="inner")
        )
    exports.add(conn, pl.concat(parts, how="diagonal_relaxed"))


def _add_driven_lines(conn: sa.Connection, s: sa.Table, driven: Any) -> None:
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
    lv = t.line_versions
    conn.execute(lv.insert().from_select(list(values), sa.select(*values.values()).where(driven)))
