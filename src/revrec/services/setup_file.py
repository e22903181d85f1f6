"""Reading a setup file (SPEC §2.1) into the plain data its schema (`setup_schema`) checks.

YAML's safe loader, with three changes so that nothing is lost before the schema sees it:
a number written with a point (`75000.50`) is a Decimal of its text, never a float; an integer
keeps the text it was written with (`0400` is not the octal number 256 for a GL code); and an
impossible date (`2024-13-01`) stays text for the schema to refuse, instead of a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Self

import yaml

from revrec.errors import InputError

WHAT = "setup file"


class WrittenInt(int):
    """An integer of a YAML file and the text it was written with (`0400`, `1_000`, `0x1F`)."""

    text: str

    def __new__(cls, value: int, text: str) -> Self:
        number = super().__new__(cls, value)
        number.text = text
        return number


class SetupLoader(yaml.SafeLoader):
    """yaml.SafeLoader, but numbers keep their text and an impossible date stays text."""


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> WrittenInt:
    return WrittenInt(yaml.SafeLoader.construct_yaml_int(loader, node), str(node.value))


def _float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | float:
    text = str(node.value).replace("_", "")
    try:
        number = Decimal(text)
    except InvalidOperation:  # .inf, .nan, 1:30.5: as YAML reads them, for the schema to judge
        return yaml.SafeLoader.construct_yaml_float(loader, node)
    return number if number.is_finite() else yaml.SafeLoader.construct_yaml_float(loader, node)


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:  # 2024-13-01 looks like a date and is none
        return str(node.value)


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and line breaks are text


def _str(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    """A text, refused when it holds a control character (a database would refuse it later,
    or keep a name nobody can type)."""
    value = str(loader.construct_scalar(node))
    found = CONTROL.search(value)
    if found:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"the text {value!r} holds the control character U+{ord(found.group()):04X}",
            node.start_mark,
        )
    return value


SetupLoader.add_constructor("tag:yaml.org,2002:str", _str)
SetupLoader.add_constructor("tag:yaml.org,2002:int", _int)
SetupLoader.add_constructor("tag:yaml.org,2002:float", _float)
SetupLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


@dataclass(frozen=True)
class SetupSource:
    """A setup document and the name of its file (None when it came from elsewhere): what
    `setup.load` takes, so that its messages name the file."""

    name: str | None
    document: Any


def parse_setup(text: str, name: str | None = None) -> SetupSource:
    """The YAML text of a setup file as plain data (see the module's docstring)."""
    label = f"{name}: " if name else ""
    try:
        document = yaml.load(text, Loader=SetupLoader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = f" ({error.context})" if error.context else ""
        raise InputError(
            f"{label}the {WHAT} is not valid YAML: {where}{error.problem}{context}"
        ) from None
    except yaml.YAMLError as error:
        first = str(error).strip().splitlines()[0]
        raise InputError(f"{label}the {WHAT} is not valid YAML: {first}") from None
    return SetupSource(name, document)


def read_setup(path: Path) -> SetupSource:
    """A setup file read from disk, before any database is opened, so that a file that cannot be
    read is named first; the messages are those of `imports.files.read_yaml`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the {WHAT}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: cannot read the {WHAT}: it is not UTF-8 text") from None
    return parse_setup(text, str(path))
