"""The uploaded rows' values (stage_payloads): found by text in the stage area, and moved there
from the JSON column of the first schema by migration 0002 (SQLite and PostgreSQL)."""

import json
from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa
from alembic import command
from helpers import SO_HEADS, so, write_csv

from revrec.store import db, payloads


def test_stage_list_finds_rows_by_a_value_or_key_ignoring_case(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    path = write_csv(
        tmp_path / "so.csv",
        SO_HEADS,
        [
            so("L1", "100.00", contract="C1", customer="Globex Corp", template="ratable_daily"),
            # An error row: 3 decimals.
            so("L2", "1.234", contract="C2", customer="Initech", template="ratable_daily"),
            so("Globex-3", "50.00", contract="C3", customer="Umbrella", template="ratable_daily"),
        ],
    )
    cli("import", "transactions", path, "--type", "sales_order")
    found = json.loads(cli("stage", "list", "--text", "gLoBeX", "--format", "json").stdout)
    assert [(r["line"], r["key"]) for r in found["rows"]] == [(2, "L1"), (4, "Globex-3")]
    found = json.loads(cli("stage", "list", "--text", "1.234", "--format", "json").stdout)
    assert [(r["line"], r["status"]) for r in found["rows"]] == [(3, "error")]
    found = json.loads(cli("stage", "list", "--text", "nobody", "--format", "json").stdout)
    assert found["rows"] == []


def _alembic(engine, revision, *, up=True):
    config = db._config()  # the test drives one migration step
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.upgrade if up else command.downgrade)(config, revision)


def test_migration_0002_moves_each_rows_json_into_payloads_and_back(db_url):
    engine = db.engine(db_url)
    _alembic(engine, "0001")
    old = {"1": {"doc_line_id": "A-1", "amount": "10.00"}, "3": {"doc_line_id": "A-3", "x": None}}
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO files (file_id, name, sha256, upload_type, mapping, uploaded_by,"
                " uploaded_at, rows_read) VALUES (7, 'b.csv', 'h', 'billing', 'revrec', 'me',"
                " :at, 2)"
            ),
            {"at": datetime(2024, 3, 1, tzinfo=UTC)},
        )
        for line, data in old.items():
            conn.execute(
                sa.text(
                    "INSERT INTO stage_rows (file_id, tab, line, status, key, data, messages)"
                    " VALUES (7, 'documents', :line, 'pending', :key, :data, '[]')"
                ),
                {"line": int(line), "key": data["doc_line_id"], "data": json.dumps(data)},
            )
    _alembic(engine, "head")
    with engine.connect() as conn:
        moved = payloads.read(conn, [7]).sort("line")
        columns = {c["name"] for c in sa.inspect(conn).get_columns("stage_rows")}
    assert moved.to_dicts() == [
        {"file_id": 7, "line": 1, "doc_line_id": "A-1", "amount": "10.00", "x": None},
        {"file_id": 7, "line": 3, "doc_line_id": "A-3", "amount": None, "x": None},
    ]
    assert "data" not in columns
    _alembic(engine, "0001", up=False)
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT line, data FROM stage_rows ORDER BY line")).all()
    assert [(line, json.loads(data)) for line, data in back] == [
        (1, {"doc_line_id": "A-1", "amount": "10.00", "x": None}),
        (3, {"doc_line_id": "A-3", "amount": None, "x": None}),
    ]
    engine.dispose()


def test_a_file_of_many_chunks_reads_back_whole(db_url, monkeypatch):
    monkeypatch.setattr(payloads, "CHUNK", 4)
    engine = db.engine(db_url)
    db.migrate(engine)
    rows = pl.DataFrame({"line": list(range(2, 12)), "a": [f"v{i}" for i in range(10)]})
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO files (file_id, name, sha256, upload_type, mapping, uploaded_by,"
                " uploaded_at, rows_read) VALUES (1, 'f.csv', 'h', 'cost', 'revrec', 'me', :at, 10)"
            ),
            {"at": datetime(2024, 3, 1, tzinfo=UTC)},
        )
        payloads.write(conn, 1, rows)
        chunks = conn.execute(sa.text("SELECT count(*) FROM stage_payloads")).scalar()
        back = payloads.read(conn, [1])
    assert chunks == 3
    assert back.drop("file_id").equals(rows)
    engine.dispose()
