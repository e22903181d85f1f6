"""The attribute mapper (SPEC §2, §4.1, §4.3): per upload type, attribute -> upload name (heading).

Mappings are dumb data; functions check a file's headings against one and convert it to and from
plain dicts and rows (the store and `setup load` keep user mappings that way). No I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass
from typing import Any

import polars as pl

from revrec.errors import ConfigError, InputError
from revrec.vocab import UPLOAD_TYPES

TYPES = (
    "string",
    "date",
    "amount",
    "number",
    "integer",
    "boolean",
    "signed_amount",
    "exclusive_date",
)
# Types that change how a billing file is read (SPEC §4.3), so they travel with the mapping and
# not with its name: (upload type, the one attribute that may have it).
MEANINGFUL_TYPES: dict[str, tuple[str, str]] = {
    # The amount carries its direction; the doc_type, when not given, is derived from it.
    "signed_amount": ("billing", "amount"),
    # The service end date is the day after the last service day (Recurly's line_item_end_date).
    "exclusive_date": ("billing", "service_end_date"),
}
KEYS = ("name", "upload_type", "strict", "attributes")
ATTRIBUTE_KEYS = ("name", "upload_name", "required", "type")
# Where the SPEC says "one of these columns is required", a file must carry at least one heading.
ONE_OF: dict[str, tuple[tuple[str, ...], ...]] = {
    "cost": (("so_line_id", "contract_id"),),
    "event": (("so_line_id", "doc_line_id"),),
}
RESERVED = ("line",)  # the file line number, added by the reader


@dataclass(frozen=True)
class Attribute:
    name: str
    upload_name: str
    required: bool = False
    type: str = "string"


@dataclass(frozen=True)
class Mapping:
    name: str
    upload_type: str
    attributes: tuple[Attribute, ...]
    strict: bool = True


def _same_names(upload_type: str, spec: Sequence[tuple[str, bool, str]]) -> Mapping:
    return Mapping(
        "revrec",
        upload_type,
        tuple(Attribute(name, name, required, kind) for name, required, kind in spec),
    )


REVREC_SALES_ORDER = _same_names(
    "sales_order",
    (
        ("contract_id", True, "string"),
        ("customer_id", True, "string"),
        ("so_number", True, "string"),
        ("so_line_id", True, "string"),
        ("order_date", True, "date"),
        ("item_code", True, "string"),
        ("pob_template", True, "string"),
        ("amount", True, "amount"),
        ("currency", True, "string"),
        ("service_start_date", False, "date"),
        ("service_end_date", False, "date"),
        ("quantity", False, "number"),
        ("list_price", False, "amount"),
        ("ssp", False, "amount"),
        ("exclude_from_allocation", False, "boolean"),
        ("modification_date", False, "date"),
        ("ssp_method", False, "string"),
        ("modification_policy", False, "string"),
    ),
)
REVREC_BILLING = _same_names(
    "billing",
    (
        ("doc_type", True, "string"),
        ("doc_number", True, "string"),
        ("doc_line_id", True, "string"),
        ("doc_date", True, "date"),
        ("amount", True, "amount"),
        ("currency", True, "string"),
        ("customer_id", True, "string"),
        ("so_line_id", False, "string"),
        ("ref_doc_number", False, "string"),
        ("ref_doc_line_id", False, "string"),
        ("service_start_date", False, "date"),
        ("service_end_date", False, "date"),
        ("item_code", False, "string"),
        ("pob_template", False, "string"),
        ("schedule_type", False, "string"),
        ("origin", False, "string"),
        ("invoice_state", False, "string"),
        ("invoice_origin", False, "string"),
        ("accounting_code", False, "string"),
    ),
)
REVREC_COST = _same_names(
    "cost",
    (
        ("cost_id", True, "string"),
        ("cost_type", True, "string"),
        ("amount", True, "amount"),
        ("currency", True, "string"),
        ("cost_date", True, "date"),
        ("so_line_id", False, "string"),
        ("contract_id", False, "string"),
        ("amortization", False, "string"),
        ("amortization_months", False, "integer"),
        ("expense_immediately", False, "boolean"),
    ),
)
REVREC_EVENT = _same_names(
    "event",
    (
        ("so_line_id", False, "string"),
        ("doc_line_id", False, "string"),
        ("event_date", True, "date"),
        ("action", False, "string"),
        ("percent", False, "number"),
        ("cumulative_percent", False, "number"),
        ("quantity", False, "number"),
        ("event_id", False, "string"),
    ),
)
# SPEC §4.3 and §10. The export's line_item_end_date is exclusive; the billing validator converts.
RECURLY_BILLING = Mapping(
    "recurly",
    "billing",
    (
        Attribute("doc_number", "invoice_number", required=True),
        Attribute("doc_line_id", "line_item_id", required=True),
        Attribute("doc_date", "invoice_date", required=True, type="date"),
        Attribute("service_start_date", "line_item_start_date", type="date"),
        Attribute("service_end_date", "line_item_end_date", type="exclusive_date"),
        Attribute("amount", "total_amount", required=True, type="signed_amount"),
        Attribute("currency", "currency", required=True),
        Attribute("customer_id", "account_code", required=True),
        Attribute("origin", "origin"),
        Attribute("invoice_state", "invoice_state"),
        Attribute("invoice_origin", "invoice_origin"),
        Attribute("accounting_code", "accounting_code"),
        Attribute("schedule_type", "schedule_type"),
    ),
    # The export also carries revenue_schedule_id, days, month_1..month_12, ...: free attributes.
    strict=False,
)

SHIPPED: dict[tuple[str, str], Mapping] = {
    (m.name, m.upload_type): m
    for m in (REVREC_SALES_ORDER, REVREC_BILLING, REVREC_COST, REVREC_EVENT, RECURLY_BILLING)
}
# The attributes the validators know per upload type; anything else is a free attribute.
KNOWN: dict[str, tuple[str, ...]] = {
    kind: tuple(a.name for a in SHIPPED["revrec", kind].attributes) for kind in UPLOAD_TYPES
}


def find(name: str, upload_type: str, user: Iterable[Mapping] = ()) -> Mapping:
    """The mapping called `name` for `upload_type`: a user mapping first, else a shipped one."""
    for mapping in user:
        if (mapping.name, mapping.upload_type) == (name, upload_type):
            return mapping
    found = SHIPPED.get((name, upload_type))
    if found is None:
        names = sorted(
            {m.name for m in user if m.upload_type == upload_type}
            | {n for n, kind in SHIPPED if kind == upload_type}
        )
        raise InputError(
            f"unknown mapping {name!r} for {upload_type} uploads: expected one of "
            + ", ".join(names)
        )
    return found


def normalize(heading: str) -> str:
    """Headings compare case-insensitively, without surrounding whitespace or a byte-order mark."""
    return heading.strip().lstrip("\ufeff").strip().casefold()


def _closest(name: str, candidates: dict[str, str], where: str) -> str:
    """'(closest <where>: 'a', 'b')' for a message, or '(no close match)'."""
    found = difflib.get_close_matches(normalize(name), list(candidates), n=3, cutoff=0.6)
    if not found:
        return "(no close match)"
    return f"(closest {where}: {', '.join(repr(candidates[f]) for f in found)})"


def check_headers(headings: Sequence[str], mapping: Mapping) -> dict[str, str]:
    """heading (as in the file) -> attribute name, or InputError listing every problem.

    Missing required headings, unknown headings of a strict mapping, a heading given twice, and a
    free heading that is the name of a mapped attribute all reject the file; the message names
    the closest expected headings for each. A non-strict mapping keeps other headings as free
    attributes under their own (stripped) names.
    """
    by_upload = {normalize(a.upload_name): a for a in mapping.attributes}
    read = {normalize(a.name): a.upload_name for a in mapping.attributes}
    result: dict[str, str] = {}
    seen: set[str] = set()
    problems: list[str] = []
    unknown: list[str] = []
    free: list[str] = []
    for heading in headings:
        key, shown = normalize(heading), heading.strip().lstrip("\ufeff").strip()
        if key in seen:
            problems.append(f"heading {shown!r} is given twice")
            continue
        seen.add(key)
        if key in RESERVED:
            problems.append(f"heading {shown!r} is reserved for the file line number")
        elif key in by_upload:
            result[heading] = by_upload[key].name
        elif mapping.strict:
            unknown.append(shown)
        elif key in read:
            problems.append(f"heading {shown!r} clashes with the attribute read from {read[key]!r}")
        else:
            result[heading] = shown
            free.append(shown)
    unused = {normalize(h): h for h in unknown + free}
    expected = {normalize(a.upload_name): a.upload_name for a in mapping.attributes}
    mapped = set(result.values())
    missing = [a for a in mapping.attributes if a.required and a.name not in mapped]
    problems[:0] = [
        f"missing required heading {a.upload_name!r} "
        + _closest(a.upload_name, unused, "in the file")
        for a in missing
    ]
    for group in ONE_OF.get(mapping.upload_type, ()):
        names = [a.upload_name for a in mapping.attributes if a.name in group]
        if names and not any(a.name in mapped for a in mapping.attributes if a.name in group):
            problems.append(
                "missing heading: one of " + " or ".join(repr(n) for n in names) + " is required"
            )
    problems += [f"unknown heading {h!r} {_closest(h, expected, 'expected')}" for h in unknown]
    if problems:
        required = [a.upload_name for a in mapping.attributes if a.required]
        optional = [a.upload_name for a in mapping.attributes if not a.required]
        raise InputError(
            f"the headings do not match the mapping {mapping.name!r} for {mapping.upload_type} "
            f"uploads: {'; '.join(problems)}. Expected headings: required "
            f"{', '.join(required) or '(none)'}; optional {', '.join(optional) or '(none)'}"
        )
    return result


def to_attributes(raw: pl.DataFrame, mapping: Mapping) -> tuple[pl.DataFrame, dict[str, str]]:
    """A file frame (headings + `line`) renamed to attribute names, and heading -> attribute."""
    mapped = check_headers([c for c in raw.columns if c != "line"], mapping)
    return raw.rename(mapped), mapped


def with_upload_names(errors: pl.DataFrame, mapped: dict[str, str]) -> pl.DataFrame:
    """Row errors name attributes; a user wants the heading of the file (SPEC §4.2)."""
    headings = {attribute: heading.strip() for heading, attribute in mapped.items()}
    return errors.with_columns(pl.col("column").replace(headings))


# Plain data for the store and the setup file.


def to_dict(mapping: Mapping) -> dict[str, Any]:
    return {
        "name": mapping.name,
        "upload_type": mapping.upload_type,
        "strict": mapping.strict,
        "attributes": [
            {"name": a.name, "upload_name": a.upload_name, "required": a.required, "type": a.type}
            for a in mapping.attributes
        ],
    }


def from_dict(data: Any) -> Mapping:
    """A mapping from a dict such as `to_dict` makes, or the shorter setup-file form:

        {name: netsuite, upload_type: billing, strict: false,
         attributes: {doc_number: "Document Number", doc_date: {upload_name: Date}}}

    Unset `required` and `type` default to those of the attribute in the `revrec` mapping
    (a free attribute: optional string). A definition that cannot work (an unknown key, a type
    that does not fit its attribute, a name given twice...) is a ConfigError. Whether the mapping
    maps every attribute its upload type needs is `check_complete`'s question.
    """
    if not isinstance(data, MappingOf):
        raise ConfigError(
            "a mapping is a YAML mapping with the keys name, upload_type, strict, attributes"
        )
    name, upload_type = data.get("name"), data.get("upload_type")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("a mapping needs a name")
    unknown = _unknown_keys(data, KEYS)
    if unknown:
        raise ConfigError(f"mapping {name!r}: {unknown}")
    if upload_type not in UPLOAD_TYPES:
        raise ConfigError(
            f"mapping {name!r}: unknown upload_type {upload_type!r}: expected one of "
            + ", ".join(UPLOAD_TYPES)
        )
    strict = data.get("strict", True)
    if not isinstance(strict, bool):
        raise ConfigError(f"mapping {name!r}: strict must be true or false")
    items = data.get("attributes")
    entries: list[dict[str, Any]]
    if isinstance(items, MappingOf):
        entries = []
        for key, value in items.items():
            if isinstance(value, MappingOf):
                unknown = _unknown_keys(value, ATTRIBUTE_KEYS[1:])
                if unknown:
                    raise ConfigError(f"mapping {name!r}: attribute {key!r}: {unknown}")
                entries.append({"name": key, **value})
            else:
                entries.append({"name": key, "upload_name": value})
    elif isinstance(items, list) and all(isinstance(item, MappingOf) for item in items):
        entries = [dict(item) for item in items]
    else:
        raise ConfigError(
            f"mapping {name!r}: attributes must map each attribute to its upload name, or list "
            "{name, upload_name, required, type} entries"
        )
    defaults = {a.name: a for a in SHIPPED["revrec", upload_type].attributes}
    attributes = tuple(_attribute(name, upload_type, entry, defaults) for entry in entries)
    for label, values in (
        ("attribute", [a.name for a in attributes]),
        ("upload name", [normalize(a.upload_name) for a in attributes]),
    ):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise ConfigError(f"mapping {name!r}: {label} given twice: {', '.join(twice)}")
    return Mapping(name.strip(), upload_type, attributes, strict)


def _unknown_keys(entry: MappingOf[Any, Any], allowed: Sequence[str]) -> str | None:
    """'unknown key 'x': expected some of a, b' for a message, or None when every key is known."""
    unknown = [str(key) for key in entry if key not in allowed]
    if not unknown:
        return None
    keys = "keys" if len(unknown) > 1 else "key"
    shown = ", ".join(repr(k) for k in unknown)
    return f"unknown {keys} {shown}: expected some of {', '.join(allowed)}"


def _attribute(
    mapping: str, upload_type: str, entry: dict[str, Any], defaults: dict[str, Attribute]
) -> Attribute:
    name, upload_name = entry.get("name"), entry.get("upload_name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"mapping {mapping!r}: an attribute needs a name")
    unknown = _unknown_keys(entry, ATTRIBUTE_KEYS)
    if unknown:
        raise ConfigError(f"mapping {mapping!r}: attribute {name!r}: {unknown}")
    if upload_name is None or (isinstance(upload_name, str) and not upload_name.strip()):
        raise ConfigError(f"mapping {mapping!r}: attribute {name!r} needs an upload_name")
    if not isinstance(upload_name, str):
        raise ConfigError(
            f"mapping {mapping!r}: attribute {name!r}: upload_name {upload_name!r} is not text: "
            "put it in quotes"
        )
    for given in (name, upload_name):
        if normalize(given) in RESERVED:
            raise ConfigError(
                f"mapping {mapping!r}: {given.strip()!r} is reserved for the file line number"
            )
    default = defaults.get(name, Attribute(name, name))
    required = entry.get("required", default.required)
    kind = entry.get("type", default.type)
    if not isinstance(required, bool):
        raise ConfigError(f"mapping {mapping!r}: attribute {name!r}: required must be true/false")
    if kind not in TYPES:
        raise ConfigError(
            f"mapping {mapping!r}: attribute {name!r}: unknown type {kind!r}: expected one of "
            + ", ".join(TYPES)
        )
    if kind in MEANINGFUL_TYPES and MEANINGFUL_TYPES[kind] != (upload_type, name):
        only_type, only_name = MEANINGFUL_TYPES[kind]
        raise ConfigError(
            f"mapping {mapping!r}: attribute {name!r}: the type {kind} is only for the "
            f"attribute {only_name} of {only_type} mappings"
        )
    return Attribute(name, upload_name.strip(), required=required, type=kind)


def check_complete(mapping: Mapping) -> None:
    """ConfigError unless the mapping maps every attribute its upload type cannot do without:
    those the SPEC makes bold (the required ones of the `revrec` mapping), one of each ONE_OF
    group, and for billings a doc_type unless the amount is signed (it then gives the type)."""
    mapped = {a.name for a in mapping.attributes}
    needed = [a.name for a in SHIPPED["revrec", mapping.upload_type].attributes if a.required]
    if signed_amounts(mapping):
        needed.remove("doc_type")
    missing = [name for name in needed if name not in mapped]
    where = f"mapping {mapping.name!r}: {mapping.upload_type} uploads need"
    if missing:
        which = "attributes" if len(missing) > 1 else "attribute"
        them = "each" if len(missing) > 1 else "it"
        raise ConfigError(f"{where} the {which} {', '.join(missing)}: map {them} to a heading")
    for group in ONE_OF.get(mapping.upload_type, ()):
        if not mapped & set(group):
            raise ConfigError(f"{where} one of the attributes {' or '.join(group)}")


def signed_amounts(mapping: Mapping) -> bool:
    """The file's amounts carry their direction (a credit is negative), as Recurly's do."""
    return any(a.name == "amount" and a.type == "signed_amount" for a in mapping.attributes)


def exclusive_end(mapping: Mapping) -> bool:
    """The file's service end date is exclusive (the day after the last service day)."""
    return any(
        a.name == "service_end_date" and a.type == "exclusive_date" for a in mapping.attributes
    )


def to_rows(mapping: Mapping) -> list[dict[str, Any]]:
    """One row per attribute, in order: the shape of a mapping table in the store."""
    return [
        {
            "mapping": mapping.name,
            "upload_type": mapping.upload_type,
            "strict": mapping.strict,
            "position": position,
            "attribute": a.name,
            "upload_name": a.upload_name,
            "required": a.required,
            "type": a.type,
        }
        for position, a in enumerate(mapping.attributes)
    ]


def from_rows(rows: Iterable[MappingOf[str, Any]]) -> list[Mapping]:
    """Mappings from `to_rows` rows (any order; grouped by mapping and upload type)."""
    grouped: dict[tuple[str, str], list[MappingOf[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((row["mapping"], row["upload_type"]), []).append(row)
    return [
        from_dict(
            {
                "name": name,
                "upload_type": upload_type,
                "strict": bool(group[0]["strict"]),
                "attributes": [
                    {
                        "name": r["attribute"],
                        "upload_name": r["upload_name"],
                        "required": bool(r["required"]),
                        "type": r["type"],
                    }
                    for r in sorted(group, key=lambda r: int(r["position"]))
                ],
            }
        )
        for (name, upload_type), group in grouped.items()
    ]
