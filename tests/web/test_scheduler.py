"""The scheduler of `revrec serve` (services.schedule): when a job is due, a tick runs each due
job once even with two servers on one database, and a failed run is recorded and retried.

`due` is checked with exact times; `tick` runs on the web tests' database (SQLite and
PostgreSQL) with a `now` of its own, and its effects are read back through the CLI.
"""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from revrec.services import database, schedule
from revrec.services.context import Context
from revrec.services.processing import runner
from revrec.store import jobs as job_store

T = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)  # long after the test database's jobs last ran
# revenue_process with no contract touched since the database was made: nothing to do.
NOTHING = {"job": "revenue_process", "processed": 0, "error": 0, "duplicate": 0,
           "posted_lines": 0, "notes": []}  # fmt: skip


def job(*, active=True, every=None, cron=None, last=None):
    return {"name": "revenue_process", "active": active, "every": every, "cron": cron,
            "last_run_at": last}  # fmt: skip


TEN = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "now", "is_due"),
    [
        (job(every="1h"), TEN, True),  # never ran
        (job(cron="0 2 * * *"), TEN, True),  # never ran
        (job(every="1h", active=False), TEN, False),
        (job(every="15m", active=False, last=TEN), TEN + timedelta(days=1), False),
        (job(), TEN, False),  # no schedule: on demand only
        (job(every="15m", last=TEN), TEN + timedelta(minutes=14, seconds=59), False),
        (job(every="15m", last=TEN), TEN + timedelta(minutes=15), True),
        (job(every="1d", last=TEN), TEN + timedelta(hours=23, minutes=59), False),
        (job(every="1d", last=TEN), TEN + timedelta(days=1), True),
        # SQLite gives the time back without its zone: it is UTC.
        (job(every="15m", last=TEN.replace(tzinfo=None)), TEN + timedelta(minutes=15), True),
        # `now` in another zone: 12:14:59+02:00 is 10:14:59 UTC.
        (
            job(every="15m", last=TEN),
            datetime(2024, 3, 1, 12, 14, 59, tzinfo=timezone(timedelta(hours=2))),
            False,
        ),
        # cron (UTC): due once a cron time lies after the last run and at or before now.
        (job(cron="0 2 * * *", last=TEN), datetime(2024, 3, 2, 1, 59, 59, tzinfo=UTC), False),
        (job(cron="0 2 * * *", last=TEN), datetime(2024, 3, 2, 2, 0, tzinfo=UTC), True),
        (job(cron="*/15 * * * *", last=TEN + timedelta(minutes=7)), TEN.replace(minute=14), False),
        (job(cron="*/15 * * * *", last=TEN + timedelta(minutes=7)), TEN.replace(minute=15), True),
        (job(cron="*/15 * * * *", last=TEN), TEN + timedelta(minutes=14, seconds=59), False),
        (job(cron="0 2 * * *", last=TEN, active=False), TEN + timedelta(days=3), False),
    ],
)
def test_when_a_job_is_due(stored, now, is_due):
    assert schedule.due(stored, now) is is_due


@pytest.fixture
def only_revenue(web_db):
    """The test database with revenue_process the only active job (every 1h), and a Context
    maker for the scheduler at a given time."""
    web_db("jobs", "disable", "transaction_import")
    web_db("jobs", "disable", "event_import")
    engine = database.open_engine(web_db.url)
    yield lambda now: Context(engine, schedule.USER, now)
    engine.dispose()


def listed(web_db):
    rows = json.loads(web_db("jobs", "list", "--format", "json").output)["rows"]
    return {j["name"]: j for j in rows}


def audit(web_db, action):
    found = web_db("audit", "list", "--kind", action, "--user", "scheduler", "--format", "json")
    return json.loads(found.output)["rows"]


def test_a_tick_runs_a_due_job_once_and_two_servers_run_it_once(web_db, only_revenue, monkeypatch):
    before = listed(web_db)
    with only_revenue(T).engine.connect() as conn:
        seen = job_store.jobs(conn)  # what a second server read at the same moment
    assert schedule.due(next(j for j in seen if j["name"] == "revenue_process"), T)

    ran = schedule.tick(only_revenue(T))
    assert [(r.job, r.ok) for r in ran] == [("revenue_process", True)]
    after = listed(web_db)
    assert after["revenue_process"]["last_run_at"] == "2030-01-01T09:00:00Z"
    assert after["revenue_process"]["last_result"] == ran[0].result == NOTHING
    for inactive in ("event_import", "transaction_import"):
        assert after[inactive]["last_run_at"] == before[inactive]["last_run_at"]

    assert schedule.tick(only_revenue(T)) == []  # the same `now` again: not due
    monkeypatch.setattr(job_store, "jobs", lambda _conn: seen)
    assert schedule.tick(only_revenue(T)) == []  # due as it read, but its claim fails
    monkeypatch.undo()

    assert schedule.tick(only_revenue(T + timedelta(minutes=59, seconds=59))) == []
    again = schedule.tick(only_revenue(T + timedelta(hours=1)))
    assert [(r.job, r.ok) for r in again] == [("revenue_process", True)]
    entries = audit(web_db, "job.run")
    assert [(e["entity"], e["at"][:19], e["period"]) for e in entries] == [
        ("job:revenue_process", "2030-01-01T09:00:00", "2024-03"),
        ("job:revenue_process", "2030-01-01T10:00:00", "2024-03"),
    ]
    assert entries[0]["after"] == ran[0].result


def test_a_failed_run_is_recorded_and_the_next_tick_runs_again(web_db, only_revenue, monkeypatch):
    def boom(_conn):
        raise RuntimeError("the disk is full")

    monkeypatch.setitem(runner._JOBS, "revenue_process", boom)
    ran = schedule.tick(only_revenue(T))
    failure = {"job": "revenue_process", "error": "RuntimeError: the disk is full"}
    assert [(r.job, r.ok, r.result) for r in ran] == [("revenue_process", False, failure)]
    after = listed(web_db)["revenue_process"]
    assert (after["last_run_at"], after["last_result"]) == ("2030-01-01T09:00:00Z", failure)
    failed = audit(web_db, "job.fail")
    assert [(e["entity"], e["at"][:19], e["after"]) for e in failed] == [
        ("job:revenue_process", "2030-01-01T09:00:00", failure)
    ]
    assert audit(web_db, "job.run") == []  # the failed run's own transaction was rolled back

    monkeypatch.undo()
    assert schedule.tick(only_revenue(T + timedelta(minutes=30))) == []  # the interval first
    again = schedule.tick(only_revenue(T + timedelta(hours=1)))
    assert [(r.job, r.ok) for r in again] == [("revenue_process", True)]
    now = listed(web_db)["revenue_process"]
    assert now["last_run_at"] == "2030-01-01T10:00:00Z"
    assert now["last_result"] == again[0].result == NOTHING
    assert [e["entity"] for e in audit(web_db, "job.run")] == ["job:revenue_process"]
