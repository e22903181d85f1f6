"""Wording shared by messages: a count with its noun in the right number."""

from __future__ import annotations


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """'1 row', '0 rows', '2 rows'; `plural` when adding an s will not do."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
