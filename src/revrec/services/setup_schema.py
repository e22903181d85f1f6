"""The setup file's schema (SPEC §2.1): a pydantic model of the whole document.

Every mapping forbids unknown keys. A value must have the YAML type it means: `events` a list of
names, `active` true or false, a GL code a string or an integer, a date a date. Names of a closed
set (methods, conventions, policies, jobs...) come from revrec.vocab; amounts and percents are read
exactly. Each entry is checked on its own here; what takes several entries or the database (one
primary book, known templates, a name given twice) is `setup_check`'s.

A validator reports a problem as a PydanticCustomError whose message is the one users read; one
that finds several raises a ValidationError with a location per problem.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from croniter import croniter  # type: ignore[import-untyped]
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from revrec.errors import InputError, RevrecError
from revrec.imports.mappings import Mapping
from revrec.money import exponent, parse
from revrec.services.mappings import SHIPPED_NAMES, parse_mapping
from revrec.services.setup_file import WrittenInt
from revrec.store.setup_reads import max_lengths
from revrec.vocab import CONVENTIONS, JOBS, METHODS, POINTS, POLICIES

LENGTHS = max_lengths()
PERCENT_DECIMALS = 6
# `every`: a whole number of minutes, hours or days (15m, 1h, 1d); see docs/file-formats.md.
INTERVAL = re.compile(r"[1-9][0-9]{0,3}[mhd]")
CRON_FIELDS = 5
MAX_MINOR = 2**63 - 1  # the largest amount a BIGINT column keeps, in minor units
PLAIN_INT = re.compile(r"[+-]?[0-9]+")

Loc = tuple[str | int, ...]


def problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("setup", message)


def report(title: str, found: list[tuple[Loc, str, Any]]) -> None:
    """Raise the problems found (location within the model, message, value), if any."""
    if found:
        details = [InitErrorDetails(type=problem(m), loc=loc, input=v) for loc, m, v in found]
        raise ValidationError.from_exception_data(title, details)


def _shown_list(value: list[Any]) -> str:
    shown = repr(value)
    return f"the list {shown}" if len(shown) <= 40 else "a list"


# How a value of each YAML type is shown; the first that fits (a bool before an int).
_SHOWN: tuple[tuple[type | tuple[type, ...], Callable[[Any], str]], ...] = (
    (bool, lambda v: "true" if v else "false"),
    (str, lambda v: f"the string {v!r}"),
    (WrittenInt, lambda v: f"the number {v.text}"),
    ((int, float, Decimal), lambda v: f"the number {v}"),
    (datetime, lambda v: f"the date and time {v.isoformat(sep=' ')}"),
    (date, lambda v: f"the date {v.isoformat()}"),
    (list, _shown_list),
    (dict, lambda _: "a mapping"),
)


def describe(value: Any) -> str:
    """A value as a message shows what was found: "the string 'soon'", "the list [1, 2]"."""
    if value is None:
        return "nothing"
    show = next((show for kinds, show in _SHOWN if isinstance(value, kinds)), None)
    return show(value) if show else f"a {type(value).__name__}"


def closest(value: str, known: tuple[str, ...] | list[str]) -> str | None:
    found = difflib.get_close_matches(value, known, n=1)
    return found[0] if found else None


# Scalars. Each is a PlainValidator: it alone decides what the YAML value may be.


def _name(kind: str, what: str) -> Any:
    length = LENGTHS.get(kind)

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise problem(f"expected {what} (a string), got {describe(value)}")
        text = value.strip()
        if not text:
            raise problem(f"expected {what}, got an empty string")
        if length is not None and len(text) > length:
            raise problem(f"{text!r} is longer than {length} characters")
        return text

    return PlainValidator(check)


def _code(kind: str, what: str) -> Any:
    """An identifier that YAML may have read as an integer (a GL code 4000, a contract 1001)."""
    length = LENGTHS.get(kind)

    def check(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise problem(f"expected {what} (a string or an integer), got {describe(value)}")
        text = value.strip() if isinstance(value, str) else str(value)
        if isinstance(value, WrittenInt):
            text = value.text
            if not text.isdigit():  # 0x1F, 1_000, +12: YAML changes what was written
                raise problem(f"write {text} in quotes: YAML reads it as the number {int(value)}")
        if not text:
            raise problem(f"expected {what}, got an empty string")
        if length is not None and len(text) > length:
            raise problem(f"{text!r} is longer than {length} characters")
        return text

    return PlainValidator(check)


def one_of(what: str, names: tuple[str, ...]) -> Any:
    """A name of a closed set: "'telepathy' is not a method: expected one of ..."."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise problem(f"expected {what}: one of {', '.join(names)}; got {describe(value)}")
        if value not in names:
            near = closest(value, names)
            hint = f"did you mean {near!r}?" if near else f"expected one of {', '.join(names)}"
            raise problem(f"{value!r} is not {what}{'; ' if near else ': '}{hint}")
        return value

    return PlainValidator(check)


def _currency(value: Any) -> str:
    if not isinstance(value, str):
        raise problem(f"expected a currency code such as USD, got {describe(value)}")
    try:
        exponent(value)
    except InputError as error:
        raise problem(str(error)) from None
    return value.strip().upper()


def number(value: Any, what: str) -> Decimal:
    """A number written as YAML text, a YAML integer or a YAML decimal, exactly: never through a
    float (a float of other YAML readers is taken as Decimal(str(x)), its shortest spelling)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, str | int | float | Decimal)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise problem(f"expected {what} (a number such as 75000.00), got {describe(value)}")
    if isinstance(value, WrittenInt) and not PLAIN_INT.fullmatch(value.text):
        raise problem(f"write {value.text} in quotes: YAML reads it as the number {int(value)}")
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, WrittenInt):
        text = value.text
    else:
        text = format(Decimal(str(value)), "f")
    if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", text):
        raise problem(f"{text!r} is not a number: expected digits such as 75000.00")
    return Decimal(text)


def _amount(value: Any) -> str:
    found = number(value, "an amount")
    if found < 0:
        raise problem(f"{found} is negative: an SSP is zero or more")
    return str(value).strip() if isinstance(value, str) else format(found, "f")


def _percent(value: Any) -> Decimal:
    found = number(value, "a percent")
    if not 0 <= found <= 100:
        raise problem(f"{found} is not a percent from 0 to 100")
    if found != found.quantize(Decimal(1).scaleb(-PERCENT_DECIMALS)):
        raise problem(f"{found} has more than {PERCENT_DECIMALS} decimals")
    return found


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        raise problem(f"expected a date YYYY-MM-DD, got {describe(value)}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            date.fromisoformat(value.strip())
        except ValueError:
            raise problem(
                f"{value!r} is not a date: expected YYYY-MM-DD, such as 2024-01-01"
            ) from None
        raise problem(f"expected a date, got {describe(value)}: write the date without quotes")
    raise problem(f"expected a date YYYY-MM-DD, got {describe(value)}")


def _every(value: Any) -> str:
    if not isinstance(value, str) or not INTERVAL.fullmatch(value.strip()):
        shown = repr(value) if isinstance(value, str) else describe(value)
        raise problem(
            f"{shown} is not an interval: expected a whole number of minutes, hours or days, "
            "such as 15m, 1h or 1d"
        )
    return value.strip()


def _cron(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text.split()) != CRON_FIELDS or not croniter.is_valid(text):
        shown = repr(value) if isinstance(value, str) else describe(value)
        raise problem(
            f"{shown} is not a cron expression: expected five fields (minute hour day month "
            "weekday), such as '0 2 * * *'"
        )
    length = LENGTHS.get("cron")
    if length is not None and len(text) > length:
        raise problem(f"{text!r} is longer than {length} characters")
    return text


def _mapping(value: Any) -> Mapping:
    """A mapping entry, checked as `mapping import` checks one (services.mappings)."""
    try:
        mapping = parse_mapping(value)
    except RevrecError as error:
        raise problem(str(error)) from None
    if mapping.name in SHIPPED_NAMES:
        raise problem(
            f"mapping {mapping.name!r} is shipped with revrec and cannot be replaced: "
            "give your mapping another name"
        )
    return mapping


BookName = Annotated[str, _name("book", "a book name")]
TemplateName = Annotated[str, _name("template", "a POB template name")]
ItemCode = Annotated[str, _name("item_code", "an item code")]
EventName = Annotated[str, _name("event", "an event name")]
GlCode = Annotated[str, _code("gl_code", "a GL code")]
ContractId = Annotated[str, _code("contract_id", "a contract_id")]
Currency = Annotated[str, PlainValidator(_currency)]
Method = Annotated[str, one_of("a method", METHODS)]
Convention = Annotated[str, one_of("a convention", CONVENTIONS)]
Point = Annotated[str, one_of("a point in time", POINTS)]
Policy = Annotated[str, one_of("a modification policy", POLICIES)]
JobName = Annotated[str, one_of("a job", JOBS)]
Amount = Annotated[str, PlainValidator(_amount)]
Percent = Annotated[Decimal, PlainValidator(_percent)]
Day = Annotated[date, PlainValidator(_day)]
Interval = Annotated[str, PlainValidator(_every)]
Cron = Annotated[str, PlainValidator(_cron)]
MappingEntry = Annotated[Mapping, PlainValidator(_mapping)]


class Model(BaseModel):
    """A mapping of the setup file: unknown keys are problems, types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Book(Model):
    name: BookName
    primary: StrictBool = False
    currency: Currency = "USD"
    independent: StrictBool = False
    methods: dict[TemplateName, Method] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _secondary_only(self) -> Book:
        if self.primary and self.independent:
            message = "only a secondary book is independent (of the primary book)"
            report("Book", [(("independent",), message, True)])
        return self


class Accounts(Model):
    """GL codes by account role (SPEC §2): any of services.setup.ACCOUNT_ROLES."""

    accounts_receivable: GlCode | None = None
    deferred_revenue: GlCode | None = None
    contract_asset: GlCode | None = None
    revenue: GlCode | None = None
    contract_cost_asset: GlCode | None = None
    contract_cost_expense: GlCode | None = None
    billing_clearing: GlCode | None = None
    cost_clearing: GlCode | None = None

    def codes(self) -> dict[str, str]:
        """role -> GL code of the roles given."""
        return {role: code for role, code in self if code is not None}


class Defaults(Model):
    modification_policy: Policy | None = None


class Params(Model):
    convention: Convention | None = None
    at: Point | None = None


class Template(Model):
    name: TemplateName
    method: Method
    params: Params = Field(default_factory=Params)
    events: list[EventName] | None = None
    accounts: Accounts | None = None

    @model_validator(mode="after")
    def _fits_the_method(self) -> Template:
        method, found = self.method, list[tuple[Loc, str, Any]]()
        if self.params.convention is not None and method != "ratable_monthly":
            message = f"only a ratable_monthly template has a convention; this one is {method}"
            found.append((("params", "convention"), message, self.params.convention))
        if self.params.at is not None and method != "point_in_time":
            message = f"only a point_in_time template has the parameter at; this one is {method}"
            found.append((("params", "at"), message, self.params.at))
        if self.events is not None and method != "event":
            message = f"only an event template lists events; this one is {method}"
            found.append((("events",), message, self.events))
        if method == "event" and not self.events:
            message = "an event template lists the events it accepts, such as [milestone]"
            found.append((("events",), message, self.events))
        report("Template", found)
        return self

    def stored_params(self) -> dict[str, str]:
        """The parameters the store keeps, with the method's default when not given."""
        if self.method == "ratable_monthly":
            return {"convention": self.params.convention or CONVENTIONS[0]}
        if self.method == "point_in_time":
            return {"at": self.params.at or POINTS[0]}
        return {}


class Ssp(Model):
    item_code: ItemCode
    currency: Currency
    ssp: Amount | None = None
    ssp_percent_of_list: Percent | None = None
    valid_from: Day | None = None
    valid_to: Day | None = None

    @model_validator(mode="after")
    def _one_price(self) -> Ssp:
        found: list[tuple[Loc, str, Any]] = []
        if (self.ssp is None) == (self.ssp_percent_of_list is None):
            found.append(((), "give exactly one of ssp, ssp_percent_of_list", None))
        elif self.ssp is not None:
            try:
                minor = parse(self.ssp, self.currency)
            except InputError as error:
                found.append((("ssp",), str(error), self.ssp))
            else:
                if abs(minor) > MAX_MINOR:
                    message = f"{self.ssp} is too large: at most {MAX_MINOR} minor units"
                    found.append((("ssp",), message, self.ssp))
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            message = f"{self.valid_to} is before valid_from {self.valid_from}"
            found.append((("valid_to",), message, self.valid_to))
        report("Ssp", found)
        return self

    def row(self) -> dict[str, Any]:
        """The row of the store's SSP table: minor units, or the percent x 1e6."""
        percent = self.ssp_percent_of_list
        return {
            "item_code": self.item_code,
            "currency": self.currency,
            "ssp": None if self.ssp is None else parse(self.ssp, self.currency),
            "ssp_percent_micro": None if percent is None else int(percent.scaleb(6)),
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
        }


class ContractPolicy(Model):
    contract_id: ContractId
    modification_policy: Policy


class Job(Model):
    name: JobName
    active: StrictBool = True
    every: Interval | None = None
    cron: Cron | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> Job:
        if self.every is not None and self.cron is not None:
            report("Job", [(("cron",), "give either every or cron, not both", self.cron)])
        return self


class SetupFile(Model):
    """The whole setup file; a key left out or null leaves that part of the setup alone."""

    books: list[Book] | None = None
    accounts: Accounts | None = None
    defaults: Defaults | None = None
    pob_templates: list[Template] | None = None
    ssp: list[Ssp] | None = None
    contract_policies: list[ContractPolicy] | None = None
    jobs: list[Job] | None = None
    mappings: list[MappingEntry] | None = None


SECTIONS = tuple(SetupFile.model_fields)


def check_schedule(every: str | None, cron: str | None) -> tuple[str | None, str | None]:
    """A job's schedule as the web's form gives it (blank: none), checked as the setup file's
    `jobs` entries are: an InputError names the problem."""
    every = every.strip() if every and every.strip() else None
    cron = cron.strip() if cron and cron.strip() else None
    if every is not None and cron is not None:
        raise InputError("give a job either an interval or a cron expression, not both")
    try:
        return (None if every is None else _every(every)), (None if cron is None else _cron(cron))
    except PydanticCustomError as error:
        raise InputError(error.message()) from None
