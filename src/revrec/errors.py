"""The exceptions of revrec: one root, a few families, leaves whose docstring is the message.

Findings about data (a bad row, a bad cell) are values, not exceptions: the validators return
them as a frame of row errors beside the good rows (see `imports.checks.ERROR_SCHEMA`).
"""

from __future__ import annotations


class RevrecError(Exception):
    """Something revrec could not do."""


class InputError(RevrecError):
    """The input (a file, a value, an argument) is not what was expected."""


class StateError(RevrecError):
    """The subledger's state does not allow the operation."""


class ConfigError(RevrecError):
    """The setup (books, templates, mappings) is incomplete or inconsistent."""


class AccessError(RevrecError):
    """Who asks may not do this: not logged in, a wrong password, or a role without the right."""
