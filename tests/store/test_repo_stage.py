"""The stage repository (store.stage): file cards and stage rows written, listed, counted and
moved to another status, on SQLite and PostgreSQL."""

import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from revrec.store import db
from revrec.store import stage as store

NOW = datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
STAGE_ROW = {
    "file_id": pl.Int64, "tab": pl.String, "line": pl.Int64, "status": pl.String,
    "key": pl.String, "accounting_date": pl.Date, "messages": pl.String, "period": pl.String,
}  # fmt: skip
NOTE = json.dumps([{"column": "", "value": "", "message": "a note"}])


@pytest.fixture
def conn(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _file(conn, name, upload_type="sales_order", event_name=None, rows_read=0):
    return store.add_file(
        conn,
        name=name,
        sha256=f"sha-{name}",
        upload_type=upload_type,
        mapping="revrec",
        event_name=event_name,
        uploaded_by="me",
        uploaded_at=NOW,
        rows_read=rows_read,
    )


def _rows(file_id, tab, *rows):
    """Stage rows (line, status, key, accounting date, messages) of one file."""
    return pl.DataFrame(
        [(file_id, tab, *r, r[3].strftime("%Y-%m")) for r in rows], schema=STAGE_ROW, orient="row"
    )


@pytest.fixture
def staged(conn):
    """Two files: sales orders (4 rows) and events (1 row)."""
    orders = _file(conn, "so.csv", rows_read=4)
    events = _file(conn, "ev.csv", "event", event_name="milestone", rows_read=1)
    store.add_rows(
        conn,
        _rows(
            orders,
            "contracts",
            (2, "pending", "L1", date(2024, 3, 1), "[]"),
            (3, "error", "L2", date(2024, 3, 9), NOTE),
            (4, "processed", "L1", date(2024, 3, 1), NOTE),
            (5, "future", "L3", date(2024, 5, 1), "[]"),
        ),
    )
    store.add_rows(conn, _rows(events, "events", (2, "pending", "E1", date(2024, 3, 2), "[]")))
    return orders, events


def test_a_file_is_found_again_by_content_type_and_event(conn, staged):
    orders, events = staged
    assert store.find_file(conn, "sha-so.csv", "sales_order", None) == (orders, 4)
    assert store.find_file(conn, "sha-so.csv", "billing", None) is None
    assert store.find_file(conn, "sha-ev.csv", "event", "milestone") == (events, 1)
    assert store.find_file(conn, "sha-ev.csv", "event", None) is None
    assert [f["name"] for f in store.files(conn, ["sales_order", "event"])] == ["ev.csv", "so.csv"]
    assert [f["name"] for f in store.files(conn, ["billing"])] == []


def test_rows_are_counted_per_status_apart_by_whether_they_carry_messages(conn, staged):
    orders, events = staged
    assert sorted(store.counts(conn)) == [
        (orders, "error", True, 1),
        (orders, "future", False, 1),
        (orders, "pending", False, 1),
        (orders, "processed", True, 1),
        (events, "pending", False, 1),
    ]
    assert store.counts(conn, events) == [(events, "pending", False, 1)]
    assert store.counts_per_tab(conn, "pending") == [("contracts", 1), ("events", 1)]
    assert store.rows_of_file(conn, orders, "error") == [(3, NOTE)]


@pytest.mark.usefixtures("staged")
def test_a_listing_filters_by_tab_status_file_and_accounting_date(conn):
    def keys(**given):
        return [(r["file"], r["line"], r["key"]) for r in store.listing(conn, **given)]

    assert keys(tab="events") == [("ev.csv", 2, "E1")]
    assert keys(status="pending") == [("so.csv", 2, "L1"), ("ev.csv", 2, "E1")]
    assert keys(file="so.csv", limit=2) == [("so.csv", 2, "L1"), ("so.csv", 3, "L2")]
    assert keys(date_from=date(2024, 3, 2), date_to=date(2024, 3, 9)) == [
        ("so.csv", 3, "L2"),
        ("ev.csv", 2, "E1"),
    ]
    first = store.listing(conn, limit=1)[0]
    assert {k: v for k, v in first.items() if k not in ("row_id", "file_id")} == {
        "tab": "contracts", "file": "so.csv", "line": 2, "status": "pending", "key": "L1",
        "messages": "[]", "period": "2024-03",
    }  # fmt: skip


@pytest.mark.usefixtures("staged")
def test_rows_move_to_another_status_with_who_and_when(conn):
    found = {r["key"]: r["row_id"] for r in store.listing(conn, file="so.csv")}
    assert store.newest_status(conn, "L1", ("pending", "error")) == "pending"
    store.set_status(conn, [found["L2"]], "deleted", user="you", now=NOW)
    assert store.statuses(conn, [found["L2"], found["L3"], 999]) == {
        found["L2"]: "deleted",
        found["L3"]: "future",
    }
    assert store.newest_status(conn, "L2", ("pending", "future", "error")) is None
    assert store.newest_status(conn, "L1", ("processed", "pending")) == "processed"
