"""Checking a setup document whole (SPEC §2.1) before anything of it is written.

First the schema (`setup_schema`): each entry on its own. Then what takes several entries or the
database: one primary book over the file and the database, book method overrides naming known
POB templates, names given twice. Every problem is reported at once, in the order of the
document, each with its path (`pob_templates[2].events`), as one InputError.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from revrec.errors import InputError
from revrec.services.setup_schema import SECTIONS, Loc, SetupFile, closest, describe


@dataclass(frozen=True)
class Stored:
    """What the database holds that a setup file is checked against."""

    primary: str | None
    books: frozenset[str]
    templates: frozenset[str]


@dataclass(frozen=True)
class Problem:
    loc: Loc
    message: str

    @property
    def path(self) -> str:
        """`pob_templates[2].events`: keys joined by dots, list positions in brackets."""
        text = ""
        for part in self.loc:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.loc else self.message


class SetupFileError(InputError):
    """A setup file with problems: all of them, in the order of the file."""

    def __init__(self, source: str | None, found: list[Problem]) -> None:
        self.problems = tuple(found)
        if len(found) == 1:
            head = f"{source}: " if source else "the setup file: "
            super().__init__(head + str(found[0]))
            return
        head = f"{source}: {len(found)} problems:" if source else f"{len(found)} problems:"
        super().__init__("\n".join([head, *map(str, found)]))


def check(document: Any, stored: Stored | None = None, *, source: str | None = None) -> SetupFile:
    """The setup document as a SetupFile, or SetupFileError listing every problem. `source`
    names the file in the message; without `stored` the checks that need the database are
    skipped."""
    label = f"{source}: " if source else ""
    if document is None or document == {}:
        raise InputError(f"{label}the setup file is empty")
    if not isinstance(document, dict):
        raise InputError(
            f"{label}a setup file is a mapping of the keys {', '.join(SECTIONS)}; "
            f"got {describe(document)}"
        )
    found: list[Problem] = []
    setup = None
    try:
        setup = SetupFile.model_validate(document)
    except ValidationError as error:
        found += [_problem(e) for e in error.errors(include_url=False)]
    found += across(document, stored)
    if found:
        found.sort(key=lambda p: _position(document, p.loc))
        raise SetupFileError(source, found)
    assert setup is not None  # noqa: S101 - validated without problems
    if all(value is None for value in document.values()):
        raise InputError(f"{label}the setup file is empty")
    return setup


def _problem(error: Any) -> Problem:
    loc, kind, value = tuple(error["loc"]), error["type"], error["input"]
    messages = {
        "missing": "missing: this key is required",
        "model_type": f"expected a mapping, got {describe(value)}",
        "model_attributes_type": f"expected a mapping, got {describe(value)}",
        "dict_type": f"expected a mapping, got {describe(value)}",
        "list_type": f"expected a list, got {describe(value)}",
        "bool_type": f"expected true or false, got {describe(value)}",
        "string_type": f"expected a string, got {describe(value)}",
    }
    if kind == "extra_forbidden":
        return Problem(loc, unknown_key(loc))
    if loc and loc[-1] == "[key]":  # a key of a mapping of names (book methods)
        loc = loc[:-1]
    return Problem(loc, messages.get(kind, str(error["msg"])))


def unknown_key(loc: Loc) -> str:
    """ "unknown key; did you mean 'events'?" for a key the mapping at loc[:-1] does not have."""
    known = _keys_at(loc[:-1])
    near = closest(str(loc[-1]), known)
    if near:
        return f"unknown key; did you mean {near!r}?"
    return f"unknown key: expected one of {', '.join(known)}"


def _keys_at(loc: Loc) -> list[str]:
    """The keys of the model that the schema puts at `loc` (a path without list positions)."""
    kind: Any = SetupFile
    for part in loc:
        kind = _bare(kind)
        if isinstance(part, int) and get_origin(kind) is list:
            kind = get_args(kind)[0]
        elif isinstance(kind, type) and issubclass(kind, BaseModel) and part in kind.model_fields:
            kind = kind.model_fields[str(part)].annotation
        else:
            return []
    kind = _bare(kind)
    return list(kind.model_fields) if isinstance(kind, type) and issubclass(kind, BaseModel) else []


def _bare(kind: Any) -> Any:
    """A type without Annotated and without `| None`."""
    while True:
        origin = get_origin(kind)
        if origin is Annotated:
            kind = get_args(kind)[0]
        elif origin in (Union, UnionType):
            kind = next(a for a in get_args(kind) if a is not NoneType)
        else:
            return kind


def _position(document: Any, loc: Loc) -> tuple[int, ...]:
    """Where loc is in the document: the place of each key and list entry along the path (a key
    left out comes after the keys given)."""
    at, place = document, []
    for part in loc:
        if isinstance(at, dict):
            keys = list(at)
            place.append(keys.index(part) if part in at else len(keys))
            at = at.get(part)
        elif isinstance(at, list) and isinstance(part, int) and 0 <= part < len(at):
            place.append(part)
            at = at[part]
        else:
            place.append(0)
            at = None
    return tuple(place)


# Across entries, and against the database. These read the document as written: an entry the
# schema refuses is looked at as far as it goes (a name that is a string, `primary: true`).


def across(document: dict[str, Any], stored: Stored | None) -> list[Problem]:
    """The problems that take more than one entry, or the database when `stored` is given."""
    found = _primary_in_file(document)
    for section, keys in (
        ("books", ("name",)),
        ("pob_templates", ("name",)),
        ("contract_policies", ("contract_id",)),
        ("jobs", ("name",)),
        ("mappings", ("name", "upload_type")),
    ):
        found += _twice(document, section, keys)
    if stored is not None:
        found += _primary_in_database(document, stored)
        found += _known_templates(document, stored)
    return found


def entries(document: dict[str, Any], section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(position, entry) of the entries of a list section that are mappings."""
    rows = document.get(section)
    if isinstance(rows, list):
        yield from ((i, row) for i, row in enumerate(rows) if isinstance(row, dict))


def _text(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _primary_in_file(document: dict[str, Any]) -> list[Problem]:
    primaries = [i for i, book in entries(document, "books") if book.get("primary") is True]
    return [
        Problem(
            ("books", i, "primary"),
            f"a second primary book: books[{primaries[0]}] is the primary book",
        )
        for i in primaries[1:]
    ]


def _twice(document: dict[str, Any], section: str, keys: tuple[str, ...]) -> list[Problem]:
    seen: dict[tuple[str, ...], int] = {}
    found = []
    for i, row in entries(document, section):
        if any(row.get(key) is None or isinstance(row.get(key), list | dict) for key in keys):
            continue
        values = tuple(str(row[key]).strip() for key in keys)
        if values in seen:
            what = " for ".join(repr(v) for v in values)
            loc = (section, i) if len(keys) > 1 else (section, i, keys[0])
            found.append(Problem(loc, f"{what} is given twice: also {section}[{seen[values]}]"))
        else:
            seen[values] = i
    return found


def _primary_in_database(document: dict[str, Any], stored: Stored) -> list[Problem]:
    """One primary book over the file and the database: a file's primary book renames the
    database's, and may not take the name of a secondary book; without one, the file cannot list
    the primary book as secondary."""
    books = list(entries(document, "books"))
    primaries = [(i, book) for i, book in books if book.get("primary") is True]
    current = stored.primary
    if current is None:
        return []
    if primaries:
        i, book = primaries[0]
        name = _text(book, "name")
        if name is not None and name != current and name in stored.books:
            message = (
                f"{name!r} is a secondary book: the primary book {current} cannot take its name"
            )
            return [Problem(("books", i, "name"), message)]
        return []
    return [
        Problem(
            ("books", i, "primary"),
            f"{current} is the primary book: give it primary: true (a setup file cannot make "
            "it secondary)",
        )
        for i, book in books
        if _text(book, "name") == current and book.get("primary", False) is False
    ]


def _known_templates(document: dict[str, Any], stored: Stored) -> list[Problem]:
    """A book's method overrides name POB templates of the file or the database."""
    known = set(stored.templates)
    known |= {n for _, row in entries(document, "pob_templates") if (n := _text(row, "name"))}
    found = []
    for i, book in entries(document, "books"):
        methods = book.get("methods")
        if not isinstance(methods, dict):
            continue
        for key in methods:
            if isinstance(key, str) and key.strip() not in known:
                near = closest(key, sorted(known))
                hint = f"; did you mean {near!r}?" if near else " of this file or the database"
                loc = ("books", i, "methods", key)
                found.append(Problem(loc, f"{key!r} is not a POB template{hint}"))
    return found
