"""The jobs repository (store.jobs): jobs added by init, switched on and off, rescheduled."""

import pytest

from revrec.store import db
from revrec.store import jobs as store


@pytest.fixture
def conn(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def test_jobs_are_added_active_and_switched_off_one_by_one(conn):
    store.add(conn, ("transaction_import", "event_import"), every="1h")
    store.set_active(conn, "event_import", active=False)
    assert store.names(conn) == ["event_import", "transaction_import"]
    assert store.active(conn, "transaction_import") is True
    assert store.active(conn, "event_import") is False
    assert store.active(conn, "no_such_job") is None
    assert store.inactive(conn) == {"event_import"}


def test_configure_changes_the_schedule_only_when_given(conn):
    store.add(conn, ("revenue_process",), every="1h")
    store.configure(conn, "revenue_process", active=False, cron="0 2 * * *")
    store.configure(conn, "revenue_process", active=True)
    assert store.jobs(conn) == [
        {
            "name": "revenue_process",
            "active": True,
            "every": "1h",
            "cron": "0 2 * * *",
            "last_run_at": None,
            "last_result": None,
        }
    ]
