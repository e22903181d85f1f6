"""The web app's demo portfolio (`revrec serve --demo`): a subledger that looks lived in.

`build` sets up a new database with the shipped setup (examples/setup.yaml) and the demo users,
then generates a portfolio in code, deterministically from a seed: contracts of ~40 customers in
USD, EUR and JPY (ratable subscriptions, point-in-time licences with support, milestones,
services recognized upon billing), their invoices (billed ahead: deferred revenue; behind: a
contract asset), a few credit memos, capitalized commissions and milestone events. It writes
them as CSV in the `revrec` mapping's formats and imports them month by month, as a user
would, through the same services the shells call: each month's files in that month, then the
month-end of 2024-01, 2024-02 and 2024-03 (approve, transfer, summarize every book; close).
The open period 2024-04 is processed, its journals drafts waiting for approval, and a file of
bad rows waits in the stage area. Every step acts as a demo user at a plausible time of 2024.
"""

from __future__ import annotations

import csv
import dataclasses
import random
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from revrec.calendar import days_in_month, month_index, month_start, period_name
from revrec.money import exponent, format_minor
from revrec.services import close, demo_store, journals, users, workflow
from revrec.services.context import Context

SET_UP_AT = datetime(2024, 1, 2, 8, 0, tzinfo=UTC)  # the database is set up: 2024-01 opens
CLOSED_MONTHS = 3  # 2024-01, 2024-02 and 2024-03 are closed; 2024-04 is open
LAST_DAY = date(2024, 4, 30)  # nothing is dated after the open period
SALES_ORDER_COLUMNS = (
    "contract_id", "customer_id", "so_number", "so_line_id", "order_date", "item_code",
    "pob_template", "amount", "currency", "service_start_date", "service_end_date", "quantity",
    "list_price",
)  # fmt: skip
BILLING_COLUMNS = (
    "doc_type", "doc_number", "doc_line_id", "doc_date", "amount", "currency", "customer_id",
    "so_line_id", "ref_doc_number", "ref_doc_line_id", "service_start_date", "service_end_date",
    "item_code",
)  # fmt: skip
COST_COLUMNS = (
    "cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id", "contract_id",
    "amortization", "amortization_months", "expense_immediately",
)  # fmt: skip
EVENT_COLUMNS = ("so_line_id", "event_date", "action", "cumulative_percent", "event_id")
CUSTOMERS = (
    "ACME", "STARK", "INITECH", "UMBRELLA", "HOOLI", "GLOBEX", "WAYNE", "WONKA", "TYRELL",
    "CYBERDYNE", "SOYLENT", "VANDELAY", "MASSIVE", "GRINGOTTS", "OSCORP", "NAKATOMI", "DUNDER",
    "PIEDPIPER", "AVIATO", "BLUTH", "MONARCH", "OCEANIC", "POLYMER", "STERLING", "VEHEMENT",
    "WIDGETCO", "ZORG", "APERTURE", "BLACKMESA", "CONTOSO", "FABRIKAM", "NORTHWIND", "TAILSPIN",
    "LITWARE", "ADVENTURE", "PROSEWARE", "WINGTIP", "MARGIES", "FOURTH", "ALPINE",
)  # fmt: skip
# The customers' currencies: most contracts are in USD (the books' currency and the only one
# of the shipped SSP table), a few in EUR and JPY.
EUR_CUSTOMERS = frozenset(("GLOBEX", "BLUTH", "OCEANIC", "ZORG", "CONTOSO", "FABRIKAM", "ALPINE"))
JPY_CUSTOMERS = frozenset(("INITECH", "NAKATOMI", "MONARCH", "TAILSPIN"))
# Units of a currency per US dollar, for amounts that read naturally (as whole major units).
SCALE = {"USD": (1, 1), "EUR": (9, 10), "JPY": (150, 1)}
ERROR_FILE = "sales_orders_2024-04_corrections.csv"


@dataclass
class _Line:
    so_line_id: str
    item: str
    template: str
    amount: int  # minor units
    start: date
    end: date  # the last service day (inclusive)
    list_price: int | None = None


@dataclass
class _Contract:
    contract_id: str
    customer: str
    currency: str
    order_date: date
    every: int = 12  # months between the invoices of its subscriptions
    behind: bool = False  # its subscriptions are billed at the end of each period
    lines: list[_Line] = field(default_factory=list)


@dataclass
class _Files:
    """The rows of each month's files (month index -> rows), in the upload names."""

    sales_orders: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    billings: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    costs: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    events: dict[int, list[dict[str, str]]] = field(default_factory=dict)

    @staticmethod
    def add(rows: dict[int, list[dict[str, str]]], day: date, row: dict[str, str]) -> None:
        rows.setdefault(month_index(day), []).append(row)


@dataclass(frozen=True)
class _Invoice:
    """One invoice line before it is numbered."""

    day: date
    contract: _Contract
    line: _Line
    amount: int
    service: tuple[date, date] | None


def _add_months(day: date, months: int) -> date:
    index = month_index(day) + months
    return month_start(index).replace(day=min(day.day, days_in_month(index)))


def _end_of(start: date, months: int) -> date:
    """The last day of a service of `months` months from `start`."""
    return _add_months(start, months) - timedelta(days=1)


def _month_end(day: date) -> date:
    index = month_index(day)
    return month_start(index).replace(day=days_in_month(index))


def _money(rng: random.Random, currency: str, low: int, high: int, step: int) -> int:
    """A round amount from `low` to `high` US dollars, in the currency's minor units."""
    dollars = rng.randrange(low, high + 1, step)
    numerator, denominator = SCALE[currency]
    return dollars * numerator // denominator * _unit(currency)


def _unit(currency: str) -> int:
    """One major unit in minor units (100 for USD, 1 for JPY)."""
    return int(10 ** exponent(currency))


def _split(total: int, parts: int) -> list[int]:
    """`total` in `parts` instalments that sum back to it (cumulative floor division)."""
    return [total * (k + 1) // parts - total * k // parts for k in range(parts)]


def _major(amount: int, currency: str) -> str:
    return format_minor(amount, currency)


class _Portfolio:
    """The generated contracts, their invoices, credit memos, costs and events."""

    def __init__(self, contracts: int, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
        self.files = _Files()
        self.contracts: list[_Contract] = []
        self.invoices: list[_Invoice] = []
        first = month_index(date(2024, 1, 1))
        for i in range(contracts):
            month = first + i * (CLOSED_MONTHS + 1) // max(contracts, 1)
            self.contracts.append(self._contract(i, month))
        for contract in self.contracts:
            self._sales_orders(contract)
            self._costs(contract)
        self._billings()

    @property
    def line_count(self) -> int:
        return sum(len(c.lines) for c in self.contracts)

    # -- contracts ---------------------------------------------------------------------------

    def _contract(self, i: int, month: int) -> _Contract:
        rng = self.rng
        customer = CUSTOMERS[i % len(CUSTOMERS)] if i < len(CUSTOMERS) else rng.choice(CUSTOMERS)
        currency = (
            "EUR" if customer in EUR_CUSTOMERS else "JPY" if customer in JPY_CUSTOMERS else "USD"
        )
        ordered = month_start(month).replace(day=rng.randint(1, 28))
        contract = _Contract(f"C-{2001 + i}", customer, currency, ordered)
        # The first two contracts are a subscription billed a year ahead and a licence billed
        # in instalments (behind), whatever the seed.
        kind = ("subscription", "licence")[i] if i < 2 else self._kind()
        if i >= 2:
            contract.every = rng.choice((1, 1, 3, 3, 12, 12))
            contract.behind = contract.every == 3 and rng.random() < 0.3
        lines = contract.lines
        start = ordered
        if kind != "licence" and ordered.day > 15 and rng.random() < 0.3:
            start = month_start(month + 1)  # a subscription that starts on the 1st
        number = f"SO-{2001 + i}"

        def line(item: str, template: str, amount: int, months: int) -> _Line:
            found = _Line(f"{number}-{len(lines) + 1}", item, template, amount, start,
                          _end_of(start, months))  # fmt: skip
            lines.append(found)
            return found

        if kind == "subscription":
            months = rng.choice((12, 12, 24, 36))
            yearly = _money(rng, currency, 6_000, 90_000, 500)
            line("SAAS", "saas_daily", yearly * months // 12, months)
            if rng.random() < 0.35:
                line("SUP", "support_monthly", yearly // 5 * months // 12, months)
            if rng.random() < 0.2:
                line("SVC", "usage_billing", _money(rng, currency, 5_000, 30_000, 1_000), 12)
        elif kind == "licence":
            amount = _money(rng, currency, 30_000, 150_000, 5_000)
            licence = line("LIC", "license_pit", amount, 12)
            support = line("SUP", "support_monthly", amount // 5, 12)
            support.list_price = licence.list_price = amount * 5 // 4
            if rng.random() < 0.5:
                line("IMP", "milestone_evt", _money(rng, currency, 10_000, 60_000, 2_500), 6)
            if rng.random() < 0.25:
                line("SVC", "usage_billing", _money(rng, currency, 5_000, 30_000, 1_000), 12)
        else:  # professional services
            line("IMP", "milestone_evt", _money(rng, currency, 15_000, 80_000, 2_500), 6)
            if rng.random() < 0.6:
                line("SVC", "usage_billing", _money(rng, currency, 5_000, 40_000, 1_000), 12)
            if rng.random() < 0.3:
                line("SAAS", "saas_daily", _money(rng, currency, 6_000, 40_000, 500), 12)
        return contract

    def _kind(self) -> str:
        draw = self.rng.random()
        return "subscription" if draw < 0.5 else "licence" if draw < 0.8 else "services"

    def _sales_orders(self, contract: _Contract) -> None:
        for found in contract.lines:
            row = {
                "contract_id": contract.contract_id,
                "customer_id": contract.customer,
                "so_number": found.so_line_id.rsplit("-", 1)[0],
                "so_line_id": found.so_line_id,
                "order_date": contract.order_date.isoformat(),
                "item_code": found.item,
                "pob_template": found.template,
                "amount": _major(found.amount, contract.currency),
                "currency": contract.currency,
                "service_start_date": found.start.isoformat(),
                "service_end_date": found.end.isoformat(),
                "quantity": "1",
                "list_price": (
                    "" if found.list_price is None else _major(found.list_price, contract.currency)
                ),
            }
            self.files.add(self.files.sales_orders, contract.order_date, row)
            self._plan(contract, found)

    # -- billing plans -----------------------------------------------------------------------

    def _plan(self, contract: _Contract, found: _Line) -> None:
        """The line's invoices through the open period, and its milestone events."""
        rng = self.rng
        licensed = any(other.item == "LIC" for other in contract.lines)
        if found.item == "SUP" and licensed:  # support sold with a licence: a year ahead
            self._periodic(contract, found, 12, behind=False)
        elif found.item in {"SAAS", "SUP"}:
            self._periodic(contract, found, contract.every, behind=contract.behind)
        elif found.item == "LIC":
            if contract.contract_id == "C-2002" or rng.random() < 0.3:
                self._instalments(contract, found, 4)  # billed behind: a contract asset
            else:
                self._invoice(contract.order_date, contract, found, found.amount, None)
        elif found.item == "IMP":
            self._milestones(contract, found)
        else:
            self._usage(contract, found)

    def _periodic(self, contract: _Contract, found: _Line, every: int, *, behind: bool) -> None:
        months = month_index(found.end + timedelta(days=1)) - month_index(found.start)
        amounts = _split(found.amount, max(months // every, 1))
        for k, amount in enumerate(amounts):
            begin = _add_months(found.start, k * every)
            end = found.end if k == len(amounts) - 1 else _end_of(found.start, (k + 1) * every)
            day = end if behind else contract.order_date if k == 0 else begin
            if day > LAST_DAY:
                return
            self._invoice(day, contract, found, amount, (begin, end))

    def _instalments(self, contract: _Contract, found: _Line, parts: int) -> None:
        for k, amount in enumerate(_split(found.amount, parts)):
            day = _month_end(_add_months(contract.order_date, 3 * k))
            if day > LAST_DAY:
                return
            self._invoice(day, contract, found, amount, None)

    def _milestones(self, contract: _Contract, found: _Line) -> None:
        """Three milestones (30%, 70%, 100%); billed half upfront and half at the end, or the
        share of each milestone when it is reached."""
        rng = self.rng
        upfront = rng.random() < 0.5
        half = _split(found.amount, 2)
        if upfront:
            self._invoice(contract.order_date, contract, found, half[0], None)
        day, released = found.start, 0
        for k, percent in enumerate((30, 70, 100)):
            day += timedelta(days=rng.randint(25, 50))
            if day > LAST_DAY:
                return
            row = {
                "so_line_id": found.so_line_id,
                "event_date": day.isoformat(),
                "action": "release",
                "cumulative_percent": str(percent),
                "event_id": f"MS-{found.so_line_id}-{k + 1}",
            }
            self.files.add(self.files.events, day, row)
            if upfront and percent == 100:
                self._invoice(day, contract, found, half[1], None)
            elif not upfront:
                share = found.amount * percent // 100 - released
                released += share
                self._invoice(day, contract, found, share, None)

    def _usage(self, contract: _Contract, found: _Line) -> None:
        """Services recognized upon billing: each month's hours billed at its end."""
        billed = 0
        day = _month_end(found.start)
        while day <= LAST_DAY:
            share = found.amount * self.rng.randint(4, 12) // 100
            share -= share % _unit(contract.currency)
            share = min(share, found.amount - billed)
            if share <= 0:
                return
            billed += share
            begin = max(found.start, month_start(month_index(day)))
            self._invoice(day, contract, found, share, (begin, day))
            day = _month_end(_add_months(day.replace(day=1), 1))

    def _invoice(
        self,
        day: date,
        contract: _Contract,
        found: _Line,
        amount: int,
        service: tuple[date, date] | None,
    ) -> None:
        if amount > 0:
            self.invoices.append(_Invoice(day, contract, found, amount, service))

    def _billings(self) -> None:
        """Number the invoices (one document per contract and day, in date order), then add a
        few credit memos on invoices of subscriptions and licences."""
        documents: dict[tuple[date, str], list[_Invoice]] = {}
        for invoice in self.invoices:
            documents.setdefault((invoice.day, invoice.contract.contract_id), []).append(invoice)
        for n, (day, _contract_id) in enumerate(sorted(documents)):
            number = f"INV-{24001 + n}"
            for k, invoice in enumerate(documents[day, _contract_id]):
                doc_line = f"{number}-{k + 1}"
                so_line = invoice.line.so_line_id
                row = self._billing_row("INV", number, doc_line, invoice, invoice.amount, so_line)
                self.files.add(self.files.billings, day, row)
                self._maybe_credit(invoice, number, doc_line)

    def _maybe_credit(self, invoice: _Invoice, number: str, doc_line: str) -> None:
        rng = self.rng
        if invoice.line.item not in {"SAAS", "SUP", "LIC"} or rng.random() >= 0.04:
            return
        day = invoice.day + timedelta(days=rng.randint(5, 20))
        unit = _unit(invoice.contract.currency)
        amount = invoice.amount * rng.choice((10, 15, 25)) // 100 // unit * unit
        if day > LAST_DAY or amount <= 0:
            return
        credit = f"CM-{number.removeprefix('INV-')}"
        row = self._billing_row("CM", credit, f"{credit}-1", invoice, amount, "")
        row |= {"ref_doc_number": number, "ref_doc_line_id": doc_line}
        row |= {"doc_date": day.isoformat(), "service_start_date": "", "service_end_date": ""}
        self.files.add(self.files.billings, day, row)

    @staticmethod
    def _billing_row(
        doc_type: str, number: str, doc_line: str, invoice: _Invoice, amount: int, so_line: str
    ) -> dict[str, str]:
        contract = invoice.contract
        service = invoice.service
        return {
            "doc_type": doc_type,
            "doc_number": number,
            "doc_line_id": doc_line,
            "doc_date": invoice.day.isoformat(),
            "amount": _major(amount, contract.currency),
            "currency": contract.currency,
            "customer_id": contract.customer,
            "so_line_id": so_line,
            "ref_doc_number": "",
            "ref_doc_line_id": "",
            "service_start_date": service[0].isoformat() if service else "",
            "service_end_date": service[1].isoformat() if service else "",
            "item_code": invoice.line.item,
        }

    # -- contract costs ----------------------------------------------------------------------

    def _costs(self, contract: _Contract) -> None:
        """Sales commissions capitalized on about half of the contracts (amortized following
        revenue, or straight-line over the term), and a few bonuses expensed at once."""
        rng = self.rng
        if rng.random() >= 0.5:
            return
        value = sum(found.amount for found in contract.lines)
        unit = _unit(contract.currency)
        commission = value * rng.choice((5, 8, 10)) // 100 // unit * unit
        months = max(month_index(f.end) - month_index(f.start) + 1 for f in contract.lines)
        straight = rng.random() < 0.3
        costs = [
            ("COM", "commission", commission, "straight_line" if straight else "follow_revenue",
             str(months) if straight else "", "false"),
        ]  # fmt: skip
        if rng.random() < 0.2:
            bonus = _money(rng, contract.currency, 250, 1_000, 50)
            costs.append(("BON", "bonus", bonus, "follow_revenue", "", "true"))
        for prefix, kind, amount, method, term, expensed in costs:
            row = {
                "cost_id": f"{prefix}-{contract.contract_id}",
                "cost_type": kind,
                "amount": _major(amount, contract.currency),
                "currency": contract.currency,
                "cost_date": contract.order_date.isoformat(),
                "so_line_id": "",
                "contract_id": contract.contract_id,
                "amortization": method,
                "amortization_months": term,
                "expense_immediately": expensed,
            }
            self.files.add(self.files.costs, contract.order_date, row)


def _write(path: Path, columns: Iterable[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _error_rows() -> list[dict[str, str]]:
    """A corrections file with four bad rows: a date that is not a date, an unknown POB
    template, and two amounts that are not numbers."""
    good = {
        "contract_id": "C-9001", "customer_id": "ACME", "so_number": "SO-9001",
        "so_line_id": "SO-9001-1", "order_date": "2024-04-22", "item_code": "SAAS",
        "pob_template": "saas_daily", "amount": "24000.00", "currency": "USD",
        "service_start_date": "2024-05-01", "service_end_date": "2025-04-30", "quantity": "1",
        "list_price": "",
    }  # fmt: skip
    return [
        good | {"order_date": "04/31/2024"},
        good | {"contract_id": "C-9002", "so_number": "SO-9002", "so_line_id": "SO-9002-1",
                "customer_id": "HOOLI", "item_code": "SUP", "pob_template": "support_yearly"},
        good | {"contract_id": "C-9003", "so_number": "SO-9003", "so_line_id": "SO-9003-1",
                "customer_id": "STARK", "amount": "12,500.00"},
        good | {"contract_id": "C-9004", "so_number": "SO-9004", "so_line_id": "SO-9004-1",
                "customer_id": "WAYNE", "amount": "TBD"},
    ]  # fmt: skip


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _import_month(ctx: Context, folder: Path, files: _Files, month: int) -> int:
    """Import one month's files (orders, billings, costs, then events) on its last day; the
    number of rows in error or still pending, which generated data never has."""
    name = period_name(month)
    errors = 0
    for kind, upload_type, columns, rows in (
        ("sales_orders", "sales_order", SALES_ORDER_COLUMNS, files.sales_orders),
        ("billings", "billing", BILLING_COLUMNS, files.billings),
        ("costs", "cost", COST_COLUMNS, files.costs),
        ("events_milestone", "event", EVENT_COLUMNS, files.events),
    ):
        if not rows.get(month):
            continue
        path = _write(folder / f"{kind}_{name}.csv", columns, rows[month])
        event = "milestone" if upload_type == "event" else None
        summary = workflow.import_and_process(ctx, path, upload_type, event=event)
        errors += summary.error + summary.pending
    return errors


def _month_end_close(ctx: Context, folder: Path, period: str) -> str:
    """Approve, transfer and summarize the period's journal of every book, then close it (the
    primary book and the books that depend on it); the period closed."""
    books = sorted({row["book"] for row in journals.list_journals(ctx, period)})
    for step, minute in (("approve", 0), ("transfer", 10), ("summarize", 20)):
        for book in books:
            at = dataclasses.replace(ctx, book=book, now=ctx.now + timedelta(minutes=minute))
            if step == "approve":
                journals.approve(at, period)
            elif step == "transfer":
                journals.transfer(at, period, folder=folder)
            else:
                journals.summarize(at, period)
    closed = close.close(dataclasses.replace(ctx, now=ctx.now + timedelta(minutes=30)))
    return closed.closed


def build(
    ctx: Context, *, contracts: int = 300, seed: int = 2024, gl_folder: Path | None = None
) -> dict[str, object]:
    """Build the demo portfolio into the new (unchecked) database of `ctx` (see the module's
    docstring); the Context's own user and clock are not used: each step acts as a demo user
    at its time of 2024. The closed periods' GL export files are written into `gl_folder`
    (None: a temporary folder, removed once built, so their journals' downloads are gone).
    Returns what was built: contracts, lines, the closed periods, the
    open period and the stage's error rows. A database set up before is left as it is
    (`built` is False): `revrec serve --demo` serves it."""
    admin = dataclasses.replace(ctx, user="admin", now=SET_UP_AT)
    # No first period given: init opens the month of its clock (2024-01), and on a database
    # set up before changes nothing (a first period other than its open one would be refused).
    initialized = workflow.init(admin, first_period=None, currency="USD")
    if not initialized.created:
        return {"built": False, "open_period": initialized.open_period}
    setup_file = demo_store.examples_folder() / "setup.yaml"
    workflow.load_setup(admin, workflow.read_setup(setup_file))
    users.add_demo_users(admin)
    portfolio = _Portfolio(contracts, seed)
    accountant = dataclasses.replace(admin, user="accountant")
    first = month_index(date(2024, 1, 1))
    closed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="revrec-demo-") as temporary:
        folder = Path(temporary)
        for month in range(first, first + CLOSED_MONTHS + 1):
            importing = dataclasses.replace(accountant, now=_at(_month_end(month_start(month)), 18))
            if _import_month(importing, folder, portfolio.files, month):
                raise RuntimeError(f"the demo data of {period_name(month)} has bad rows")
            if month < first + CLOSED_MONTHS:
                closing = dataclasses.replace(accountant, now=_at(month_start(month + 1), 9))
                exports = gl_folder or folder / "gl"
                closed.append(_month_end_close(closing, exports, period_name(month)))
        path = _write(folder / ERROR_FILE, SALES_ORDER_COLUMNS, _error_rows())
        late = dataclasses.replace(accountant, now=_at(LAST_DAY, 18, 30))
        errors = workflow.import_and_process(late, path, "sales_order").error
    return {
        "built": True,
        "contracts": len(portfolio.contracts),
        "lines": portfolio.line_count,
        "closed_periods": closed,
        "open_period": period_name(first + CLOSED_MONTHS),
        "error_rows": errors,
    }
