"""What `setup load` checks a setup file against before it writes: the longest text each setup
column holds. Read from the tables' definitions; no connection, no rules, no messages.
"""

from __future__ import annotations

import sqlalchemy as sa

from revrec.store import schema as t

# A setup file's kind of name -> the column that keeps it.
_COLUMNS = {
    "book": t.books.c.name,
    "template": t.pob_templates.c.name,
    "item_code": t.ssp.c.item_code,
    "contract_id": t.contract_policies.c.contract_id,
    "gl_code": t.accounts.c.gl_code,
    "every": t.jobs.c.every,
    "cron": t.jobs.c.cron,
}


def max_lengths() -> dict[str, int]:
    """The longest text each kind of name holds: book, template, item_code, contract_id, gl_code,
    every, cron."""
    return {
        kind: column.type.length
        for kind, column in _COLUMNS.items()
        if isinstance(column.type, sa.String) and column.type.length is not None
    }
