"""Attribute mappings (SPEC §2, §4.3): the shipped ones and the users' own, kept in the store."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from revrec.errors import InputError
from revrec.imports.mappings import SHIPPED, Mapping, find, from_dict, from_rows, to_dict, to_rows
from revrec.store import schema as t


def user_mappings(conn: sa.Connection) -> list[Mapping]:
    return from_rows(dict(r._mapping) for r in conn.execute(sa.select(t.mappings)))  # noqa: SLF001


def get_mapping(conn: sa.Connection, name: str, upload_type: str) -> Mapping:
    return find(name, upload_type, user_mappings(conn))


def all_mappings(conn: sa.Connection) -> list[dict[str, Any]]:
    users = user_mappings(conn)
    overridden = {(m.name, m.upload_type) for m in users}
    shipped = [m for key, m in sorted(SHIPPED.items()) if key not in overridden]
    return [to_dict(m) for m in [*shipped, *users]]


def save_mapping(conn: sa.Connection, mapping: Mapping) -> None:
    m = t.mappings
    conn.execute(
        m.delete().where((m.c.mapping == mapping.name) & (m.c.upload_type == mapping.upload_type))
    )
    conn.execute(m.insert(), to_rows(mapping))


def load_mappings(conn: sa.Connection, value: Any) -> int:
    if not isinstance(value, list):
        raise InputError("setup key 'mappings' must be a list of mappings")
    for entry in value:
        save_mapping(conn, from_dict(entry))
    return len(value)
