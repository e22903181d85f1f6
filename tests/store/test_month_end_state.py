"""The month-end as a Hypothesis state machine, through the command line (SPEC §4.5, §4.6, §5,
§5.1, §6, §7), on SQLite and PostgreSQL.

Each example starts from a fresh database: `revrec init --first-period 2024-01` and a setup file
with a primary and a secondary book (LOCAL recognizes `monthly_full` daily), the accounts with
cost_clearing, four POB templates (ratable_monthly full_month, ratable_daily, point_in_time at
start, event with events [milestone]); contracts C2, C4 and C5 are prospective, C1 and C3 catch up.
Its steps, through the CLI (`CliRunner` over `revrec.cli.main.app` with `--db`), one file a row:

- a sales-order line: a new contract or a new line on one, 0.01..10,000.00 in USD, EUR or JPY,
  one of the four templates, 1..14 months from a day of 2024-01..2024-06, ordered up to three
  months before the open month (late rows, SPEC §4.6);
- a modification: the same so_line_id with another amount and a modification date up to three
  months back (catch-up or prospective, by its contract);
- an INV on a line; a CM crediting part of an INV (or more than remains: an error row); an INV and
  a CM of it in one file; a CMC cancelling a CM; an IVC cancelling what remains of an INV
  (sometimes one minor unit more: a partial cancellation, an error row); a cost (straight-line
  over 1..24 months or following revenue, line- or contract-level, or expensed at once); a
  milestone release (on a line that is not event-based: an error row). Their dates run from
  three months before the open month to two after it: late rows and future rows;
- pausing the revenue job (`jobs disable revenue_process`) or resuming it (`jobs enable`,
  `revrec process`); an INV imported while PRIMARY's journal is approved (it waits pending,
  decision 42, until `je revoke` and `revrec process`);
- the month-end of the open period: for both books `report reconcile` must pass, then
  `je approve`, `je transfer --output`, `je summarize`; then `period close --yes
  --acknowledge-errors` (at most four closes: 2024-01 .. 2024-04).

`month_end_model` is the reference: plain integers and dates from the SPEC's rules. After every
step (points 3 and 4 only while the revenue job runs, so that processing is up to date):

1. every (book, period, currency) journal balances: sum(debit) = sum(credit) of journal_lines;
2. each closed period's journal_lines, postings, cost_postings, account_balances and journal
   cards, snapshotted once both books are summarized (before the close), stay identical, and
   the period stays closed;
3. per book and line, sum(postings.amount) over all periods (none is after the open period)
   equals the model's schedule cumulative through the open period: the newest version's
   schedule (catch-up), or the prospective chain of versions (SPEC §3). Closed periods keep what
   they posted (2) and the open period posts the difference, so this is "posted through each
   period = schedule through it + catch-ups": at each close it is the revenue through the
   closing period, and (2) keeps it. Each cost's postings per kind equal the model's, each
   billing's period and amount are the model's (late rows in the open period), and every stage
   row has the status the model expects (processed, future or error);
4. per book and contract, the GL through the open period: deferred_revenue = max(B - R, 0),
   contract_asset = max(R - B, 0), accounts_receivable = B, revenue = R, contract_cost_asset =
   capitalized - amortized (SPEC §5.1, §6); each period's revenue, billing and cost journal lines
   are its postings, billings and cost postings. At each month-end and whenever the revenue job
   resumes, the lines list (`lines list --format json`, per book) shows the model's version,
   allocated (= the amount: no SSP table), billed and recognized of every line, and per currency
   GL deferred_revenue and contract_asset equal the sums over contracts of max(billed -
   recognized, 0) and max(recognized - billed, 0) of that list;
5. at the end of each example `revrec audit verify --format json` exits 0 and says ok;
6. (decision 94) every journal approved or further, open or closed, has the GL side approve
   kept, and it equals account_balances, totals and missing_gl_codes read on their own (also
   while an INV waits on an approved journal, and after each summarize, with the checks made
   from it); a draft keeps none.

Every CLI call exits 0, or 1 with a one-line RevrecError (or SystemExit): never a traceback.

Settings: at most 25 steps per example; 5 examples on SQLite and 4 on PostgreSQL (Hypothesis's
first, nearly empty example included); deadline None; too_slow and data_too_large health checks
off (the steps are CLI calls). The CI profile (tests/conftest.py) makes it derandomized: the same
examples on every run. About 35 s on each database on an unloaded 2-core machine.
"""

from __future__ import annotations

import gc
import hashlib
import json
import shutil
import traceback
from datetime import date
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from helpers import (
    BILL_HEADS,
    PRIMARY_BOOK,
    SO_HEADS,
    bill,
    month_end,
    query,
    so,
    start,
    write_csv,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from month_end_model import BOOKS, DAY, Contract, Model, Row, add_months, month_of, period_name
from typer.testing import CliRunner

from revrec.cli.main import app
from revrec.errors import RevrecError
from revrec.services import reconcile
from revrec.store import db
from revrec.store import journals as journal_store

STEPS = 25
EXAMPLES = {"sqlite": 1, "postgresql": 1}
FIRST = month_of(date(2024, 1, 1))
EARLIEST = month_of(date(2023, 12, 1))  # the earliest accounting month of a row
LAST_OPEN = month_of(date(2024, 5, 1))  # at most four closes: 2024-01 .. 2024-04
DECIMALS = {"USD": 2, "EUR": 2, "JPY": 0}
CONTRACTS = ("C1", "C2", "C3", "C4", "C5")
PROSPECTIVE = ("C2", "C4", "C5")
SETUP = """
books:
  - {name: PRIMARY, primary: true, currency: USD}
  - {name: LOCAL, currency: USD, methods: {monthly_full: ratable_daily}}
accounts: {accounts_receivable: "1200", deferred_revenue: "2400", contract_asset: "1300",
           revenue: "4000", contract_cost_asset: "1500", contract_cost_expense: "6100",
           cost_clearing: "2150"}
pob_templates:
  - {name: monthly_full, method: ratable_monthly, params: {convention: full_month},
     accounts: {revenue: "4010"}}
  - {name: daily, method: ratable_daily}
  - {name: license_pit, method: point_in_time, params: {at: start}}
  - {name: milestone_evt, method: event, events: [milestone]}
contract_policies:
  - {contract_id: C2, modification_policy: prospective}
  - {contract_id: C4, modification_policy: prospective}
  - {contract_id: C5, modification_policy: prospective}
"""
SO_COLUMNS = [*SO_HEADS, "modification_date"]
COST_HEADS = [
    "cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id", "contract_id",
    "amortization", "amortization_months", "expense_immediately",
]  # fmt: skip
EVENT_HEADS = ["so_line_id", "event_date", "percent", "event_id"]

AMOUNTS = st.integers(1, 1_000_000)  # minor units: 0.01 .. 10,000.00 (JPY: 1 .. 1,000,000)
BACK = st.integers(-3, 0)  # months from the open one: late rows up to three months back
AROUND = st.integers(-3, 2)  # ... and future rows up to two months ahead
DAYS = st.integers(1, 28)
LINE: dict[str, st.SearchStrategy[Any]] = {
    "contract": st.sampled_from(CONTRACTS),
    "currency": st.sampled_from(sorted(DECIMALS)),
    "template": st.sampled_from(["monthly_full", "daily", "license_pit", "milestone_evt"]),
    "amount": AMOUNTS,
    "start_month": st.sampled_from([0, 0, 1, 1, 2, 3, 4, 5]),  # 2024-01 .. 2024-06, early ones
    "start_day": DAYS,
    "months": st.integers(1, 14),
    "ordered": BACK,
    "ordered_day": DAYS,
}

# A closed period's rows that must never change (SPEC §7), in a stable order.
FROZEN = {
    "journal_lines": "select * from journal_lines where period = :p order by id",
    "postings": "select * from postings where period = :p order by book, line_id",
    "cost_postings": "select * from cost_postings where period = :p order by book, cost_id, kind",
    "account_balances": (
        "select * from account_balances where period = :p order by book, account, gl_code, currency"
    ),
    "journals": "select * from journals where period = :p order by book",
}


def money(amount: int, currency: str) -> str:
    digits = DECIMALS[currency]
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"


def minor(text: str, currency: str) -> int:
    return int(Decimal(text).scaleb(DECIMALS[currency]))


def ints(rows: list[tuple[object, ...]]) -> dict[tuple[object, ...], int]:
    """Rows of keys and a last, integer column as a dict (PostgreSQL sums are Decimals)."""
    return {tuple(r[:-1]): int(str(r[-1])) for r in rows}


class MonthEnd(RuleBasedStateMachine):
    """One example: a fresh database, random month-end steps, the invariants after each."""

    db_url = ""  # the test's database (for PostgreSQL: its server); set by the test
    root = Path()  # the test's tmp_path
    examples = count()

    lines = Bundle("lines")
    invoices = Bundle("invoices")
    credit_memos = Bundle("credit_memos")

    def __init__(self) -> None:
        super().__init__()
        self.number = next(self.examples)
        self.folder = self.root / f"example{self.number}"
        self.folder.mkdir()
        self.url = self._create_database()
        self.engine = db.engine(self.url)
        self.runner = CliRunner()
        self.model = Model(open_month=FIRST)
        self.seq = count(1)
        self.paused = False  # the revenue job is disabled: postings lag behind
        self.amounts: dict[str, int] = {}  # INV and CM doc_line_id -> its amount
        self.seen_files: set[bytes] = set()
        self.frozen: dict[str, dict[str, list[tuple[object, ...]]]] = {}
        self.reports: dict[str, dict[tuple[str, str], str]] = {}  # a closed period's, as JSON
        self.ok("init", "--first-period", "2024-01")
        (self.folder / "setup.yaml").write_text(SETUP)
        self.ok("setup", "load", self.folder / "setup.yaml")

    # -- the database of one example ---------------------------------------------------------

    def _create_database(self) -> str:
        if self.db_url.startswith("sqlite"):
            return f"sqlite:///{self.folder / 'revrec.db'}"
        server, base = self.db_url.rsplit("/", 1)
        name = f"{base}_{self.number}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return f"{server}/{name}"

    def teardown(self) -> None:
        try:
            if not self.paused:
                self.lines_list_is_the_model()
            verified = self.run("audit", "verify", "--format", "json")
            assert verified.exit_code == 0, verified.output
            assert json.loads(verified.stdout)["ok"] is True, verified.stdout
        finally:
            self.engine.dispose()
            gc.collect()  # the CLI's engines: their pooled connections close with them
            if not self.url.startswith("sqlite"):
                server, name = self.url.rsplit("/", 1)
                with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(self.folder, ignore_errors=True)

    def query(self, sql: str, **params: object) -> list[tuple[object, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]

    # -- the command line ---------------------------------------------------------------------

    def run(self, *args: object) -> Any:
        """A CLI call: exit 0, or 1 with a one-line RevrecError or a SystemExit."""
        result = self.runner.invoke(app, ["--db", self.url, *map(str, args)])
        if result.exit_code != 0:
            error = result.exception
            shown = "".join(traceback.format_exception(error)) if error else result.output
            assert result.exit_code == 1, (args, shown)
            assert isinstance(error, RevrecError | SystemExit), (args, shown)
            if isinstance(error, RevrecError):
                assert "\n" not in str(error), (args, str(error))
        return result

    def ok(self, *args: object) -> Any:
        result = self.run(*args)
        assert result.exit_code == 0, (args, result.output)
        return result

    # -- rows ---------------------------------------------------------------------------------

    def day(self, months: int, day: int) -> date:
        """The `day` of the month `months` from the open one (never before 2023-12)."""
        month = max(self.model.open_month + months, EARLIEST)
        return date(month // 12, month % 12 + 1, day)

    def name(self, kind: str) -> str:
        return f"r{next(self.seq):03d}_{kind}.csv"

    def import_rows(
        self, kind: str, heads: list[str], cells: list[list[object]], rows: list[Row]
    ) -> list[Row]:
        """Import one file; its summary must count each row as the model expects (processed,
        future or error)."""
        path = self.folder / rows[0].file
        write_csv(path, heads, cells)
        content = path.read_bytes()
        if content in self.seen_files:  # the same file again changes nothing (SPEC §4.5)
            self.ok(*self._import_args(kind, path))
            return rows
        self.seen_files.add(content)
        result = self.ok(*self._import_args(kind, path), "--format", "json")
        summary = json.loads(result.stdout)
        self.model.stage(rows)
        expected = {s: sum(r.status == s for r in rows) for s in ("processed", "future", "error")}
        assert {s: summary[s] for s in expected} == expected, (rows, summary, result.output)
        return rows

    @staticmethod
    def _import_args(kind: str, path: Path) -> tuple[object, ...]:
        if kind == "event":
            return ("import", "events", path, "--event", "milestone")
        return ("import", "transactions", path, "--type", kind)

    def _so_cells(
        self, line_id: str, contract: Contract, values: dict[str, Any], modified: date | None
    ) -> list[object]:
        return [
            contract.contract_id, contract.customer, f"SO-{contract.contract_id}", line_id,
            values["order_date"].isoformat(), "ITEM", values["template"],
            money(values["amount"], contract.currency), contract.currency,
            values["start"].isoformat(), (values["end"] - DAY).isoformat(),
            modified.isoformat() if modified else "",
        ]  # fmt: skip

    def _billing_cells(self, kind: str, number: int, day: date, amount: int, line: str,
                       ref: str = "") -> tuple[list[object], dict[str, object]]:  # fmt: skip
        """The cells of a billing row and the model's values of it."""
        found = self.model.lines[line]
        contract = self.model.contracts[found.contract_id]
        doc, doc_line = f"{kind}-{number}", f"{kind}-{number}-1"
        ref_doc = ref.rsplit("-", 1)[0] if ref else ""
        cells = bill(kind, doc, doc_line, day.isoformat(), money(amount, contract.currency),
                     so_line="" if ref else line, ref_number=ref_doc, ref_line=ref,
                     customer=contract.customer, currency=contract.currency)  # fmt: skip
        values = {"kind": kind, "doc_line_id": doc_line, "doc_number": doc, "line_id": line,
                  "amount": amount, "ref": ref}  # fmt: skip
        return cells, values

    def _line_of(self, doc_line: str) -> str:
        """The so_line_id of an INV or CM this machine generated (processed or not)."""
        return next(str(r.values["line_id"]) for r in self.model.rows if r.key == doc_line)

    # -- rules --------------------------------------------------------------------------------

    @initialize(target=lines, **LINE)
    def first_line(self, **line: Any) -> str:
        """Every example starts with a line, so that the rules on lines are enabled early."""
        return self.sales_order_line(**line)

    @rule(target=lines, **LINE)
    def sales_order_line(
        self,
        contract: str,
        currency: str,
        template: str,
        amount: int,
        start_month: int,
        start_day: int,
        months: int,
        ordered: int,
        ordered_day: int,
    ) -> str:
        known = self.model.contracts.get(contract)
        if known is None:  # a new contract: the line's currency; else the contract's
            policy = "prospective" if contract in PROSPECTIVE else "catch_up"
            known = Contract(contract, f"CUST-{contract}", currency, policy)
            self.model.contracts[contract] = known
        line_id = f"L{len(self.model.lines) + 1}"
        start = add_months(date(2024, 1, start_day), start_month)
        order_date = self.day(ordered, ordered_day)
        values = {"line_id": line_id, "contract_id": contract, "template": template,
                  "amount": amount, "start": start, "end": add_months(start, months),
                  "order_date": order_date}  # fmt: skip
        row = Row(self.name("so"), line_id, "sales_order", order_date, values)
        self.import_rows("sales_order", SO_COLUMNS, [self._so_cells(line_id, known, values, None)],
                         [row])  # fmt: skip
        return line_id

    @rule(line=lines, amount=AMOUNTS, modified=BACK, modified_day=DAYS)
    def modify_line(self, line: str, amount: int, modified: int, modified_day: int) -> None:
        found = self.model.lines[line]
        contract = self.model.contracts[found.contract_id]
        if amount == found.amount:
            amount += 1
        day = self.day(modified, modified_day)
        values = {"line_id": line, "template": found.template, "amount": amount,
                  "start": found.start, "end": found.end,
                  "order_date": found.order_date}  # fmt: skip
        row = Row(self.name("mod"), line, "sales_order", day, values)
        self.import_rows("sales_order", SO_COLUMNS, [self._so_cells(line, contract, values, day)],
                         [row])  # fmt: skip

    def _invoice(self, line: str, amount: int, months: int, day: int) -> tuple[list[object], Row]:
        number = next(self.seq)
        doc_date = self.day(months, day)
        cells, values = self._billing_cells("INV", number, doc_date, amount, line)
        self.amounts[str(values["doc_line_id"])] = amount
        row = Row(f"r{number:03d}_inv.csv", str(values["doc_line_id"]), "billing", doc_date, values)
        return cells, row

    @rule(target=invoices, line=lines, amount=AMOUNTS, months=AROUND, day=DAYS)
    def invoice(self, line: str, amount: int, months: int, day: int) -> str:
        cells, row = self._invoice(line, amount, months, day)
        self.import_rows("billing", BILL_HEADS, [cells], [row])
        return row.key

    def _credit(self, invoice: str, line: str, share: int, day: date) -> tuple[list[object], Row]:
        """A CM of `share` percent of the invoice (above what remains: an error row)."""
        amount = max(1, self.amounts[invoice] * share // 100)
        cells, values = self._billing_cells("CM", next(self.seq), day, amount, line, invoice)
        self.amounts[str(values["doc_line_id"])] = amount
        return cells, Row(self.name("cm"), str(values["doc_line_id"]), "billing", day, values)

    @rule(target=credit_memos, invoice=invoices, share=st.integers(1, 120), months=AROUND, day=DAYS)
    def credit_memo(self, invoice: str, share: int, months: int, day: int) -> str:
        cells, row = self._credit(invoice, self._line_of(invoice), share, self.day(months, day))
        self.import_rows("billing", BILL_HEADS, [cells], [row])
        return row.key

    @rule(
        target=credit_memos,
        line=lines,
        amount=AMOUNTS,
        share=st.integers(1, 120),
        months=AROUND,
        day=DAYS,
        later=st.integers(0, 40),
    )
    def invoice_and_credit(
        self, line: str, amount: int, share: int, months: int, day: int, later: int
    ) -> str:
        """An INV and its CM in one file, the CM dated `later` days after it (the CM first in
        the file: processing follows the accounting date, SPEC §4.5)."""
        inv_cells, inv = self._invoice(line, amount, months, day)
        cm_cells, cm = self._credit(inv.key, line, share, inv.day + DAY * later)
        cm.file = inv.file
        self.import_rows("billing", BILL_HEADS, [cm_cells, inv_cells], [cm, inv])
        return cm.key

    @rule(credit=credit_memos, months=AROUND, day=DAYS)
    def credit_cancellation(self, credit: str, months: int, day: int) -> None:
        """A CMC of the whole credit memo (a second one is refused)."""
        invoice = next(str(r.values["ref"]) for r in self.model.rows if r.key == credit)
        number = next(self.seq)
        doc_date = self.day(months, day)
        cells, values = self._billing_cells(
            "CMC", number, doc_date, self.amounts[credit], self._line_of(invoice), credit
        )
        row = Row(self.name("cmc"), str(values["doc_line_id"]), "billing", doc_date, values)
        self.import_rows("billing", BILL_HEADS, [cells], [row])

    @rule(invoice=invoices, off=st.sampled_from([0, 0, 0, 1]), months=AROUND, day=DAYS)
    def cancellation(self, invoice: str, off: int, months: int, day: int) -> None:
        """An IVC of what remains of the invoice (off by one: a partial cancellation)."""
        amount = (self.model.remaining.get(invoice) or self.amounts[invoice]) + off
        number = next(self.seq)
        doc_date = self.day(months, day)
        cells, values = self._billing_cells(
            "IVC", number, doc_date, amount, self._line_of(invoice), invoice
        )
        row = Row(self.name("ivc"), str(values["doc_line_id"]), "billing", doc_date, values)
        self.import_rows("billing", BILL_HEADS, [cells], [row])

    @rule(
        line=lines,
        contract_level=st.booleans(),
        amount=AMOUNTS,
        how=st.sampled_from(["straight_line", "follow_revenue", "expense"]),
        months=st.integers(1, 24),
        when=AROUND,
        day=DAYS,
    )
    def cost(
        self,
        line: str,
        contract_level: bool,
        amount: int,
        how: str,
        months: int,
        when: int,
        day: int,
    ) -> None:
        contract = self.model.contracts[self.model.lines[line].contract_id]
        cost_id = f"COST-{next(self.seq)}"
        cost_date = self.day(when, day)
        straight = how == "straight_line"
        cells = [
            cost_id, "commission", money(amount, contract.currency), contract.currency,
            cost_date.isoformat(), "" if contract_level else line,
            contract.contract_id if contract_level else "",
            "straight_line" if straight else "follow_revenue", months if straight else "",
            "true" if how == "expense" else "false",
        ]  # fmt: skip
        values = {"cost_id": cost_id, "contract_id": contract.contract_id,
                  "line_id": None if contract_level else line, "amount": amount,
                  "months": months if straight else None, "expense": how == "expense"}  # fmt: skip
        row = Row(self.name("cost"), cost_id, "cost", cost_date, values)
        self.import_rows("cost", COST_HEADS, [cells], [row])

    @rule(line=lines, percent=st.integers(1, 60), when=AROUND, day=DAYS)
    def milestone(self, line: str, percent: int, when: int, day: int) -> None:
        event_id = f"E-{next(self.seq)}"
        event_date = self.day(when, day)
        row = Row(self.name("event"), event_id, "event", event_date,
                  {"line_id": line, "percent": percent})  # fmt: skip
        self.import_rows(
            "event", EVENT_HEADS, [[line, event_date.isoformat(), percent, event_id]], [row]
        )

    @rule()
    def pause_or_process(self) -> None:
        """Pause the revenue job (imports then leave contracts for later), or resume it and run
        the jobs: `revrec process`."""
        if self.paused:
            self.process()
        else:
            self.ok("jobs", "disable", "revenue_process")
            self.paused = True

    def process(self) -> None:
        self.ok("jobs", "enable", "revenue_process")
        self.ok("process")
        self.paused = False
        self.lines_list_is_the_model()

    @precondition(lambda self: not self.paused)
    @rule(target=invoices, line=lines, amount=AMOUNTS, months=AROUND, day=DAYS)
    def invoice_while_approved(self, line: str, amount: int, months: int, day: int) -> str:
        """SPEC §6, decision 42: a row of the period waits while the journal is approved, and
        is processed once approval is revoked."""
        self._reconciled("PRIMARY")
        self.ok("je", "approve")
        period = period_name(self.model.open_month)
        self.kept_gl_side_is_the_lines("PRIMARY", period)
        cells, row = self._invoice(line, amount, months, day)
        path = self.folder / row.file
        write_csv(path, BILL_HEADS, [cells])
        self.seen_files.add(path.read_bytes())
        summary = json.loads(self.ok(*self._import_args("billing", path), "--format",
                                     "json").stdout)  # fmt: skip
        future = month_of(row.day) > self.model.open_month
        assert (summary["pending"], summary["future"], summary["processed"]) == (
            int(not future), int(future), 0,
        ), summary  # fmt: skip
        waiting = self.query(
            "select s.status, s.messages from stage_rows s join files f on f.file_id = "
            "s.file_id where f.name = :n",
            n=row.file,
        )
        if not future:
            assert waiting[0][0] == "pending"
            assert "the journal of PRIMARY" in str(waiting[0][1]), waiting
        self.kept_gl_side_is_the_lines("PRIMARY", period)  # the lines stayed as approved
        self.ok("je", "revoke")
        self.ok("process")
        self.model.stage([row])
        return row.key

    @rule(step=st.sampled_from(["transfer", "summarize", "revoke", "close", "approve", "show"]))
    def refused_step(self, step: str) -> None:
        """A step out of order is refused in one line, and changes nothing (SPEC §6, §7)."""
        period = period_name(self.model.open_month)
        journal = f"journal PRIMARY {period}"
        closed = sorted(self.frozen)
        refused = {
            "transfer": (("je", "transfer"), f"{journal} is draft: it must be approved"),
            "summarize": (("je", "summarize"), f"{journal} is draft: it must be transferred"),
            "revoke": (("je", "revoke"), f"{journal} is a draft: nothing to revoke"),
            "close": (("period", "close", "--yes"), f"period {period} cannot be closed: "),
            "approve": (("je", "approve"), f"{journal} cannot be approved: "),
            "show": (("je", "show", "--period", "2031-01"), "period 2031-01 does not exist"),
        }
        if step == "revoke" and closed:
            refused["revoke"] = (
                ("je", "revoke", "--period", closed[-1]),
                f"period {closed[-1]} is closed: its journal never changes",
            )
        waiting = self.query(
            "select (select count(*) from dirty_lines) + (select count(*) from settings "
            "where key = 'every_line_touched')"
        ) != [(0,)]
        if step == "approve" and not waiting:
            return  # it would pass: the reconciliation is refused only while contracts wait
        args, message = refused[step]
        result = self.run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert isinstance(result.exception, RevrecError), (args, result.output)
        assert str(result.exception).startswith(message), (args, str(result.exception))

    def _reconciled(self, book: str) -> None:
        out = self.ok("--book", book, "report", "reconcile", "--format", "json").stdout
        found = json.loads(out)
        assert found["pass"] is True, found
        assert found["period"] == period_name(self.model.open_month), found

    @precondition(lambda self: self.model.open_month < LAST_OPEN)
    @rule()
    def month_end(self) -> None:
        if self.paused:
            self.process()
        else:
            self.lines_list_is_the_model()
        period = period_name(self.model.open_month)
        for book in BOOKS:
            self._reconciled(book)
            self.ok("--book", book, "je", "approve")
            self.ok("--book", book, "je", "transfer", "--output", self.folder / "gl")
            self.ok("--book", book, "je", "summarize")
            self.kept_gl_side_is_the_lines(book, period, checks=True)  # what the close takes
        self._check_summarized(period)
        self.frozen[period] = {name: self.query(sql, p=period) for name, sql in FROZEN.items()}
        closed = self.ok("period", "close", "--yes", "--acknowledge-errors")
        assert f"period {period} closed" in closed.stdout, closed.output
        self.model.open_next()
        for earlier, shown in self.reports.items():  # after every later input: to the byte
            assert self._reports_of(earlier) == shown, earlier
        self.reports[period] = self._reports_of(period)

    def _reports_of(self, period: str) -> dict[tuple[str, str], str]:
        args = ("--period", period, "--format", "json")
        return {
            (book, name): self.ok("--book", book, "report", name, *args).stdout
            for book in BOOKS
            for name in ("waterfall", "liability", "asset", "insight")
        }

    def _check_summarized(self, period: str) -> None:
        """The trial balance holds each account's movement in the period and its balance
        through it; the GL export's summary file is the one recorded, by SHA-256."""
        for book in BOOKS:
            stored = self.query(
                "select account, gl_code, currency, debit, credit, balance from "
                "account_balances where book = :b and period = :p",
                b=book,
                p=period,
            )
            moved = self.query(
                "select account, coalesce(gl_code, ''), currency, "
                "sum(case when period = :p then debit else 0 end), "
                "sum(case when period = :p then credit else 0 end), sum(debit) - sum(credit) "
                "from journal_lines where book = :b and period <= :p "
                "group by account, coalesce(gl_code, ''), currency",
                b=book,
                p=period,
            )

            def typed(rows: list[tuple[object, ...]]) -> set[tuple[object, ...]]:
                return {(*r[:3], *(int(str(v)) for v in r[3:])) for r in rows}

            assert typed(stored) == typed(moved), book
            ((file, sha),) = self.query(
                "select summary_file, summary_sha256 from journals where book = :b and period = :p",
                b=book,
                p=period,
            )
            assert hashlib.sha256(Path(str(file)).read_bytes()).hexdigest() == sha

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def month_end_invariants(self) -> None:
        self.journals_balance_per_currency()
        self.closed_periods_never_change()
        self.stage_rows_as_the_model_says()
        for book in BOOKS:
            for period in [*self.frozen, period_name(self.model.open_month)]:
                self.kept_gl_side_is_the_lines(book, period)
        if self.paused:  # postings, journal lines and cost postings wait for the revenue job
            return
        self.subledger_is_the_model()
        for book in BOOKS:
            self.general_ledger_is_the_subledger(book)
            self.journal_is_its_sources(book)
            self.balances_from_the_last_trial_balance_are_the_lines(book)

    def journals_balance_per_currency(self) -> None:
        unbalanced = self.query(
            "select book, period, currency, sum(debit), sum(credit) from journal_lines "
            "group by book, period, currency having sum(debit) <> sum(credit)"
        )
        assert unbalanced == []

    def closed_periods_never_change(self) -> None:
        for period, snapshot in self.frozen.items():
            for name, sql in FROZEN.items():
                assert self.query(sql, p=period) == snapshot[name], (period, name)
        status = {(b, p): s for b, p, s in self.query("select book, period, status from periods")}
        for book in BOOKS:
            for period in self.frozen:
                assert status[book, period] == "closed"
            assert status[book, period_name(self.model.open_month)] == "open"

    def stage_rows_as_the_model_says(self) -> None:
        found = self.query(
            "select f.name, s.key, s.status from stage_rows s join files f on f.file_id = s.file_id"
        )
        assert {(n, k): s for n, k, s in found} == {
            (r.file, r.key): r.status for r in self.model.rows
        }

    def subledger_is_the_model(self) -> None:
        """Invariant 3: postings, cost postings and billings."""
        model, open_name = self.model, period_name(self.model.open_month)
        assert self.query("select count(*) from postings where period > :p", p=open_name) == [(0,)]
        posted = ints(self.query("select book, line_id, sum(amount) from postings group by 1, 2"))
        expected = {
            (book, line): model.recognized(book, line) for book in BOOKS for line in model.lines
        }
        assert {k: v for k, v in posted.items() if v} == {k: v for k, v in expected.items() if v}
        costs = ints(
            self.query(
                "select book, cost_id, kind, sum(amount) from cost_postings group by 1, 2, 3"
            )
        )
        assert {k: v for k, v in costs.items() if v} == {
            (book, cost.cost_id, kind): amount
            for book in BOOKS
            for cost in model.costs.values()
            for kind, amount in model.cost_through(book, cost).items()
            if amount
        }
        whole = self.query(
            "select book, cost_id, period from cost_postings where kind <> 'amortize'"
        )
        assert all(period_name(model.costs[str(c)].period) == p for _, c, p in whole), whole
        billings = self.query("select doc_line_id, doc_type, line_id, amount, period from billings")
        assert {(d, t, ln, int(str(a)), p) for d, t, ln, a, p in billings} == {
            (d.doc_line_id, d.kind, d.line_id, d.signed, period_name(d.period))
            for d in model.documents.values()
        }

    def kept_gl_side_is_the_lines(self, book: str, period: str, *, checks: bool = False) -> None:
        """Decision 94: while a journal is approved or further, the GL side approve kept (the
        account balances, the period's totals per currency, the lines without a GL code; once
        summarized, from the stored trial balance) is the one read afresh from the lines, and
        so are the checks made with it (`checks`: compared too); a draft keeps none."""
        with self.engine.connect() as conn:
            state = journal_store.card(conn, book, period)["state"]
            kept = reconcile.kept_ledger(conn, book, period)
            if state == "draft":
                assert kept is None, (book, period)
                document = journal_store.figures(conn, book, period)
                assert document is None or "gl" not in json.loads(document[0]), (book, period)
                return
            assert kept is not None, (book, period, state)
            fresh = reconcile.Ledger(  # each read on its own, as before decision 94
                journal_store.account_balances(conn, book, period),
                journal_store.totals(conn, book, period),
                journal_store.missing_gl_codes(conn, book, period),
            )
            keys = ["account", "gl_code", "currency"]
            assert kept.balances.sort(keys).equals(fresh.balances.sort(keys)), (book, period)
            assert (kept.totals, kept.missing) == (fresh.totals, fresh.missing), (book, period)
            if checks:
                assert reconcile.checks(conn, book, period) == reconcile.checks(
                    conn, book, period, ledger=fresh
                ), (book, period)

    def balances_from_the_last_trial_balance_are_the_lines(self, book: str) -> None:
        """The month-end's account balances (the last closed trial balance plus the lines
        after it) are those summed from every line, in the open and each closed period."""
        with self.engine.connect() as conn:
            for period in [*self.frozen, period_name(self.model.open_month)]:
                found = journal_store.account_balances(conn, book, period)
                assert found.equals(
                    journal_store.account_balances(conn, book, period, from_lines=True)
                ), (book, period)

    def general_ledger_is_the_subledger(self, book: str) -> None:
        """Invariant 4 per contract: the GL through the open period is the §5.1 position."""
        model = self.model
        gl = ints(
            self.query(
                "select contract_id, account, sum(debit) - sum(credit) from journal_lines "
                "where book = :b group by contract_id, account",
                b=book,
            )
        )
        for contract in model.contracts.values():
            billed, recognized = model.contract_totals(book, contract.contract_id)
            through = [
                model.cost_through(book, c)
                for c in model.costs.values()
                if c.contract_id == contract.contract_id
            ]
            net = {
                account: gl.get((contract.contract_id, account), 0)
                for account in ("deferred_revenue", "contract_asset", "accounts_receivable",
                                "revenue", "contract_cost_asset")
            }  # fmt: skip
            assert net == {
                "deferred_revenue": -max(billed - recognized, 0),
                "contract_asset": max(recognized - billed, 0),
                "accounts_receivable": billed,
                "revenue": -recognized,
                "contract_cost_asset": sum(
                    t.get("capitalize", 0) - t.get("amortize", 0) for t in through
                ),
            }, (book, contract.contract_id)

    def journal_is_its_sources(self, book: str) -> None:
        """Each period's revenue lines are its postings, its billing lines its billings (by
        accounting period) and its cost lines its cost postings."""
        revenue = self.query(
            "select period, line_id, sum(credit) - sum(debit) from journal_lines where "
            "book = :b and source = 'revenue' and account = 'revenue' group by 1, 2",
            b=book,
        )
        postings = self.query(
            "select period, line_id, amount from postings where book = :b", b=book
        )
        assert {k: v for k, v in ints(revenue).items() if v} == {
            k: v for k, v in ints(postings).items() if v
        }
        billing = self.query(
            "select period, line_id, sum(debit) - sum(credit) from journal_lines where "
            "book = :b and source = 'billing' and account = 'accounts_receivable' group by 1, 2",
            b=book,
        )
        billed = self.query("select period, line_id, sum(amount) from billings group by 1, 2")
        assert {k: v for k, v in ints(billing).items() if v} == {
            k: v for k, v in ints(billed).items() if v
        }
        cost_lines = self.query(
            "select period, source_id, case when source = 'amortization' then 'amortize' "
            "when account = 'contract_cost_asset' then 'capitalize' else 'expense' end, "
            "sum(debit) - sum(credit) from journal_lines where book = :b and "
            "source in ('cost', 'amortization') and (account = 'contract_cost_expense' or "
            "(source = 'cost' and account = 'contract_cost_asset')) group by 1, 2, 3",
            b=book,
        )
        cost_postings = self.query(
            "select period, cost_id, kind, amount from cost_postings where book = :b", b=book
        )
        assert {k: v for k, v in ints(cost_lines).items() if v} == {
            k: v for k, v in ints(cost_postings).items() if v
        }

    def lines_list_is_the_model(self) -> None:
        """The lines list of each book against the model, and invariant 4 as the issue words it:
        GL deferred_revenue and contract_asset per currency against the list's billed and
        recognized summed per contract."""
        model = self.model
        for book in BOOKS:
            out = self.ok("--book", book, "lines", "list", "--format", "json").stdout
            listed = {r["line_id"]: r for r in json.loads(out)["rows"]}
            assert set(listed) == set(model.lines)
            per_contract: dict[tuple[str, str], tuple[int, int]] = {}
            for line_id, row in listed.items():
                line = model.lines[line_id]
                currency = model.contracts[line.contract_id].currency
                shown = (row["contract_id"], row["currency"], row["version"],
                         minor(row["allocated"], currency), minor(row["billed"], currency),
                         minor(row["recognized"], currency))  # fmt: skip
                assert shown == (
                    line.contract_id, currency, len(line.versions), line.amount,
                    model.billed(line_id), model.recognized(book, line_id),
                ), (book, line_id)  # fmt: skip
                billed, recognized = per_contract.get((line.contract_id, currency), (0, 0))
                per_contract[line.contract_id, currency] = (
                    billed + shown[4],
                    recognized + shown[5],
                )
            expected: dict[tuple[object, ...], int] = {}
            for (_, currency), (billed, recognized) in per_contract.items():
                for account, value in (
                    ("deferred_revenue", max(billed - recognized, 0)),
                    ("contract_asset", max(recognized - billed, 0)),
                ):
                    expected[account, currency] = expected.get((account, currency), 0) + value
            found = ints(
                self.query(
                    "select account, currency, sum(case when account = 'deferred_revenue' "
                    "then credit - debit else debit - credit end) from journal_lines "
                    "where book = :b and account in ('deferred_revenue', 'contract_asset') "
                    "group by account, currency",
                    b=book,
                )
            )
            assert {k: v for k, v in found.items() if v} == {
                k: v for k, v in expected.items() if v
            }, book


@pytest.fixture
def backend(db_url):
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"


def test_the_month_end_as_a_state_machine(db_url, backend, tmp_path):
    machine = type("MonthEndMachine", (MonthEnd,), {"db_url": db_url, "root": tmp_path})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES[backend],
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )


# -- defects the machine found, each reproduced on its own -----------------------------------

EVENT_SETUP = """
books:
  - {name: PRIMARY, primary: true, currency: USD}
accounts: {accounts_receivable: "1200", deferred_revenue: "2400", contract_asset: "1300",
           revenue: "4000", contract_cost_asset: "1500", contract_cost_expense: "6100",
           cost_clearing: "2150"}
pob_templates:
  - {name: milestone_evt, method: event, events: [milestone]}
"""


def _event_line_with_a_cost(cli, tmp_path, amount="1000.00"):
    """L1: 1,000.00 (or `amount`) released by milestones; COST-1: 100.00 following L1's
    revenue."""
    cli("init", "--first-period", "2024-01")
    (tmp_path / "setup.yaml").write_text(EVENT_SETUP)
    cli("setup", "load", tmp_path / "setup.yaml")
    line = so("L1", amount, template="milestone_evt", start="2024-01-01", end="2024-12-31")
    orders = write_csv(tmp_path / "so.csv", SO_HEADS, [line])
    cli("import", "transactions", orders, "--type", "sales_order")
    costs = write_csv(tmp_path / "cost.csv", COST_HEADS, [
        ["COST-1", "commission", "100.00", "USD", "2024-01-10", "L1", "", "follow_revenue", "",
         "false"]])  # fmt: skip
    return cli("import", "transactions", costs, "--type", "cost")


def test_a_cost_following_an_event_line_is_amortized_as_its_revenue_is_released(cli, tmp_path):
    imported = _event_line_with_a_cost(cli, tmp_path)
    # Nothing released yet: nothing amortized yet, and nothing to report.
    assert "COST-1" not in imported.output
    assert query(cli.url, "select kind, amount from cost_postings order by kind") == [
        ("capitalize", 10_000)
    ]
    events = tmp_path / "release.csv"
    events.write_text("so_line_id,event_date,percent,event_id\nL1,2024-01-15,10,E1\n")
    cli("import", "events", events, "--event", "milestone")
    assert query(cli.url, "select amount from postings") == [(10_000,)]  # 10% of 1,000.00
    # Following the revenue pattern: 100.00 x 100.00 / 1,000.00 = 10.00 amortized.
    assert query(cli.url, "select kind, amount from cost_postings order by kind") == [
        ("amortize", 1_000),
        ("capitalize", 10_000),
    ]


def test_a_cost_finding_names_its_cost_once(cli, tmp_path):
    # A line allocated 0.00 will recognize nothing: the cost has nothing to follow.
    imported = _event_line_with_a_cost(cli, tmp_path, amount="0.00")
    assert "cost COST-1: its line has no revenue schedule in book PRIMARY" in imported.output
    assert "cost COST-1: cost COST-1:" not in imported.output
    assert query(cli.url, "select kind, amount from cost_postings order by kind") == [
        ("amortize", 10_000),
        ("capitalize", 10_000),
    ]


MONTHLY_SETUP = (
    PRIMARY_BOOK
    + """
pob_templates:
  - {name: monthly_full, method: ratable_monthly, params: {convention: full_month}}
"""
)


def test_a_prospective_modification_keeps_what_a_catch_up_one_recognized(cli, tmp_path):
    """L1 1,200.00 over 2024 (full months). February: 2,400.00 with catch-up (through February
    400.00). March: 3,600.00 prospective from 2024-03-01: the 400.00 recognized stays and the
    remaining 3,200.00 is spread over March..December, 320.00 a month (SPEC §3)."""
    start(cli, tmp_path, MONTHLY_SETUP)
    heads = [*SO_HEADS, "modification_date", "modification_policy"]
    base = so("L1", "1200.00", template="monthly_full", start="2024-01-01", end="2024-12-31")
    versions = [
        ("1200.00", "", "catch_up"),
        ("2400.00", "2024-02-01", "catch_up"),
        ("3600.00", "2024-03-01", "prospective"),
    ]
    for number, (amount, modified, policy) in enumerate(versions):
        row = [*base[:7], amount, *base[8:], modified, policy]
        orders = write_csv(tmp_path / f"so{number}.csv", heads, [row])
        cli("import", "transactions", orders, "--type", "sales_order")
        if number < 2:
            month_end(cli, tmp_path)
    assert query(cli.url, "select period, amount from postings order by period") == [
        ("2024-01", 10_000),
        ("2024-02", 30_000),  # the catch-up: 2,400.00 x 2/12 - 100.00
        ("2024-03", 32_000),
    ]
