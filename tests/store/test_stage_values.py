"""The import's typed good rows (stage_values): kept next to the text, read by processing instead
of validating the text again; rows staged without them (before migration 0006) are validated from
their text as before, with the same outcome (SQLite and PostgreSQL)."""

import json
from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext
from helpers import BILL_HEADS, SO_HEADS, bill, query, so, write_csv

from revrec.store import batches, db

SETUP = """
pob_templates:
  - {name: saas_daily, method: ratable_daily}
  - {name: license_pit, method: point_in_time, params: {at: start}}
  - {name: delivery_pit, method: point_in_time, params: {at: start}}
  - {name: milestone_evt, method: event, events: [milestone]}
"""
JOBS = ("transaction_import", "event_import")


def _init(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    setup = tmp_path / "setup.yaml"
    setup.write_text(SETUP)
    cli("setup", "load", setup)
    for job in JOBS:  # the rows wait in the stage area until the test processes them
        cli("jobs", "disable", job)


def _import(cli, path, *extra):
    return json.loads(
        cli("import", "transactions", path, "--type", *extra, "--format", "json").stdout
    )


def _process(cli, monkeypatch, *, typed):
    """Run the jobs over the waiting rows; `typed` False first removes the typed values, as a
    database staged before migration 0006 has none. Returns the (file, line) of the rows whose
    text processing read."""
    read = []
    text_of = batches.values

    def spied(conn, rows):
        found = query(cli.url, "select s.row_id, f.name, s.line from stage_rows s "
                      "join files f on f.file_id = s.file_id")  # fmt: skip
        where = {rid: (name, line) for rid, name, line in found}
        read.extend(where[rid] for rid in rows["row_id"].to_list())
        return text_of(conn, rows)

    monkeypatch.setattr(batches, "values", spied)
    if not typed:
        engine = db.engine(cli.url)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM stage_values"))
        engine.dispose()
    for job in JOBS:
        cli("jobs", "enable", job)
    cli("process")
    return sorted(read)


def _stage(url):
    """(file, line) -> (status, messages) of every stage row."""
    rows = query(
        url,
        "select f.name, s.line, s.status, s.messages from stage_rows s "
        "join files f on f.file_id = s.file_id",
    )
    return {(name, line): (status, json.loads(m)) for name, line, status, m in rows}


def _row_id(url, name, line):
    found = query(
        url,
        "select s.row_id from stage_rows s join files f on f.file_id = s.file_id "
        "where f.name = :n and s.line = :l",
        n=name,
        l=line,
    )
    return found[0][0]


def test_an_import_keeps_the_validators_good_rows_typed_by_stage_row(cli, tmp_path):
    _init(cli, tmp_path)
    path = write_csv(
        tmp_path / "so.csv",
        SO_HEADS,
        [
            so("L1", "3660.5", template="saas_daily"),
            so("L2", "1.234"),  # an error row: three decimals
            so("L3", "100", template="license_pit", start="", end="", order_date="2024-03-09"),
        ],
    )
    assert _import(cli, path, "sales_order")["pending"] == 2
    engine = db.engine(cli.url)
    with engine.connect() as conn:
        chunks = conn.execute(sa.text("select count(*) from stage_values")).scalar()
        rows = batches.pending(conn, ("contracts",))
        typed, untyped = batches.typed_values(conn, rows)
        conn.execute(sa.text("delete from stage_values"))
        _, all_untyped = batches.typed_values(conn, rows)
    engine.dispose()
    assert chunks == 1
    assert untyped.height == 0
    assert all_untyped["row_id"].to_list() == rows["row_id"].to_list()
    ids = {line: rid for rid, line in rows.select("row_id", "line").iter_rows()}
    assert sorted(
        typed.select(
            "line", "line_id", "amount", "start", "end", "order_day", "method", "at"
        ).iter_rows()
    ) == sorted([
        (ids[2], "L1", 366_050, date(2024, 3, 1), date(2025, 3, 1), date(2024, 3, 1),
         "ratable_daily", None),
        (ids[4], "L3", 10_000, date(2024, 3, 9), None, date(2024, 3, 9), "point_in_time",
         "start"),
    ])  # fmt: skip


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "from_text"])
def test_processing_typed_rows_or_their_text_gives_the_same_outcome(
    cli, tmp_path, monkeypatch, typed
):
    _init(cli, tmp_path)
    orders = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "3660.00"), so("L2", "600.00")])
    _import(cli, orders, "sales_order")
    first = write_csv(
        tmp_path / "docs1.csv",
        BILL_HEADS,
        [
            bill("INV", "I1", "I1-1", "2024-03-01", "1200.00", so_line="L1"),
            bill("INV", "I2", "I2-1", "2024-03-01", "600.00", so_line="L2"),
        ],
    )
    second = write_csv(
        tmp_path / "docs2.csv",
        BILL_HEADS,
        [
            bill("INV", "I2", "I2-1", "2024-03-01", "610.00", so_line="L2"),  # also in docs1
            bill("IVC", "V1", "V1-1", "2024-03-05", "100.0", ref_number="I1", ref_line="I1-1"),
            bill("CM", "M1", "M1-1", "2024-03-06", "200.00", ref_number="I1", ref_line="I1-1"),
            bill("INV", "I9", "I9-1", "2024-03-06", "10.00", so_line="L9"),  # unknown line
            # No sales order: its own line, whole on its start (no service end).
            bill("INV", "D1", "D1-1", "2024-03-02", "120.00", customer="OTHER",
                 start="2024-03-01"),
        ],
    )  # fmt: skip
    _import(cli, first, "billing")
    _import(cli, second, "billing")
    costs = write_csv(
        tmp_path / "costs.csv",
        ["cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id", "contract_id"],
        [
            ["K1", "commission", "60.00", "USD", "2024-03-05", "L1", ""],
            ["K2", "commission", "1.00", "USD", "2024-03-05", "", "C9"],  # unknown contract
            ["K3", "commission", "5.00", "EUR", "2024-03-05", "L2", ""],  # another currency
        ],
    )
    _import(cli, costs, "cost")
    events = write_csv(
        tmp_path / "events.csv",
        ["so_line_id", "event_date", "action", "percent", "event_id"],
        [["L1", "2024-03-10", "release", "50", "E1"], ["L7", "2024-03-10", "release", "50", ""]],
    )
    cli("import", "events", events, "--event", "milestone")
    read = _process(cli, monkeypatch, typed=typed)
    if typed:  # the text of the rows of a key given twice, and of an amount a message shows
        assert read == [("docs1.csv", 3), ("docs2.csv", 2), ("docs2.csv", 3)]
    else:
        assert len(read) == 14
    stage = _stage(cli.url)
    first_i2 = _row_id(cli.url, "docs1.csv", 3)
    assert {key: status for key, (status, _) in stage.items()} == {
        ("so.csv", 2): "processed", ("so.csv", 3): "processed",
        ("docs1.csv", 2): "processed", ("docs1.csv", 3): "processed",
        ("docs2.csv", 2): "error", ("docs2.csv", 3): "error", ("docs2.csv", 4): "processed",
        ("docs2.csv", 5): "error", ("docs2.csv", 6): "processed",
        ("costs.csv", 2): "processed", ("costs.csv", 3): "error", ("costs.csv", 4): "error",
        # L1's template takes no milestone; L7 is no line.
        ("events.csv", 2): "error", ("events.csv", 3): "error",
    }  # fmt: skip
    messages = {key: m for key, (status, m) in stage.items() if status == "error"}
    assert messages["docs2.csv", 2] == [{
        "column": "doc_line_id", "value": "I2-1",
        "message": f"doc_line_id 'I2-1' is also on line {first_i2} with other content: "
        "expected one row per doc_line_id",
    }]  # fmt: skip
    assert messages["docs2.csv", 3] == [{
        "column": "amount", "value": "100.0",
        "message": "partial invoice cancellations are not permitted: the remaining amount of "
        "I1-1 is 1200.00",
    }]  # fmt: skip
    assert messages["docs2.csv", 5][0]["column"] == "so_line_id"
    assert [m["message"] for m in messages["costs.csv", 3] + messages["costs.csv", 4]] == [
        "unknown contract_id",
        "the contract's currency is USD",
    ]
    assert messages["events.csv", 3][0]["message"] == "event for an unknown line"
    billed = dict(query(cli.url, "select line_id, sum(amount) from billings group by line_id"))
    assert billed == {"L1": 100_000, "L2": 60_000, "D1-1": 12_000}
    versions = query(cli.url, "select line_id, line_no, stage_row_id from line_versions")
    assert all(line_no == row_id for _, line_no, row_id in versions)


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "from_text"])
def test_a_template_changed_or_gone_since_the_import_is_checked_again(
    cli, tmp_path, monkeypatch, typed
):
    _init(cli, tmp_path)
    orders = write_csv(
        tmp_path / "so.csv",
        SO_HEADS,
        [
            so("L1", "100.00", template="license_pit", start="", end="", order_date="2024-03-05"),
            so("L2", "310.00", template="license_pit", end="2024-03-31"),
            so("L3", "50.00", template="delivery_pit", start="", end="", order_date="2024-03-05"),
            so("L4", "3660.00"),  # saas_daily, unchanged
        ],
    )
    assert _import(cli, orders, "sales_order")["pending"] == 4
    driven = write_csv(
        tmp_path / "docs.csv",
        [*BILL_HEADS, "pob_template"],
        [[*bill("INV", "D1", "D1-1", "2024-03-02", "120.00"), "delivery_pit"]],
    )
    assert _import(cli, driven, "billing")["pending"] == 1
    changed = tmp_path / "changed.yaml"  # license_pit now recognizes over the service period
    changed.write_text("pob_templates:\n  - {name: license_pit, method: ratable_daily}\n")
    cli("setup", "load", changed)
    engine = db.engine(cli.url)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from pob_templates where name = 'delivery_pit'"))
    engine.dispose()
    read = _process(cli, monkeypatch, typed=typed)
    # Typed, only the text of the rows whose template is gone or now recognizes over time.
    assert read == [("docs.csv", 2), ("so.csv", 2), ("so.csv", 3), ("so.csv", 4)] + (
        [] if typed else [("so.csv", 5)]
    )
    stage = _stage(cli.url)
    needs = "a value is required: POB template license_pit recognizes over the service period"
    assert stage["so.csv", 2] == (
        "error",
        [
            {"column": "service_end_date", "value": "", "message": needs},
            {"column": "service_start_date", "value": "", "message": needs},
        ],
    )
    assert stage["so.csv", 3] == ("processed", [])
    gone = "unknown POB template 'delivery_pit': expected one of "
    for key in (("so.csv", 4), ("docs.csv", 2)):
        status, messages = stage[key]
        assert status == "error"
        assert [(m["column"], m["message"][: len(gone)]) for m in messages] == [
            ("pob_template", gone)
        ]
    # L2 is recognized by its template as it is now: daily over March; L4 over its 365 days.
    assert dict(query(cli.url, "select line_id, sum(amount) from postings group by line_id")) == {
        "L2": 31_000,
        "L4": 31_085,
    }


def _revision(engine):
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migration_0006_adds_stage_values_and_its_downgrade_drops_them(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    config = db._config()  # the test drives one migration step
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("stage_values")
    assert _revision(engine) == "0005"
    db.migrate(engine)
    with engine.connect() as conn:
        assert sa.inspect(conn).has_table("stage_values")
    engine.dispose()
