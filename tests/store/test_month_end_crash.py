"""Crash and concurrency of the month-end steps (SPEC §6, §7; decisions 41, 44, 46), on SQLite and
PostgreSQL.

A child process running `je approve`, `je transfer`, `je summarize` or `period close` is killed
with SIGKILL at a random point, KILLS_PER_STEP times per step and database: afterwards the step
took effect whole or not at all (the journal card in its before- or after-state, the stored
balances there iff summarized, a transferred card's GL files on disk with the SHA-256
recorded, a close's periods moved in every book together), every book has exactly one open
period, and re-running the step ends with the journals of an uninterrupted run. Two processes
closing, or approving, the same period at the same moment: one succeeds, the other is told so
in one line, and nothing is duplicated.

The children are forked by month_end_crash_child.py, which notes where each one is (a
transaction begun, a write, a commit, the connection returned after it) in a file that survives
the kill; the kill is then classed as `before` the step's transaction, `mid` (inside it),
`commit` (in the commit call), `after` (committed; the command had not finished) or `exited`
(the command had finished). Two kills in five are spread over an uninterrupted run's time from
the command's start, three land within the step's transaction, timed from its begin. The
product has no pause to inject, so it is timing only: the kills of each class are counted and
printed.

To have the two processes of a race inside the step's transaction together, the test holds a
lock that the first one's write waits for (on PostgreSQL the period's row, or the audit log's
advisory lock that every audited step takes before it commits; on SQLite the write lock) until
the server shows both waiting, then lets go; the close is raced without a lock too. The
interleaving that two closes started together often had (one reads that January is open, the
other closes January, the first reads the rest of its checklist) is made certain by running
the first close in this process and starting the other from within its checklist.

The portfolio (USD), books PRIMARY and LOCAL (LOCAL recognizes the license monthly), as in
test_month_end.py, with INV-3 dated 2024-02-01: a future row that the close releases and its
jobs process.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import random
import signal
import sqlite3
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from children import Children, run_request
from helpers import BILL_HEADS, SO_HEADS, bill, so, write_csv

from revrec.store import db
from revrec.store.audit import LOCK_KEY

PG = os.environ.get("REVREC_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
CHILD = Path(__file__).with_name("month_end_crash_child.py")
KILLS_PER_STEP = 5  # 20 kills per database
FIRST, NEXT = "2024-01", "2024-02"
SETUP = """
books:
  - {name: PRIMARY, primary: true, currency: USD}
  - {name: LOCAL, currency: USD, methods: {license_pit: ratable_monthly}}
accounts: {accounts_receivable: "1200", deferred_revenue: "2400", contract_asset: "1300",
           revenue: "4000", contract_cost_asset: "1500", contract_cost_expense: "6100",
           cost_clearing: "2150"}
pob_templates:
  - {name: license_pit, method: point_in_time, params: {at: start}}
  - {name: support_full, method: ratable_monthly, params: {convention: full_month},
     accounts: {revenue: "4010"}}
"""
COST_HEADS = [
    "cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id", "contract_id",
    "amortization", "amortization_months", "expense_immediately",
]  # fmt: skip


def _transfer(book):
    return lambda gl: ["--book", book, "je", "transfer", "--output", str(gl)]


# The month-end of January as an uninterrupted run does it; the steps named are the ones killed
# (and raced), each from the state just before it.
CHAIN = [
    ("approve", lambda _gl: ["je", "approve"]),
    (None, lambda _gl: ["--book", "LOCAL", "je", "approve"]),
    ("transfer", _transfer("LOCAL")),
    (None, _transfer("PRIMARY")),
    ("summarize", lambda _gl: ["je", "summarize"]),
    (None, lambda _gl: ["--book", "LOCAL", "je", "summarize"]),
    ("close", lambda _gl: ["period", "close", "--yes"]),
]
# The journal a step moves and the state it moves it to (the close moves the periods).
MOVES = {
    "approve": ("PRIMARY", "approved"),
    "transfer": ("LOCAL", "transferred"),
    "summarize": ("PRIMARY", "summarized"),
}
# What the comparisons read: everything a month-end step or its re-run may change, without
# timestamps, ids, or the folder of the GL files (their names and SHA-256 are compared).
QUERIES = {
    "journal_lines": "select book, period, account, gl_code, currency, debit, credit, "
    "contract_id, line_id, source, source_id from journal_lines",
    "journals": "select book, period, state, summary_file, summary_sha256, detail_file, "
    "detail_sha256 from journals",
    "account_balances": "select book, period, account, gl_code, currency, debit, credit, "
    "balance from account_balances",
    "periods": "select book, period, status from periods",
    "postings": "select book, line_id, period, amount from postings",
    "cost_postings": "select book, cost_id, period, kind, amount from cost_postings",
    "stage_rows": "select row_id, status from stage_rows",
    "dirty_lines": "select line_id from dirty_lines",
    "every_line_touched": "select key from settings where key = 'every_line_touched'",
}
AUDIT = "select action, entity from audit_log order by id"


# ----------------------------------------------------------------------------------------------
# The store


def _load(cli, folder):
    cli("init", "--first-period", FIRST)
    (folder / "setup.yaml").write_text(SETUP)
    cli("setup", "load", folder / "setup.yaml")
    sales = [
        so("L1", "1200.00", contract="C1", template="license_pit", start="2024-01-01",
           end="2024-12-31"),
        so("L2", "1200.00", contract="C1", template="support_full", start="2024-01-01",
           end="2024-12-31"),
        so("L3", "600.00", contract="C2", template="support_full", start="2024-01-01",
           end="2024-06-30"),
    ]  # fmt: skip
    billings = [
        bill("INV", "INV-1", "INV-1-1", "2024-01-05", "1200.00", so_line="L1"),
        bill("INV", "INV-2", "INV-2-1", "2024-01-05", "300.00", so_line="L2"),
        bill("INV", "INV-3", "INV-3-1", "2024-02-01", "300.00", so_line="L2"),
        bill("INV", "INV-4", "INV-4-1", "2024-03-31", "300.00", so_line="L3"),
    ]
    costs = [["COST-1", "commission", "120.00", "USD", "2024-01-10", "L2", "", "straight_line",
              "12", "false"]]  # fmt: skip
    for name, heads, rows, kind in (
        ("so.csv", SO_HEADS, sales, "sales_order"),
        ("bill.csv", BILL_HEADS, billings, "billing"),
        ("cost.csv", COST_HEADS, costs, "cost"),
    ):
        cli("import", "transactions", write_csv(folder / name, heads, rows), "--type", kind)
    cli("process")


def _rows(url, queries):
    engine = db.engine(url)
    try:
        with engine.connect() as conn:
            return {name: [tuple(r) for r in conn.execute(sa.text(sql))] for name, sql in queries}
    finally:
        engine.dispose()


def _state(url):
    """The store as the comparisons see it: every table of QUERIES as a sorted list of rows, the
    GL files by name, and the audit log's entries (action, entity) in order."""
    found = _rows(url, [*QUERIES.items(), ("audit", AUDIT)])
    state = {name: sorted(rows, key=repr) for name, rows in found.items() if name != "audit"}
    state["journals"] = [
        (book, period, card, _name(summary), summary_sha, _name(detail), detail_sha)
        for book, period, card, summary, summary_sha, detail, detail_sha in state["journals"]
    ]
    state["audit"] = found["audit"]
    return state


def _name(path):
    return None if path is None else Path(path).name


def _journal_tables(state):
    """The state without the audit log (which a re-run after a crash may lengthen by its own
    job runs)."""
    return {name: rows for name, rows in state.items() if name != "audit"}


def _open_periods(state):
    books = sorted({book for book, _, _ in state["periods"]})
    return {b: [p for book, p, s in state["periods"] if book == b and s == "open"] for b in books}


def _gl_problems(url):
    """What is wrong with the GL files of the transferred (or summarized) journals: a file
    missing, or not the one whose SHA-256 the card records."""
    cards = _rows(url, [("cards", QUERIES["journals"])])["cards"]
    problems = []
    for book, period, card, *files in cards:
        if card not in ("transferred", "summarized"):
            continue
        for path, sha in ((files[0], files[1]), (files[2], files[3])):
            if path is None or not Path(path).exists():
                problems.append(f"{book} {period} {card}: {path} is missing")
            elif hashlib.sha256(Path(path).read_bytes()).hexdigest() != sha:
                problems.append(f"{book} {period} {card}: {path} is not the file recorded")
    return problems


class Copies:
    """Frozen copies (snapshots) of the store, and working copies made from them: a SQLite
    file copied with SQLite's backup, a PostgreSQL database created from a template."""

    def __init__(self, kind, url, folder):
        self.kind, self.url, self.folder = kind, url, folder
        self.made = []
        if kind == "postgresql":
            self.admin = psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=5)
            self.base = url.rsplit("/", 1)[1]

    def snapshot(self, name):
        """A frozen copy of the store as it is now (never connected to: a template)."""
        if self.kind == "sqlite":
            return self._sqlite(self.url, f"snapshot-{name}")
        # The in-process commands leave pooled connections behind: a template has none.
        self.admin.execute(
            "select pg_terminate_backend(pid, 10000) from pg_stat_activity "
            "where datname = %s and pid <> pg_backend_pid()",
            (self.base,),
        )
        return self._template(self.base, f"s_{name}")

    def copy(self, snapshot, name):
        """A new working copy of a snapshot: its URL."""
        if self.kind == "sqlite":
            return self._sqlite(snapshot, name)
        return self._template(snapshot.rsplit("/", 1)[1], name)

    def drop(self, url):
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        else:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        self.made.remove(url)

    def close(self):
        for url in list(self.made):
            self.drop(url)
        if self.kind == "postgresql":
            self.admin.close()

    def _sqlite(self, source_url, name):
        target = self.folder / f"{name}.db"
        with (
            contextlib.closing(sqlite3.connect(source_url.removeprefix("sqlite:///"))) as source,
            contextlib.closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
        self.made.append(f"sqlite:///{target}")
        return self.made[-1]

    def _template(self, template, name):
        database = f"{self.base}_{name}"
        self.admin.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        self.made.append(f"{PG}/{database}")
        return self.made[-1]


# ----------------------------------------------------------------------------------------------
# Child processes


def _marks(run):
    path = Path(run["marks"])
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        kind, _, at = line.partition(" ")
        if at:
            found.append((kind, float(at)))
    return found


def _await(run, done, timeout=30, *, required=True):
    """The child's marks once `done(kinds)` holds, or once it has exited (or, unless
    `required`, once `timeout` seconds have passed)."""
    deadline = time.monotonic() + timeout
    while True:
        marks = _marks(run)
        kinds = [kind for kind, _ in marks]
        if done(kinds) or "exit" in kinds:
            return marks
        if time.monotonic() > deadline:
            if not required:
                return marks
            raise AssertionError(f"the child never got there: {kinds}")
        time.sleep(0.0005)


def _committed(kinds):
    """Whether the command's first transaction to commit has (the connection returned after
    it)."""
    return "commit" in kinds and "checkin" in kinds[kinds.index("commit") :]


@dataclass(frozen=True)
class Timeline:
    """Where a step's transaction is in an uninterrupted run of its command: the how-manyth
    transaction it is, and seconds from the command's start to its begin, its duration (to
    the connection's return after the commit) and the command's whole run."""

    begins: int
    start: float
    transaction: float
    end: float


def _timeline(marks):
    kinds = [kind for kind, _ in marks]
    at = [moment for _, moment in marks]
    go = at[kinds.index("go")]
    commit = kinds.index("commit")
    begin = max(i for i in range(commit) if kinds[i] == "begin")
    done = kinds.index("checkin", commit)
    return Timeline(
        begins=kinds[: begin + 1].count("begin"),
        start=at[begin] - go,
        transaction=at[done] - at[begin],
        end=at[kinds.index("exit")] - go,
    )


def _where(marks, status, timeline):
    """Where in the step the kill landed."""
    if status != -signal.SIGKILL:
        assert status == 0, status
        return "exited"
    kinds = [kind for kind, _ in marks]
    if kinds.count("begin") < timeline.begins:
        return "before"
    if "commit" not in kinds:
        return "mid"
    if "checkin" not in kinds[kinds.index("commit") :]:
        return "commit"
    return "after"


# ----------------------------------------------------------------------------------------------
# The month-end, built once per database


@dataclass
class Step:
    name: str
    args: Any  # the command's arguments given the GL export folder
    snapshot: str
    before: dict
    after: dict
    timeline: Timeline | None = None


@dataclass
class World:
    kind: str
    copies: Copies
    steps: dict[str, Step] = field(default_factory=dict)


@pytest.fixture(scope="module")
def children(tmp_path_factory):
    started = Children(tmp_path_factory.mktemp("children"))
    yield started
    started.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory, children):
    """The store, its January month-end run uninterrupted (each killed step's before- and
    after-state, and a snapshot before it), and where each step's transaction is in time."""
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'revrec.db'}"
    else:
        try:
            admin = psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as error:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is unreachable at {PG} and CI is set: {error}")
            pytest.skip(f"PostgreSQL is unreachable at {PG}")
        name = f"revrec_test_{uuid.uuid4().hex[:12]}"
        with admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG}/{name}"
    cli = _runner(url)
    made = World(request.param, Copies(request.param, url, folder))
    try:
        _load(cli, folder)
        for name, args in CHAIN:
            if name is not None:
                before, snapshot = _state(url), made.copies.snapshot(name)
            cli(*args(folder / "gl-reference"))
            if name is not None:
                made.steps[name] = Step(name, args, snapshot, before, _state(url))
        assert all(step.before != step.after for step in made.steps.values())
        closed = made.steps["close"].after
        assert _open_periods(closed) == {"LOCAL": [NEXT], "PRIMARY": [NEXT]}
        # The close's jobs processed February: INV-3 released and posted, revenue recognized.
        assert {(r[0], r[9]) for r in closed["journal_lines"] if r[1] == NEXT} == {
            (book, source) for book in ("PRIMARY", "LOCAL") for source in
            ("billing", "revenue", "reclass", "amortization")
        }  # fmt: skip
        for step in made.steps.values():
            # An uninterrupted child run from the snapshot ends where the run above did.
            copy = made.copies.copy(step.snapshot, f"reference_{step.name}")
            run = run_request(
                folder, f"reference-{step.name}", copy, step.args(folder / "gl-child")
            )
            children.start([run])
            assert children.wait() == [0], Path(run["err"]).read_text()
            assert _state(copy) == step.after, step.name
            step.timeline = _timeline(_marks(run))
            made.copies.drop(copy)
        yield made
    finally:
        made.copies.close()
        if request.param == "postgresql":
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _runner(url):
    from typer.testing import CliRunner  # noqa: PLC0415

    from revrec.cli.main import app  # noqa: PLC0415

    runner = CliRunner()

    def cli(*args, ok=True):
        result = runner.invoke(app, ["--db", url, *map(str, args)])
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return cli


# ----------------------------------------------------------------------------------------------
# Kills


def _took_effect(step, state):
    """Whether the killed step took effect; it must have done so whole or not at all."""
    if state == step.before:
        return False
    if step.name != "close":
        assert state == step.after, "the step took effect in part"
        return True
    # The close's transaction committed: every book's period moved, January's journals as they
    # were, one audit entry; the jobs that follow in their own transactions may not have run.
    assert state["periods"] == step.after["periods"], "the close moved some books only"
    for name in ("journals", "account_balances"):
        assert state[name] == step.before[name], name
    assert [r for r in state["journal_lines"] if r[1] == FIRST] == [
        r for r in step.before["journal_lines"] if r[1] == FIRST
    ]
    assert [action for action, _ in state["audit"]].count("period.close") == 1
    return True


def _rerun(step, cli, folder, took):
    """Run the step again to completion, as a user would after the crash."""
    args = step.args(folder / "gl")
    if not took:
        cli(*args)
        return
    again = cli(*args, ok=False)
    assert again.exit_code == 1, again.output
    if step.name == "close":
        # January is closed: a second close is about February, which is not ready; the jobs
        # the killed close did not finish are what `revrec process` runs.
        assert str(again.exception).startswith(f"period {NEXT} cannot be closed: ")
        cli("process")
    else:
        book, state = MOVES[step.name]
        assert f"journal {book} {FIRST} is {state}" in str(again.exception)


def test_a_kill_at_any_point_of_a_step_leaves_it_whole_or_undone(world, children, tmp_path):
    counts = {name: Counter() for name in world.steps}
    outcomes = Counter()
    for step in world.steps.values():
        assert step.timeline is not None
        rng = random.Random(f"{world.kind}:{step.name}")  # noqa: S311 - not for security
        for trial in range(KILLS_PER_STEP):
            aimed = trial % 2 == 0
            if aimed:  # within the step's transaction, timed from its begin
                delay = rng.uniform(0, 1.5 * step.timeline.transaction)
            else:  # anywhere in the command's run
                delay = rng.uniform(0, 1.15 * step.timeline.end)
            folder = tmp_path / f"{step.name}-{trial}"
            folder.mkdir()
            url = world.copies.copy(step.snapshot, f"{step.name}{trial}")
            run = run_request(folder, "killed", url, step.args(folder / "gl"))
            (pid,) = children.start([run])
            go = dict(_await(run, lambda kinds: "go" in kinds))["go"]
            if aimed:
                _await(run, lambda kinds, n=step.timeline.begins: kinds.count("begin") >= n)
                time.sleep(delay)
            else:
                time.sleep(max(0.0, go + delay - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            (status,) = children.wait()
            where = _where(_marks(run), status, step.timeline)
            label = (
                f"{world.kind} {step.name} kill {trial} ({where}, {delay * 1000:.0f} ms); "
                f"its stderr: {Path(run['err']).read_text()[-3000:]}"
            )
            counts[step.name][where] += 1

            state = _state(url)
            took = _took_effect(step, state)
            if where in ("before", "mid"):  # killed before its commit: nothing of it is left
                assert not took, label
            elif where in ("after", "exited"):  # killed once its commit was done: all of it
                assert took, label
            outcomes["whole" if took else "not at all"] += 1
            if where == "mid" and step.name == "transfer" and any((folder / "gl").glob("*")):
                counts[step.name]["mid, GL files on disk"] += 1
            assert all(len(found) == 1 for found in _open_periods(state).values()), label
            assert _gl_problems(url) == [], label
            cli = _runner(url)
            cli("audit", "verify")
            if world.kind == "sqlite":
                with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
                    assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]

            _rerun(step, cli, folder, took)
            final = _state(url)
            if step.name == "close":
                assert _journal_tables(final) == _journal_tables(step.after), label
                actions = [action for action, _ in final["audit"]]
                assert actions.count("period.close") == 1, label
            else:
                assert final == step.after, label
            assert _gl_problems(url) == [], label
            world.copies.drop(url)
    kills = sum(sum(c[w] for w in ("before", "mid", "commit", "after", "exited"))
                for c in counts.values())  # fmt: skip
    print(f"\n{world.kind}: {kills} kills, {dict(outcomes)}")
    for name, found in counts.items():
        print(f"  {name}: {dict(sorted(found.items()))}")
    assert kills >= 20
    assert sum(c["mid"] for c in counts.values()) > 0
    assert set(outcomes) == {"whole", "not at all"}


# ----------------------------------------------------------------------------------------------
# Races

# What the loser of a race may be told (one line each): that another run got there first, that
# another run is busy, or, when it came after the winner, that the period now open (February)
# cannot be closed yet. "period 2024-01 cannot be closed: ..." is not among them: January was
# closed, by the other run.
CLOSE_REFUSALS = (
    f"error: period {FIRST} of book PRIMARY was closed by another run",
    f"error: period {NEXT} cannot be closed: ",
    "error: period close: another run is processing",
)
APPROVE_REFUSALS = (
    f"error: journal PRIMARY {FIRST} is approved",  # ": another run moved it first"
    "error: je approve: another run is processing",
)


@contextlib.contextmanager
def _held(world, url, lock):
    """Hold a lock another run's write must wait for; yield a function releasing it."""
    if world.kind == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("begin immediate")  # the database's one write lock
        release = lambda: conn.execute("rollback")  # noqa: E731
        close = conn.close
    else:
        pg = psycopg.connect(url, connect_timeout=5)
        if lock == "period":
            pg.execute(
                "select 1 from periods where book = 'PRIMARY' and period = %s for update", (FIRST,)
            )
        else:  # the audit log's lock: every audited step takes it before its commit
            pg.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        release, close = pg.rollback, pg.close
    try:
        yield release
    finally:
        close()


def _both_waiting(world, url, runs):
    """Whether both children wait for a lock: on PostgreSQL as the server sees them; on SQLite
    (where every lock is taken by a write) each sits at a write for a while."""
    if world.kind == "postgresql":
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            (waiting,) = admin.execute(
                "select count(*) from pg_stat_activity "
                "where datname = %s and wait_event_type = 'Lock'",
                (url.rsplit("/", 1)[1],),
            ).fetchone()
        return waiting == len(runs)
    now = time.monotonic()
    return all(
        (marks := _marks(run)) and marks[-1][0] == "write" and now - marks[-1][1] > 0.3
        for run in runs
    )


def _race(world, children, url, folder, args, lock=None):
    """Two children running `args` at the same moment (with `lock`: held until both wait for
    it); their statuses, stdout, stderr and marks."""
    runs = [run_request(folder, f"racer-{i}", url, args) for i in (0, 1)]
    with contextlib.ExitStack() as stack:
        release = stack.enter_context(_held(world, url, lock)) if lock else None
        children.start(runs)
        if release is not None:
            deadline = time.monotonic() + 30
            while not _both_waiting(world, url, runs):
                assert time.monotonic() < deadline, [_marks(run) for run in runs]
                time.sleep(0.02)
            release()
        statuses = children.wait()
    outs = [Path(run["out"]).read_text() for run in runs]
    errs = [Path(run["err"]).read_text() for run in runs]
    return statuses, outs, errs, [_marks(run) for run in runs]


def _met(marks, timeline):
    """Whether each run began the step's transaction before the other's commit (so that they
    met there, whether one then waited for the other or not)."""
    begins, commits = [], []
    for found in marks:
        kinds = [kind for kind, _ in found]
        at = [moment for _, moment in found]
        nth = [i for i, kind in enumerate(kinds) if kind == "begin"]
        begins.append(at[nth[timeline.begins - 1]] if len(nth) >= timeline.begins else math.inf)
        commits.append(at[kinds.index("commit")] if "commit" in kinds else math.inf)
    return begins[0] < commits[1] and begins[1] < commits[0]


def _refused(text, refusals):
    """Whether `text` (stderr) is one line, no traceback, saying one of `refusals`."""
    return len(text.splitlines()) == 1 and text.startswith(refusals)


def _close_race(world, children, tmp_path, round_, lock):
    step = world.steps["close"]
    assert step.timeline is not None
    folder = tmp_path / f"close-{round_}"
    folder.mkdir()
    url = world.copies.copy(step.snapshot, f"closerace{round_}")
    statuses, outs, errs, marks = _race(world, children, url, folder, step.args(None), lock)
    assert sorted(statuses) == [0, 1], (statuses, errs)
    winner, loser = statuses.index(0), statuses.index(1)
    assert outs[winner] == f"period {FIRST} closed; {NEXT} is open (PRIMARY, LOCAL)\n"
    assert _refused(errs[loser], CLOSE_REFUSALS), errs[loser]
    state = _state(url)
    # The close once: every book's January closed and February opened once, one audit entry,
    # and the journals (and everything else) as after one uninterrupted close.
    assert _open_periods(state) == {"LOCAL": [NEXT], "PRIMARY": [NEXT]}
    assert _journal_tables(state) == _journal_tables(step.after)
    assert [action for action, _ in state["audit"]].count("period.close") == 1
    world.copies.drop(url)
    return errs[loser].strip(), _met(marks, step.timeline)


def test_two_closes_at_the_same_moment_one_succeeds_and_nothing_is_duplicated(
    world, children, tmp_path
):
    # Both in the close's transaction together, the first waiting at the period's update.
    message, met = _close_race(world, children, tmp_path, 0, lock="period")
    assert met
    print(f"\n{world.kind} close race, held at the period's row: {message}")
    # Started together, no lock.
    message, met = _close_race(world, children, tmp_path, 1, lock=None)
    print(f"{world.kind} close race, no lock: met in the transaction={met}: {message}")


def test_a_close_overtaken_by_another_close_in_its_checklist_is_told_so(
    world, children, tmp_path, monkeypatch
):
    """The interleaving two closes started together often have, made certain: this close has
    read that January is open when another process closes January and stops (SIGKILL) once
    that close has committed, before its jobs have: then this one reads the rest of its
    checklist. Either the other close cannot get in while this one holds the period (then it
    is refused after it), or this one must be told that another run closed January, not that
    January's checklist fails."""
    from revrec.errors import StateError  # noqa: PLC0415
    from revrec.services import close, database  # noqa: PLC0415
    from revrec.store import stage  # noqa: PLC0415

    step = world.steps["close"]
    assert step.timeline is not None
    folder = tmp_path / "overtaken"
    folder.mkdir()
    url = world.copies.copy(step.snapshot, "overtaken")
    ctx = database.context(url, book=None, user="test", now=datetime.now(UTC))
    counted, other, statuses = stage.status_count, [], []

    def status_count(conn, status, **where):
        if not other:
            other.append(run_request(folder, "other", url, step.args(None)))
            (pid,) = children.start(other)
            # The other close in its transaction; then its commit, or 2 s of it waiting.
            _await(other[0], lambda kinds: kinds.count("begin") >= step.timeline.begins)
            if _committed([k for k, _ in _await(other[0], _committed, 2, required=False)]):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                statuses.extend(children.wait())
        return counted(conn, status, **where)

    monkeypatch.setattr(stage, "status_count", status_count)
    try:
        try:
            close.close(ctx)
            refusal = None
        except StateError as error:
            refusal = str(error)
    finally:
        monkeypatch.undo()
        ctx.engine.dispose()
    if statuses:  # the other close got in first (and was stopped before its jobs)
        assert statuses == [-signal.SIGKILL]
        assert refusal == f"period {FIRST} of book PRIMARY was closed by another run"
        _runner(url)("process")  # the jobs of the other close
    else:  # the other close waited for this one, then was refused
        assert refusal is None
        assert children.wait() == [1]
        err = Path(other[0]["err"]).read_text()
        assert _refused(err, CLOSE_REFUSALS), err
    state = _state(url)
    assert _journal_tables(state) == _journal_tables(step.after)
    assert [action for action, _ in state["audit"]].count("period.close") == 1
    world.copies.drop(url)


@pytest.mark.parametrize("card", ["first approval", "approved and revoked before"])
def test_two_approvals_at_the_same_moment_one_succeeds(world, children, tmp_path, card):
    step = world.steps["approve"]
    assert step.timeline is not None
    folder = tmp_path / "approve"
    folder.mkdir()
    url = world.copies.copy(step.snapshot, "approverace")
    if card != "first approval":  # the journal's card exists, a draft again
        cli = _runner(url)
        cli("je", "approve")
        cli("je", "revoke")
    before = _state(url)
    # Both in the step's transaction together, the first waiting at the audit log's lock.
    statuses, outs, errs, marks = _race(world, children, url, folder, step.args(None), "audit")
    assert _met(marks, step.timeline)
    state = _state(url)
    world.copies.drop(url)
    assert sorted(statuses) == [0, 1], (statuses, errs)
    winner, loser = statuses.index(0), statuses.index(1)
    assert outs[winner] == f"journal PRIMARY {FIRST} approved\n"
    assert _refused(errs[loser], APPROVE_REFUSALS), errs[loser]
    assert _journal_tables(state) == _journal_tables(step.after)
    assert state["audit"] == [*before["audit"], ("je.approve", f"journal:PRIMARY:{FIRST}")]
