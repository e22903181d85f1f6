"""The audit log (SPEC §2, §11.1) on SQLite and PostgreSQL: real commands write entries with the
command's user and one `now` per command, `audit list` filters them, and `audit verify`
recomputes the hash chain and names the first entry altered or removed (exit code 1)."""

import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import SO_HEADS, query, so, write_csv

from revrec.cli import options
from revrec.services import audit
from revrec.services.context import Context
from revrec.store import audit as store
from revrec.store import db

EXAMPLES = Path(__file__).parents[2] / "examples"
T0 = datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


class Commands:
    """Runs commands as a user at a clock of its own: the n-th command's `now` is day n."""

    def __init__(self, cli, monkeypatch):
        self.cli = cli
        self.user = "alice"
        self.count = 0
        self.moments = []
        test = self

        class Clock(datetime):
            @classmethod
            def now(cls, tz=None):  # noqa: ARG003 - the command asks for UTC
                return test.moments[-1]

        monkeypatch.setattr(options, "datetime", Clock)
        monkeypatch.setattr(options, "user", lambda: self.user)

    def __call__(self, *args, user="alice", ok=True):
        self.user = user
        self.moments.append(T0 + timedelta(days=self.count))
        self.count += 1
        return self.cli(*args, ok=ok)


def _entries(cli, *options_):
    return json.loads(cli("audit", "list", *options_, "--format", "json").stdout)["rows"]


def _at(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _history(cli, monkeypatch, tmp_path):
    """init, setup load (twice, with a mapping), an import with a bad row, stage delete of that
    row, jobs disable, process: each command on a day of its own."""
    run = Commands(cli, monkeypatch)
    run("init", "--first-period", "2024-03")
    run("setup", "load", EXAMPLES / "setup.yaml")
    mapping = tmp_path / "mine.yaml"
    cli("mapping", "export", "revrec", "--type", "cost", "--output", mapping)  # reads only
    mapping.write_text(mapping.read_text().replace("name: revrec", "name: mine"))
    run("setup", "load", mapping)
    run("setup", "load", mapping)  # unchanged: no mapping entry
    upload = write_csv(
        tmp_path / "so.csv", SO_HEADS, [so("L1", "1200.00"), so("L2", "1.234", contract="C2")]
    )
    run("import", "transactions", upload, "--type", "sales_order", user="bob")
    [(bad_row,)] = query(cli.url, "select row_id from stage_rows where status = 'error'")
    run("stage", "delete", bad_row, "--yes", user="bob")
    run("jobs", "disable", "event_import")
    run("process")
    return run, bad_row


EXPECTED = [
    # Each entry as day of the command, user, action, entity, period.
    (0, "alice", "setup.init", "book:PRIMARY", "2024-03"),
    (1, "alice", "setup.load", "setup", None),
    (2, "alice", "mapping.load", "mapping:mine:cost", None),
    (2, "alice", "setup.load", "setup", None),
    (3, "alice", "setup.load", "setup", None),
    (4, "bob", "import.file", "file:1", None),
    (4, "bob", "job.run", "job:transaction_import", "2024-03"),
    (4, "bob", "job.run", "job:event_import", "2024-03"),
    (4, "bob", "job.run", "job:revenue_process", "2024-03"),
    (5, "bob", "stage.delete", "stage_row:{bad_row}", None),
    (6, "alice", "job.disable", "job:event_import", None),
    (7, "alice", "job.run", "job:transaction_import", "2024-03"),
    (7, "alice", "job.run", "job:revenue_process", "2024-03"),
]


def test_commands_write_entries_with_their_user_and_one_now_each(cli, monkeypatch, tmp_path):
    _, bad_row = _history(cli, monkeypatch, tmp_path)
    rows = _entries(cli)
    assert [(r["id"], r["at"], r["user"], r["action"], r["entity"], r["period"]) for r in rows] == [
        (n, _at(T0 + timedelta(days=day)), user, action, entity.format(bad_row=bad_row), period)
        for n, (day, user, action, entity, period) in enumerate(EXPECTED, start=1)
    ]
    by_action = {r["action"]: r for r in rows}
    assert by_action["setup.init"]["after"] == {
        "book": "PRIMARY",
        "currency": "USD",
        "open_period": "2024-03",
    }
    assert by_action["stage.delete"]["before"] == {"status": "error"}
    assert by_action["stage.delete"]["after"] == {"status": "deleted"}
    assert (by_action["job.disable"]["before"], by_action["job.disable"]["after"]) == (
        {"active": True},
        {"active": False},
    )
    imported = by_action["import.file"]["after"]
    assert imported["file"] == "so.csv"
    assert (imported["rows_read"], imported["error"], imported["upload_type"]) == (
        2,
        1,
        "sales_order",
    )
    assert imported["sha256"] == hashlib.sha256((tmp_path / "so.csv").read_bytes()).hexdigest()
    mapping = rows[2]
    assert mapping["before"] is None
    assert mapping["after"]["name"] == "mine"
    # The chain: each entry's prev_hash is the hash of the one before it.
    assert rows[0]["prev_hash"] == "0" * 64
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]


def test_audit_list_filters_by_kind_user_dates_period_and_pages(cli, monkeypatch, tmp_path):
    _history(cli, monkeypatch, tmp_path)

    def ids(*options_):
        return [r["id"] for r in _entries(cli, *options_)]

    assert ids("--kind", "job") == [7, 8, 9, 11, 12, 13]
    assert ids("--kind", "JOB.run") == [7, 8, 9, 12, 13]
    assert ids("--kind", "job.disable") == [11]
    assert ids("--kind", "setup") == [1, 2, 4, 5]
    assert ids("--kind", "import") == [6]
    assert ids("--kind", "import.file") == [6]
    assert ids("--kind", "imp") == []  # a kind is a whole word, not a prefix of one
    assert ids("--kind", "j%") == []  # nor a pattern
    assert ids("--user", "bob") == [6, 7, 8, 9, 10]
    assert ids("--user", "bob", "--kind", "stage") == [10]
    assert ids("--from", "2024-03-05", "--to", "2024-03-06") == [6, 7, 8, 9, 10]
    assert ids("--from", "2024-03-08") == [12, 13]
    assert ids("--to", "2024-03-01") == [1]
    assert ids("--period", "2024-03") == [1, 7, 8, 9, 12, 13]
    assert ids("--period", "2024-04") == []
    assert ids("--limit", "3") == [1, 2, 3]
    assert ids("--limit", "3", "--offset", "11") == [12, 13]
    assert ids("--kind", "job", "--offset", "1", "--limit", "2") == [8, 9]

    table = cli("audit", "list", "--kind", "stage").stdout
    assert "stage.delete" in table
    assert "prev_hash" not in table
    csv = cli("audit", "list", "--kind", "stage", "--format", "csv").stdout.splitlines()
    assert csv[0] == "id,at,user,action,entity,period,before,after,prev_hash,hash"
    assert len(csv) == 2
    empty = cli("audit", "list", "--user", "nobody", "--format", "csv").stdout
    assert empty.splitlines() == [csv[0]]

    bad = cli("audit", "list", "--from", "2024-3-1", ok=False)
    assert (bad.exit_code, str(bad.exception)) == (
        1,
        "--from '2024-3-1': expected a date YYYY-MM-DD",
    )
    bad = cli("audit", "list", "--period", "2024-13", ok=False)
    assert (bad.exit_code, str(bad.exception)) == (1, "'2024-13' is not a period: expected YYYY-MM")


def _verify(cli, *options_):
    result = cli("audit", "verify", "--format", "json", *options_, ok=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_verify_passes_then_names_an_altered_entry(cli, monkeypatch, tmp_path):
    _history(cli, monkeypatch, tmp_path)
    [(head,)] = query(cli.url, "select hash from audit_log where id = 13")
    code, found, stderr = _verify(cli)
    assert (code, stderr) == (0, "")
    assert found == {
        "ok": True,
        "entries": 13,
        "first_bad_id": None,
        "problem": None,
        "head_id": 13,
        "head_hash": head,
    }
    text = cli("audit", "verify").stdout
    assert text.splitlines()[:2] == ["audit log intact: 13 entries", f"head: entry 13 {head}"]

    engine = db.engine(cli.url)
    with engine.begin() as conn:
        conn.execute(sa.text("""update audit_log set "after" = '{"active": true}' where id = 11"""))
    engine.dispose()
    code, found, stderr = _verify(cli)
    assert (code, found["ok"], found["first_bad_id"], found["entries"]) == (1, False, 11, 10)
    assert found["problem"] == "entry 11 was altered: its hash is not the hash of its contents"
    assert stderr == f"error: audit log: {found['problem']}\n"
    # The table format: the one line on stderr, exit code 1.
    result = cli("audit", "verify", ok=False)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", stderr)


def test_verify_names_the_entry_after_a_removed_one(cli, monkeypatch, tmp_path):
    _history(cli, monkeypatch, tmp_path)
    engine = db.engine(cli.url)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from audit_log where id = 6"))
    engine.dispose()
    code, found, stderr = _verify(cli)
    assert (code, found["first_bad_id"], found["entries"]) == (1, 7, 5)
    assert found["problem"] == "an entry before 7 was removed: ids skip from 5 to 7"
    assert stderr == f"error: audit log: {found['problem']}\n"


def test_closing_up_the_ids_after_a_removal_is_an_alteration(cli, monkeypatch, tmp_path):
    _history(cli, monkeypatch, tmp_path)
    engine = db.engine(cli.url)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from audit_log where id = 6"))
        conn.execute(sa.text("update audit_log set id = 6 where id = 7"))  # an id is hashed
    engine.dispose()
    code, found, _ = _verify(cli)
    assert (code, found["first_bad_id"]) == (1, 6)
    assert found["problem"] == "entry 6 was altered: its hash is not the hash of its contents"


def test_removing_the_newest_entries_is_found_only_against_a_recorded_head(
    cli, monkeypatch, tmp_path
):
    _history(cli, monkeypatch, tmp_path)
    [(head,)] = query(cli.url, "select hash from audit_log where id = 13")
    [(older,)] = query(cli.url, "select hash from audit_log where id = 5")
    assert _verify(cli, "--head", head)[0] == 0
    assert _verify(cli, "--head", older)[0] == 0  # entries after a recorded head are fine
    engine = db.engine(cli.url)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from audit_log where id >= 12"))
    engine.dispose()
    code, found, _ = _verify(cli)
    assert (code, found["ok"], found["entries"], found["head_id"]) == (0, True, 11, 11)
    code, found, stderr = _verify(cli, "--head", head)
    assert (code, found["ok"], found["first_bad_id"]) == (1, False, None)
    assert found["problem"] == (
        f"the log no longer holds the recorded head {head}: entries after it were removed, "
        "or the log was rewritten"
    )
    assert stderr == f"error: audit log: {found['problem']}\n"


def test_an_empty_log_verifies_with_no_head(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    result = audit.verify(Context(engine, "t", T0))
    assert result == audit.VerifyResult(ok=True, entries=0, first_bad_id=None, problem=None)
    engine.dispose()


def _record(conn, n, now=T0, **values):
    return store.record(
        conn,
        user=values.get("user", "t"),
        now=now,
        action=values.get("action", "test.write"),
        entity=f"test:{n}",
        before=None,
        after={"n": n},
        period=values.get("period"),
    )


def test_record_writes_the_given_now_as_utc(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    tokyo = timezone(timedelta(hours=9))
    with engine.begin() as conn:
        assert _record(conn, 1, now=datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == 1
        assert _record(conn, 2, now=datetime(2020, 1, 2, 12, 4, 5, 678901, tzinfo=tokyo)) == 2
        assert _record(conn, 3, now=datetime(2020, 1, 2, 3, 4, 5, 678901)) == 3  # noqa: DTZ001 - UTC
    with engine.connect() as conn:
        found = list(store.chain(conn, chunk=2))
    assert [store.at_text(e["at"]) for e in found] == ["2020-01-02T03:04:05.678901Z"] * 3
    assert [e["id"] for e in found] == [1, 2, 3]
    assert all(store.entry_hash(e) == e["hash"] for e in found)
    engine.dispose()


def test_the_canonical_text_and_hash_are_frozen():
    entry = {
        "id": 7,
        "at": datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
        "user": "zoë",
        "action": "job.run",
        "entity": "job:revenue_process",
        "before": None,
        "after": '{"posted_lines": 8}',
        "period": "2024-03",
        "prev_hash": "ab" * 32,
    }
    text = (
        '[7,"2024-03-01T09:30:00.000000Z","zo\\u00eb","job.run","job:revenue_process",null,'
        '"{\\"posted_lines\\": 8}","2024-03","' + "ab" * 32 + '"]'
    )
    assert store.canonical(entry) == text
    assert store.entry_hash(entry) == hashlib.sha256(text.encode()).hexdigest()


def test_concurrent_writers_make_one_unbroken_chain(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    writers, each = 4, 15
    start = threading.Barrier(writers)
    failures = []

    def write(writer):
        own = db.engine(db_url)
        try:
            start.wait()
            for n in range(each):
                with own.begin() as conn:
                    conn.execute(sa.text("select 1"))  # the transaction has begun
                    _record(conn, writer * 100 + n, user=f"w{writer}")
                    time.sleep(0.002)  # hold the head a moment before the commit
        except Exception as error:  # noqa: BLE001 - reported by the test
            failures.append(error)
        finally:
            own.dispose()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    result = audit.verify(Context(engine, "t", T0))
    assert (result.ok, result.entries, result.head_id) == (True, writers * each, writers * each)
    with engine.connect() as conn:
        found = list(store.chain(conn, chunk=7))
    assert sorted(e["entity"] for e in found) == sorted(
        f"test:{w * 100 + n}" for w in range(writers) for n in range(each)
    )
    engine.dispose()


@pytest.mark.parametrize("kind", ["", "  "])
def test_an_empty_kind_is_an_input_error(db_url, kind):
    engine = db.engine(db_url)
    db.migrate(engine)
    with pytest.raises(Exception, match="--kind is empty"):
        audit.list_entries(Context(engine, "t", T0), kind=kind)
    engine.dispose()
