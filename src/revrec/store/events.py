"""Events on lines (SPEC §5.2): the stored ones' content hashes, the newest template of the lines
they name, and accepted events written."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from revrec.store import bulk
from revrec.store import schema as t
from revrec.store.bulk import among, insert_frame, read_frame


def stored_hashes(conn: sa.Connection, event_ids: list[str]) -> pl.DataFrame:
    """event_id, _stored (its content hash) of the stored rows among these."""
    return bulk.stored_hashes(conn, t.events, "event_id", event_ids)


def line_templates(conn: sa.Connection, line_ids: list[str]) -> pl.DataFrame:
    """line_id, pob_template of the newest version of the stored lines among these."""
    lv = t.line_versions
    versions = read_frame(
        conn,
        sa.select(lv.c.line_id, lv.c.version, lv.c.pob_template).where(
            among(conn, lv.c.line_id, line_ids)
        ),
        {"line_id": pl.String, "version": pl.Int64, "pob_template": pl.String},
    )
    return versions.sort("version").group_by("line_id").last().drop("version")


def add(conn: sa.Connection, events: pl.DataFrame) -> None:
    insert_frame(conn, t.events, events)


def release_kinds(conn: sa.Connection, line_ids: list[str]) -> pl.DataFrame:
    """line_id, kind: the kinds of the releases stored on these lines (one row per kind)."""
    e = t.events
    query = (
        sa.select(e.c.line_id, e.c.kind)
        .distinct()
        .where((e.c.action == "release") & among(conn, e.c.line_id, line_ids))
    )
    return read_frame(conn, query, {"line_id": pl.String, "kind": pl.String})
