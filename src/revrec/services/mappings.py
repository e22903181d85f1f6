"""Attribute mappings (SPEC §2, §4.3): the shipped ones and the users' own, kept in the store.

Users list, export and import mappings (each function a shell calls takes the Context and opens
its own connection); `setup load` and `mapping import` check a definition with the one function
`parse_mapping`. The shipped mappings are never replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from revrec.errors import ConfigError, InputError, RevrecError
from revrec.imports.files import read_yaml
from revrec.imports.mappings import (
    SHIPPED,
    Mapping,
    check_complete,
    find,
    from_dict,
    from_rows,
    to_dict,
    to_rows,
)
from revrec.services.context import Context
from revrec.store import mappings as store
from revrec.store.audit import record
from revrec.vocab import UPLOAD_TYPES

SHIPPED_NAMES = frozenset(name for name, _ in SHIPPED)
WRITTEN_BY = "as `revrec mapping export` writes it"


def user_mappings(conn: sa.Connection) -> list[Mapping]:
    return from_rows(store.rows(conn))


def get_mapping(conn: sa.Connection, name: str, upload_type: str) -> Mapping:
    return find(name, upload_type, user_mappings(conn))


def save_mapping(conn: sa.Connection, mapping: Mapping) -> None:
    store.replace(conn, mapping.name, mapping.upload_type, to_rows(mapping))


def find_stored(conn: sa.Connection, name: str, upload_type: str) -> Mapping | None:
    """The user mapping stored under a name for an upload type (None when there is none)."""
    found = [m for m in from_rows(store.rows(conn, name)) if m.upload_type == upload_type]
    return found[0] if found else None


def parse_mapping(entry: Any) -> Mapping:
    """One mapping of a setup or mapping file (plain YAML data), checked to work: its keys, types
    and names (`from_dict`), the attributes its upload type needs (`check_complete`), and that
    its names fit the store. The one check of `setup load` and `mapping import`."""
    mapping = from_dict(entry)
    check_complete(mapping)
    _check_fits(mapping)
    return mapping


def _check_fits(mapping: Mapping) -> None:
    lengths = store.max_lengths()
    values = [("name", mapping.name, "mapping")]
    for a in mapping.attributes:
        values += [
            ("attribute", a.name, "attribute"),
            ("upload name", a.upload_name, "upload_name"),
        ]
    for what, value, column in values:
        length = lengths.get(column)
        if length is not None and len(value) > length:
            raise ConfigError(
                f"mapping {mapping.name!r}: the {what} {value!r} is longer than {length} characters"
            )


def load_mappings(conn: sa.Connection, value: Any, *, user: str, now: datetime) -> int:
    """The `mappings` section of a setup file: each mapping created or replaced (audit-logged
    as `mapping.load` when it changes, with the part before and after)."""
    if not isinstance(value, list):
        raise InputError("setup key 'mappings' must be a list of mappings")
    mappings = [parse_mapping(entry) for entry in value]
    for mapping in mappings:
        if mapping.name in SHIPPED_NAMES:
            # As `mapping import`: imports that name revrec or recurly keep meaning what the
            # SPEC says (decision 23).
            raise ConfigError(
                f"mapping {mapping.name!r} is shipped with revrec and cannot be replaced: "
                "give your mapping another name"
            )
    for mapping in mappings:
        before = find_stored(conn, mapping.name, mapping.upload_type)
        if before == mapping:
            continue
        save_mapping(conn, mapping)
        record(
            conn,
            user=user,
            now=now,
            action="mapping.load",
            entity=f"mapping:{mapping.name}:{mapping.upload_type}",
            before=None if before is None else to_dict(before),
            after=to_dict(mapping),
        )
    return len(value)


def list_mappings(ctx: Context) -> list[dict[str, Any]]:
    """Every mapping per upload type, by name: shipped, or the user's (which wins a tie)."""
    with ctx.engine.connect() as conn:
        users = {(m.name, m.upload_type): m for m in user_mappings(conn)}
    found = {**SHIPPED, **users}
    return [
        {
            "name": m.name,
            "upload_type": m.upload_type,
            "source": "user" if key in users else "shipped",
            "strict": m.strict,
            "attributes": len(m.attributes),
        }
        for key, m in sorted(found.items(), key=lambda item: _order(item[0]))
    ]


def _order(key: tuple[str, str]) -> tuple[str, int]:
    return key[0], UPLOAD_TYPES.index(key[1])


def export_mapping(ctx: Context, name: str, upload_type: str | None = None) -> str:
    """The YAML of a mapping (every upload type it has, or the one asked for), in the shape of the
    setup file's `mappings` section: a setup file of its own, and what `mapping import` reads."""
    if upload_type is not None and upload_type not in UPLOAD_TYPES:
        raise InputError(
            f"unknown upload type {upload_type!r}: expected one of {', '.join(UPLOAD_TYPES)}"
        )
    with ctx.engine.connect() as conn:
        users = user_mappings(conn)
    named = {m.upload_type: m for m in users if m.name == name}
    shipped = {kind: m for (n, kind), m in SHIPPED.items() if n == name}
    parts = {**shipped, **named}
    found = [parts[kind] for kind in UPLOAD_TYPES if kind in parts]
    if not found:
        names = sorted(SHIPPED_NAMES | {m.name for m in users})
        raise InputError(f"unknown mapping {name!r}: expected one of {', '.join(names)}")
    if upload_type is not None:
        kinds = [m.upload_type for m in found]
        if upload_type not in kinds:
            raise InputError(
                f"mapping {name!r} has no {upload_type} part: it maps {', '.join(kinds)} uploads"
            )
        found = [m for m in found if m.upload_type == upload_type]
    return to_yaml(found)


class _Dumper(yaml.SafeDumper):
    """Indents a list under its key, as examples/setup.yaml and the SPEC write setup files."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: ARG002
        super().increase_indent(flow, indentless=False)


def to_yaml(mappings: list[Mapping]) -> str:
    """`mappings:` with one entry per mapping, one line per attribute."""
    document = {"mappings": [to_dict(m) for m in mappings]}
    return yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=None,
        allow_unicode=True,
        width=1_000,
    )


@dataclass(frozen=True)
class MappingImport:
    """What `import_mapping_file` did, per upload type of the mapping."""

    file: str
    name: str
    created: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.created or self.replaced)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "mapping": self.name,
            "created": list(self.created),
            "replaced": list(self.replaced),
            "unchanged": list(self.unchanged),
        }


def read_mapping_file(path: Path, *, name: str | None = None) -> list[Mapping]:
    """The mapping of a file `mapping export` wrote (one name, one entry per upload type), checked
    as `setup load` checks it, under `name` when given. Any problem is an InputError naming the
    file; a shipped mapping's name is refused."""
    document = read_yaml(path, "mapping file")
    try:
        return _mapping_of(document, name)
    except RevrecError as error:
        raise InputError(f"{path}: {error}") from None


def _mapping_of(document: Any, name: str | None) -> list[Mapping]:
    if document is None:
        raise InputError(f"the file is empty: expected the key mappings, {WRITTEN_BY}")
    if not isinstance(document, dict) or set(document) != {"mappings"}:
        found = (
            ", ".join(repr(k) for k in document)
            if isinstance(document, dict)
            else ("a list" if isinstance(document, list) else "a single value")
        )
        raise InputError(f"expected the one key 'mappings', {WRITTEN_BY}: found {found}")
    entries = document["mappings"]
    if not isinstance(entries, list) or not entries:
        raise InputError("mappings must be a list of one entry per upload type")
    if name is not None:
        entries = [{**e, "name": name} if isinstance(e, dict) else e for e in entries]
    mappings = [parse_mapping(entry) for entry in entries]
    names = sorted({m.name for m in mappings})
    if len(names) > 1:
        shown = ", ".join(repr(n) for n in names)
        raise InputError(f"the file holds the mappings {shown}: import one mapping at a time")
    kinds = [m.upload_type for m in mappings]
    twice = sorted({kind for kind in kinds if kinds.count(kind) > 1}, key=UPLOAD_TYPES.index)
    if twice:
        raise InputError(f"mapping {names[0]!r} is given twice for {', '.join(twice)} uploads")
    if names[0] in SHIPPED_NAMES:
        hint = (
            "choose another --name" if name else "import it under another name with --name NEW_NAME"
        )
        raise InputError(
            f"mapping {names[0]!r} is shipped with revrec and cannot be replaced: {hint}"
        )
    return mappings


def import_mapping_file(ctx: Context, path: Path, *, name: str | None = None) -> MappingImport:
    """Create or replace, per upload type, the user mapping of a mapping file (audit-logged), in
    one transaction: a bad file changes nothing. A part stored exactly as in the file is left
    alone, so re-importing changes nothing."""
    mappings = read_mapping_file(path, name=name)
    with ctx.engine.begin() as conn:
        done = _import(conn, ctx, mappings)
    return MappingImport(
        str(path),
        mappings[0].name,
        created=tuple(done["created"]),
        replaced=tuple(done["replaced"]),
        unchanged=tuple(done["unchanged"]),
    )


def _import(conn: sa.Connection, ctx: Context, mappings: list[Mapping]) -> dict[str, list[str]]:
    """The upload types of a mapping created, replaced and left unchanged."""
    stored = {
        (found.name, found.upload_type): found
        for found in from_rows(store.rows(conn, mappings[0].name))
    }
    done: dict[str, list[str]] = {"created": [], "replaced": [], "unchanged": []}
    for mapping in mappings:
        before = stored.get((mapping.name, mapping.upload_type))
        if before == mapping:
            done["unchanged"].append(mapping.upload_type)
            continue
        save_mapping(conn, mapping)
        record(
            conn,
            user=ctx.user,
            now=ctx.now,
            action="mapping.import",
            entity=f"mapping:{mapping.name}:{mapping.upload_type}",
            before=None if before is None else to_dict(before),
            after=to_dict(mapping),
        )
        done["created" if before is None else "replaced"].append(mapping.upload_type)
    return done
