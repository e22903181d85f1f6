"""Whole reports of the shipped examples (`revrec init --demo`: USD, EUR and JPY contracts, a
contract asset, credit memos, an invoice cancellation, billing-driven lines) against golden
JSON files in tests/store/golden/, on SQLite and PostgreSQL: March (open, then closed) and
April. A golden file changes only when asked: `REVREC_REFRESH_GOLDEN=1 pytest
tests/store/test_report_golden.py` rewrites them, and the diff is reviewed like code.
"""

import json
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
REPORTS = ("waterfall", "liability", "asset", "insight", "rpo", "rollforward")
REFRESH = os.environ.get("REVREC_REFRESH_GOLDEN") == "1"


def _check(name, text):
    path = GOLDEN / name
    shown = json.dumps(json.loads(text), indent=1) + "\n"
    if REFRESH:
        path.parent.mkdir(exist_ok=True)
        path.write_text(shown, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with REVREC_REFRESH_GOLDEN=1"
    assert shown == path.read_text(encoding="utf-8"), name


def _reports(cli, period):
    return {name: cli("report", name, "--period", period, "--format", "json").stdout
            for name in REPORTS}  # fmt: skip


@pytest.fixture
def demo(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli("init", "--demo")
    return cli


def test_the_reports_of_the_shipped_examples(demo, tmp_path):
    march = _reports(demo, "2024-03")
    for name, text in march.items():
        _check(f"{name}-2024-03.json", text)
    local = demo("--book", "LOCAL", "report", "waterfall", "--period", "2024-03", "--format",
                 "json")  # fmt: skip
    _check("waterfall-LOCAL-2024-03.json", local.stdout)
    for book in ("PRIMARY", "LOCAL"):
        reconcile = demo("--book", book, "report", "reconcile", "--format", "json").stdout
        assert json.loads(reconcile)["pass"] is True
        demo("--book", book, "je", "approve")
        demo("--book", book, "je", "transfer", "--output", tmp_path / "gl")
        demo("--book", book, "je", "summarize")
    demo("period", "close", "--yes", "--acknowledge-errors")
    assert _reports(demo, "2024-03") == march  # closed: the same to the byte
    for name, text in _reports(demo, "2024-04").items():
        _check(f"{name}-2024-04.json", text)
    grouped = demo("report", "waterfall", "--by", "item", "--periods", "3", "--format", "json")
    _check("waterfall-by-item-2024-04.json", grouped.stdout)
