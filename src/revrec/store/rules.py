"""The setup as processing reads it, as frames: books with their open periods and method
overrides, POB templates with their parameters, contract policies, the SSP table.

Reads only: no rules, no imports of the engine or the services.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.store import schema as t
from revrec.store import setup
from revrec.store.bulk import read_frame


def books(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every book: name, its open period ('YYYY-MM') and its method overrides (dict)."""
    b, p = t.books, t.periods
    query = sa.select(b.c.name, b.c.methods, p.c.period).join(
        p, (p.c.book == b.c.name) & (p.c.status == "open")
    )
    return [
        {"book": r.name, "open_period": r.period, "methods": r.methods or {}}
        for r in conn.execute(query.order_by(b.c.name))
    ]


def templates(conn: sa.Connection) -> pl.DataFrame:
    """pob_template, method, convention, at, events (list) of every template."""
    rows = [
        (r["name"], r["method"], r["params"].get("convention"), r["params"].get("at"),
         list(r["events"]))
        for r in setup.templates(conn)
    ]  # fmt: skip
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "pob_template": pl.String,
        "method": pl.String,
        "convention": pl.String,
        "at": pl.String,
        "events": pl.List(pl.String),
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def contract_policies(conn: sa.Connection) -> pl.DataFrame:
    cp = t.contract_policies
    return read_frame(
        conn,
        sa.select(cp.c.contract_id, cp.c.modification_policy.label("policy")),
        {"contract_id": pl.String, "policy": pl.String},
    )


def setting(conn: sa.Connection, key: str) -> str | None:
    s = t.settings
    found = conn.execute(sa.select(s.c.value).where(s.c.key == key)).scalar()
    return None if found is None else str(found)


def ssp_table(conn: sa.Connection) -> pl.DataFrame:
    return read_frame(
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


def accounts(conn: sa.Connection) -> pl.DataFrame:
    """book ('' = every book), scope (default, template, item), scope_key, role, gl_code."""
    a = t.accounts
    rows = conn.execute(sa.select(a.c.book, a.c.scope, a.c.scope_key, a.c.role, a.c.gl_code)).all()
    schema = dict.fromkeys(("book", "scope", "scope_key", "role", "gl_code"), pl.String)
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
