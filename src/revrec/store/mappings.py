"""The users' attribute mappings (table mappings): one row per mapping, upload type and attribute.

Rows are plain dicts named as the table's columns (what `imports.mappings.to_rows` makes and
`from_rows` reads). Reads and writes only: no imports of the engine or the services.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from revrec.store import schema as t


def rows(conn: sa.Connection, name: str | None = None) -> list[dict[str, Any]]:
    """The stored rows of every user mapping, or of the one named."""
    m = t.mappings
    query = sa.select(m) if name is None else sa.select(m).where(m.c.mapping == name)
    return [r._asdict() for r in conn.execute(query)]


def replace(
    conn: sa.Connection, name: str, upload_type: str, mapping_rows: list[dict[str, Any]]
) -> None:
    """The rows of one mapping's upload type, replacing those stored."""
    m = t.mappings
    conn.execute(m.delete().where((m.c.mapping == name) & (m.c.upload_type == upload_type)))
    if mapping_rows:
        conn.execute(m.insert(), mapping_rows)


def max_lengths() -> dict[str, int]:
    """The longest text each of the table's text columns holds (mapping, attribute, ...)."""
    return {
        column.name: column.type.length
        for column in t.mappings.c
        if isinstance(column.type, sa.String) and column.type.length is not None
    }
