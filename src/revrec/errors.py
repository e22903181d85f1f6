"""The exceptions of revrec: one root, a few families, leaves whose docstring is the message.

Findings about data (a bad row, a bad cell) are values, not exceptions: see `RowError`.
"""

from __future__ import annotations

from dataclasses import dataclass


class RevrecError(Exception):
    """Something revrec could not do."""


class InputError(RevrecError):
    """The input (a file, a value, an argument) is not what was expected."""


class StateError(RevrecError):
    """The subledger's state does not allow the operation."""


class ConfigError(RevrecError):
    """The setup (books, templates, mappings) is incomplete or inconsistent."""


@dataclass(frozen=True)
class RowError:
    """A finding about one input row: where it is, what was there, what was expected."""

    line: int
    column: str
    value: str
    message: str
