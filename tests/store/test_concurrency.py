"""Concurrent runs (SPEC §4.5): imports and `revrec process` started at the same moment in
separate processes, on SQLite and PostgreSQL. One job run holds the processing lock at a time;
the others wait for it. No traceback, no row lost or processed twice."""

import subprocess
import sys
from pathlib import Path

from helpers import BILL_HEADS, SO_HEADS, bill, query, so, write_csv

REVREC = str(Path(sys.executable).with_name("revrec"))
SETUP = """
pob_templates:
  - {name: saas_daily, method: ratable_daily}
"""


def _start(url, *args):
    return subprocess.Popen(  # noqa: S603 - our own command line, with arguments of this test
        [REVREC, "--db", url, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_four_imports_and_two_process_runs_at_once(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    (tmp_path / "setup.yaml").write_text(SETUP)
    cli("setup", "load", tmp_path / "setup.yaml")
    base = [so(f"B-{i}", "365.00", contract="CB") for i in range(100)]
    cli("import", "transactions", write_csv(tmp_path / "base.csv", SO_HEADS, base),
        "--type", "sales_order")  # fmt: skip
    files = []
    for n in range(4):
        orders = [so(f"L{n}-{i}", "365.00", contract=f"C{n}-{i % 20}") for i in range(150)]
        files.append(write_csv(tmp_path / f"so{n}.csv", SO_HEADS, orders))
    bills = [bill("INV", f"I-{i}", f"I-{i}-1", "2024-03-05", "10.00", so_line=f"B-{i}")
             for i in range(100)]  # fmt: skip
    files.append(write_csv(tmp_path / "bill.csv", BILL_HEADS, bills))
    runs = [_start(cli.url, "import", "transactions", f, "--type", "sales_order")
            for f in files[:4]]  # fmt: skip
    runs.append(_start(cli.url, "import", "transactions", files[4], "--type", "billing"))
    runs += [_start(cli.url, "process") for _ in range(2)]
    outcomes = [(run.wait(timeout=600), *run.communicate()) for run in runs]
    for code, out, err in outcomes:
        assert code == 0, (out, err)
        assert "Traceback" not in err, err
    statuses = query(cli.url, "select status, count(*) from stage_rows group by status")
    assert statuses == [("processed", 800)]
    assert query(cli.url, "select count(*), count(distinct line_id) from line_versions") == [
        (700, 700)
    ]
    assert query(cli.url, "select count(*), sum(amount) from billings") == [(100, 100_000)]
    # Every line is posted once: 365.00 over 2024-03-01..2025-02-28 (365 days), March 31 days.
    assert query(cli.url, "select count(*), sum(amount) from postings") == [(700, 700 * 3_100)]
    assert query(cli.url, "select count(*) from dirty_lines") == [(0,)]
