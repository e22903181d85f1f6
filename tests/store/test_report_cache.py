"""The read cache (decision 89): a read takes the kept Basis, checks and fingerprint while
nothing was audit-logged, and new ones after any change (an import, a run, a step)."""

from datetime import UTC, datetime

from helpers import SO_HEADS, so, write_csv

from revrec.services import journals, reconcile, reports
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
    with engine.connect() as conn:
        kept = reconcile.checks(conn, "PRIMARY", "2024-03", read=True)
        assert kept == reconcile.checks(conn, "PRIMARY", "2024-03")  # as computed afresh
        assert kept == reconcile.checks(conn, "PRIMARY", "2024-03", read=True)
    ctx = Context(engine, "test", datetime.now(UTC))
    seen = journals.card(ctx)["fingerprint"]
    assert seen == journals.fingerprint(ctx)
    cli("import", "transactions", write_csv(tmp_path / "c.csv", SO_HEADS, [so("L3", "300.00")]),
        "--type", "sales_order")  # fmt: skip
    assert journals.card(ctx)["fingerprint"] == journals.fingerprint(ctx) != seen
    with engine.connect() as conn:
        fresh = reconcile.checks(conn, "PRIMARY", "2024-03")
        assert reconcile.checks(conn, "PRIMARY", "2024-03", read=True) == fresh
        assert fresh != kept
    after = cli("report", "waterfall", "--format", "json").output
    assert '"L2"' in after
    assert '"L2"' not in before
    found = reports.report(ctx, "insight")
    assert sorted(found.rows["contract_id"]) == ["C1"]
    engine.dispose()
