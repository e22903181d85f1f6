"""The reports' Basis cache (decision 89): a read takes the cached Basis while nothing was
audit-logged, and a new one after any change (an import, a run, a step)."""

from datetime import UTC, datetime

from helpers import SO_HEADS, so, write_csv

from revrec.services import reports
from revrec.services.book_period import Journal
from revrec.services.context import Context
from revrec.services.database import open_engine


def test_a_change_makes_a_new_basis_and_no_change_keeps_it(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    cli("setup", "load", "examples/setup.yaml")
    cli("import", "transactions", write_csv(tmp_path / "a.csv", SO_HEADS, [so("L1", "1200.00")]),
        "--type", "sales_order")  # fmt: skip
    engine = open_engine(cli.url)
    journal = Journal("PRIMARY", "2024-03")
    with engine.connect() as conn:
        first = reports.cached_basis(conn, journal)
        assert reports.cached_basis(conn, journal) is first
    before = cli("report", "waterfall", "--format", "json").output
    cli("import", "transactions", write_csv(tmp_path / "b.csv", SO_HEADS, [so("L2", "600.00")]),
        "--type", "sales_order")  # fmt: skip
    with engine.connect() as conn:
        second = reports.cached_basis(conn, journal)
    assert second is not first
    after = cli("report", "waterfall", "--format", "json").output
    assert '"L2"' in after
    assert '"L2"' not in before
    ctx = Context(engine, "test", datetime.now(UTC))
    found = reports.report(ctx, "insight")
    assert sorted(found.rows["contract_id"]) == ["C1"]
    engine.dispose()
