"""engine.journals: the journal lines of a book and period (SPEC §6), their GL codes, and the
§5.1 identity they keep: GL deferred_revenue = max(B - R, 0), contract_asset = max(R - B, 0)."""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from revrec.calendar import parse_period
from revrec.engine.journals import (
    ACCOUNT_BALANCE_SCHEMA,
    ACCOUNT_SCHEMA,
    BILLINGS_SCHEMA,
    COSTS_SCHEMA,
    JOURNAL_SCHEMA,
    RECLASS_SCHEMA,
    REVENUE_SCHEMA,
    ROLES,
    TOTAL_SCHEMA,
    account_balances,
    journal_lines,
    unbalanced,
)
from revrec.errors import InputError

JUNE = parse_period("2024-06")
# The chart of SPEC §2.1 for every book, a clearing account, and support_monthly's own revenue.
CHART = {
    "accounts_receivable": "1200",
    "deferred_revenue": "2400",
    "contract_asset": "1300",
    "revenue": "4000",
    "contract_cost_asset": "1500",
    "contract_cost_expense": "6100",
    "cost_clearing": "2150",
}
ACCOUNTS = [("", "default", "", role, code) for role, code in CHART.items()] + [
    ("", "template", "support_monthly", "revenue", "4010")
]


def frame(schema, rows):
    return pl.DataFrame(rows, schema=schema, orient="row")


def journal(
    *, billings=(), revenue=(), reclass=(), costs=(), accounts=ACCOUNTS, book="PRIMARY", period=JUNE
):
    return journal_lines(
        book=book,
        period=period,
        billings=frame(BILLINGS_SCHEMA, list(billings)),
        revenue=frame(REVENUE_SCHEMA, list(revenue)),
        reclass=frame(RECLASS_SCHEMA, list(reclass)),
        costs=frame(COSTS_SCHEMA, list(costs)),
        accounts=frame(ACCOUNT_SCHEMA, list(accounts)),
    )


def entries(lines):
    """account, gl_code, debit, credit, source, source_id of each line."""
    return lines.select("account", "gl_code", "debit", "credit", "source", "source_id").rows()


# ---------------------------------------------------------------------------------------------
# A worked example


def test_worked_example():
    # Contract C-1 (USD): INV 1,200.00 and a CM of 100.00 on support line L1, 300.00 of it
    # recognized in June; a capitalized commission of 60.00 and its first amortization, 5.00.
    # Contract C-2: its license line L2 recognizes 50.00 unbilled, so its asset goes 0 -> 50.00.
    lines = journal(
        billings=[
            ("INV-1-1", "INV", "L1", "C-1", "USD", "SUP", "support_monthly", 120_000),
            ("CM-1-1", "CM", "L1", "C-1", "USD", "SUP", "support_monthly", -10_000),
        ],
        revenue=[
            ("L1", "C-1", "USD", "SUP", "support_monthly", 30_000),
            ("L2", "C-2", "USD", "LIC", "license_pit", 5_000),
        ],
        reclass=[("C-1", "USD", 0, 0), ("C-2", "USD", 0, 5_000)],
        costs=[
            ("K-1", None, "C-1", "USD", None, None, "capitalize", 6_000),
            ("K-2", None, "C-1", "USD", None, None, "amortize", 500),
        ],
    )
    assert lines.schema == pl.Schema(JOURNAL_SCHEMA)
    assert entries(lines) == [
        # The CM reverses its part of the invoice (source ids in order: CM-1-1 < INV-1-1).
        ("deferred_revenue", "2400", 10_000, 0, "billing", "CM-1-1"),
        ("accounts_receivable", "1200", 0, 10_000, "billing", "CM-1-1"),
        ("accounts_receivable", "1200", 120_000, 0, "billing", "INV-1-1"),
        ("deferred_revenue", "2400", 0, 120_000, "billing", "INV-1-1"),
        # support_monthly has its own revenue account; license_pit uses the default.
        ("deferred_revenue", "2400", 30_000, 0, "revenue", "L1"),
        ("revenue", "4010", 0, 30_000, "revenue", "L1"),
        ("deferred_revenue", "2400", 5_000, 0, "revenue", "L2"),
        ("revenue", "4000", 0, 5_000, "revenue", "L2"),
        # C-1's asset stays 0: no lines. C-2's rises by 50.00.
        ("contract_asset", "1300", 5_000, 0, "reclass", "C-2"),
        ("deferred_revenue", "2400", 0, 5_000, "reclass", "C-2"),
        ("contract_cost_asset", "1500", 6_000, 0, "cost", "K-1"),
        ("cost_clearing", "2150", 0, 6_000, "cost", "K-1"),
        ("contract_cost_expense", "6100", 500, 0, "amortization", "K-2"),
        ("contract_cost_asset", "1500", 0, 500, "amortization", "K-2"),
    ]
    assert lines.select("book", "period", "currency").unique().rows() == [("PRIMARY", JUNE, "USD")]
    assert lines.filter(pl.col("source") == "reclass")["line_id"].to_list() == [None, None]
    assert lines.filter(pl.col("source_id") == "L2")["contract_id"].to_list() == ["C-2", "C-2"]
    assert unbalanced(lines).height == 0

    balances = account_balances(lines)
    assert balances.schema == pl.Schema(ACCOUNT_BALANCE_SCHEMA)
    assert balances.select("account", "gl_code", "debit", "credit").rows() == [
        ("accounts_receivable", "1200", 120_000, 10_000),
        ("contract_asset", "1300", 5_000, 0),
        ("contract_cost_asset", "1500", 6_000, 500),
        ("contract_cost_expense", "6100", 500, 0),
        ("cost_clearing", "2150", 0, 6_000),
        ("deferred_revenue", "2400", 45_000, 125_000),
        ("revenue", "4000", 0, 5_000),
        ("revenue", "4010", 0, 30_000),
    ]
    # deferred_revenue's credit balance 800.00 is C-1's liability, max(1,100 - 300, 0), plus
    # C-2's, max(0 - 50, 0) = 0; contract_asset's 50.00 debit is C-2's asset, max(50 - 0, 0).


def test_negative_amounts_are_written_as_the_reverse():
    lines = journal(
        billings=[("IVC-1-1", "IVC", "L1", "C-1", "USD", None, None, -40_000)],
        revenue=[("L1", "C-1", "USD", None, None, -2_500)],  # a catch-up that takes revenue back
        reclass=[("C-1", "USD", 7_000, 3_000)],  # the asset falls by 40.00
        costs=[
            ("K-9", "L1", "C-1", "USD", None, None, "capitalize", -1_000),  # a clawback
            ("K-8", "L1", "C-1", "USD", None, None, "amortize", -100),
            ("K-7", "L1", "C-1", "USD", None, None, "expense", -50),
        ],
    )
    assert entries(lines) == [
        ("deferred_revenue", "2400", 40_000, 0, "billing", "IVC-1-1"),
        ("accounts_receivable", "1200", 0, 40_000, "billing", "IVC-1-1"),
        ("revenue", "4000", 2_500, 0, "revenue", "L1"),
        ("deferred_revenue", "2400", 0, 2_500, "revenue", "L1"),
        ("deferred_revenue", "2400", 4_000, 0, "reclass", "C-1"),
        ("contract_asset", "1300", 0, 4_000, "reclass", "C-1"),
        ("cost_clearing", "2150", 50, 0, "cost", "K-7"),
        ("contract_cost_expense", "6100", 0, 50, "cost", "K-7"),
        ("cost_clearing", "2150", 1_000, 0, "cost", "K-9"),
        ("contract_cost_asset", "1500", 0, 1_000, "cost", "K-9"),
        ("contract_cost_asset", "1500", 100, 0, "amortization", "K-8"),
        ("contract_cost_expense", "6100", 0, 100, "amortization", "K-8"),
    ]


def test_expensed_cost_and_zero_amounts():
    lines = journal(
        billings=[("INV-0", "INV", "L1", "C-1", "USD", None, None, 0)],
        revenue=[("L1", "C-1", "USD", None, None, 0)],
        reclass=[("C-1", "USD", 2_000, 2_000), ("C-2", "USD", None, None)],
        costs=[
            ("K-1", None, "C-1", "USD", None, None, "expense", 1_234),
            ("K-2", None, "C-1", "USD", None, None, "amortize", 0),
        ],
    )
    assert entries(lines) == [
        ("contract_cost_expense", "6100", 1_234, 0, "cost", "K-1"),
        ("cost_clearing", "2150", 0, 1_234, "cost", "K-1"),
    ]


def test_order_does_not_depend_on_the_input_order():
    billings = [
        (f"INV-{n}", "INV", f"L{n}", "C-1", "EUR", None, None, 100 * n) for n in range(1, 6)
    ]
    costs = [("K-1", None, "C-1", "EUR", None, None, "amortize", 10)]
    costs += [("K-2", None, "C-1", "EUR", None, None, "capitalize", 20)]
    revenue = [("L3", "C-1", "EUR", None, None, 30), ("L1", "C-1", "EUR", None, None, 10)]
    forward = journal(billings=billings, revenue=revenue, costs=costs)
    backward = journal(billings=billings[::-1], revenue=revenue[::-1], costs=costs[::-1])
    assert forward.equals(backward)
    assert forward["source"].to_list() == ["billing"] * 10 + ["revenue"] * 4 + [
        "cost",
        "cost",
        "amortization",
        "amortization",
    ]
    assert forward["source_id"].to_list()[:10:2] == ["INV-1", "INV-2", "INV-3", "INV-4", "INV-5"]
    assert forward["source_id"].to_list()[10::2] == ["L1", "L3", "K-2", "K-1"]
    assert (forward["debit"].to_list()[::2]) == [100, 200, 300, 400, 500, 10, 30, 20, 10]


# ---------------------------------------------------------------------------------------------
# Accounts


PRECEDENCE = [
    ("", "default", "", "revenue", "4000"),
    ("", "default", "", "deferred_revenue", "2400"),
    ("LOCAL", "default", "", "revenue", "4900"),
    ("", "template", "support_monthly", "revenue", "4010"),
    ("LOCAL", "template", "support_monthly", "revenue", "4910"),
    ("", "item", "SUP", "revenue", "4020"),
    ("LOCAL", "item", "SUP", "revenue", "4920"),
    ("", "item", "ADD", "revenue", "4030"),
    ("OTHER", "item", "PRO", "revenue", "9999"),  # another book's: never used here
    ("OTHER", "default", "", "revenue", "9998"),
]
PRECEDENCE_LINES = [
    ("A", "C-1", "USD", "SUP", "support_monthly", 100),  # item
    ("B", "C-1", "USD", "ADD", "support_monthly", 100),  # item, for every book only
    ("C", "C-1", "USD", "PRO", "support_monthly", 100),  # template
    ("D", "C-1", "USD", "PRO", "license_pit", 100),  # default
    ("E", "C-1", "USD", None, None, 100),  # default
]


def revenue_codes(book):
    lines = journal(revenue=PRECEDENCE_LINES, accounts=PRECEDENCE, book=book)
    revenue = lines.filter(pl.col("account") == "revenue")
    assert lines.filter(pl.col("account") == "deferred_revenue")["gl_code"].unique().to_list() == [
        "2400"
    ]
    return dict(revenue.select("source_id", "gl_code").rows())


def test_item_over_template_over_default():
    assert revenue_codes("PRIMARY") == {
        "A": "4020",
        "B": "4030",
        "C": "4010",
        "D": "4000",
        "E": "4000",
    }


def test_a_book_row_wins_over_an_every_book_row_of_the_same_scope():
    # B: the item row for every book is more specific than LOCAL's own template row.
    assert revenue_codes("LOCAL") == {
        "A": "4920",
        "B": "4030",
        "C": "4910",
        "D": "4900",
        "E": "4900",
    }


def test_reclass_uses_the_book_default_accounts():
    accounts = [
        *ACCOUNTS,
        ("", "item", "", "contract_asset", "1399"),  # no item has an empty code
        ("", "template", "", "contract_asset", "1398"),
        ("LOCAL", "default", "", "contract_asset", "1310"),
    ]
    lines = journal(reclass=[("C-1", "USD", 0, 100)], accounts=accounts, book="LOCAL")
    assert entries(lines) == [
        ("contract_asset", "1310", 100, 0, "reclass", "C-1"),
        ("deferred_revenue", "2400", 0, 100, "reclass", "C-1"),
    ]


def test_a_role_without_a_gl_code_keeps_its_line_with_a_null_code():
    accounts = [row for row in ACCOUNTS if row[3] != "cost_clearing"]
    accounts.append(("", "default", "", "contract_cost_asset", None))  # a code-less row is no code
    lines = journal(
        costs=[("K-1", None, "C-1", "USD", None, None, "capitalize", 6_000)], accounts=accounts
    )
    assert entries(lines) == [
        ("contract_cost_asset", "1500", 6_000, 0, "cost", "K-1"),
        ("cost_clearing", None, 0, 6_000, "cost", "K-1"),
    ]
    assert account_balances(lines)["gl_code"].to_list() == ["1500", None]


def test_no_accounts_at_all():
    lines = journal(revenue=[("L1", "C-1", "USD", "SUP", None, 100)], accounts=[])
    assert lines["gl_code"].to_list() == [None, None]
    assert lines["account"].to_list() == ["deferred_revenue", "revenue"]


def test_unknown_cost_kind_or_account_scope_is_an_input_error():
    with pytest.raises(InputError, match="unknown cost kind"):
        journal(costs=[("K-1", None, "C-1", "USD", None, None, "accrue", 1)])
    with pytest.raises(InputError, match="unknown account scope"):
        journal(accounts=[("", "contract", "C-1", "revenue", "4000")])


# ---------------------------------------------------------------------------------------------
# Empty inputs and the checks


def test_empty_inputs_give_an_empty_journal():
    lines = journal()
    assert lines.equals(pl.DataFrame(schema=JOURNAL_SCHEMA))
    assert lines.schema == pl.Schema(JOURNAL_SCHEMA)
    assert unbalanced(lines).schema == pl.Schema(TOTAL_SCHEMA)
    assert unbalanced(lines).height == 0
    assert account_balances(lines).schema == pl.Schema(ACCOUNT_BALANCE_SCHEMA)
    assert account_balances(lines).height == 0


def test_untyped_null_columns_are_read_as_their_schema():
    # A frame built from Python values types an all-null column as Null.
    billings = pl.DataFrame(
        {
            "doc_line_id": ["INV-1"],
            "doc_type": ["INV"],
            "line_id": ["L1"],
            "contract_id": ["C-1"],
            "currency": ["USD"],
            "item_code": [None],
            "pob_template": [None],
            "amount": [100],
        }
    )
    lines = journal_lines(
        book="PRIMARY",
        period=JUNE,
        billings=billings,
        revenue=pl.DataFrame(schema=REVENUE_SCHEMA),
        reclass=pl.DataFrame(schema=RECLASS_SCHEMA),
        costs=pl.DataFrame(schema=COSTS_SCHEMA),
        accounts=frame(ACCOUNT_SCHEMA, ACCOUNTS),
    )
    assert lines.schema == pl.Schema(JOURNAL_SCHEMA)
    assert lines["gl_code"].to_list() == ["1200", "2400"]


def test_unbalanced_reports_each_journal_that_does_not_balance():
    rows = [
        ("PRIMARY", JUNE, "accounts_receivable", "1200", "USD", 10_000, 0),
        ("PRIMARY", JUNE, "deferred_revenue", "2400", "USD", 0, 10_000),
        ("PRIMARY", JUNE + 1, "accounts_receivable", "1200", "USD", 10_000, 0),
        ("PRIMARY", JUNE + 1, "deferred_revenue", "2400", "USD", 0, 9_999),
        ("PRIMARY", JUNE + 1, "accounts_receivable", "1200", "JPY", 500, 0),
        ("PRIMARY", JUNE + 1, "deferred_revenue", "2400", "JPY", 0, 500),
        ("LOCAL", JUNE, "revenue", None, "USD", 0, 42),
    ]
    lines = pl.DataFrame(
        [(*row, "C-1", None, "billing", "INV-1") for row in rows],
        schema=JOURNAL_SCHEMA,
        orient="row",
    )
    found = unbalanced(lines)
    assert found.schema == pl.Schema(TOTAL_SCHEMA)
    assert found.rows() == [
        ("LOCAL", JUNE, "USD", 0, 42),
        ("PRIMARY", JUNE + 1, "USD", 10_000, 9_999),
    ]


# ---------------------------------------------------------------------------------------------
# Properties

CURRENCIES = ("USD", "JPY")
ITEMS = ("SUP", "LIC", None)
TEMPLATES = ("support_monthly", "license_pit", None)
KINDS = ("capitalize", "amortize", "expense")
money = st.integers(-(10**12), 10**12) | st.sampled_from([0, 1, -1])
lines_ix = st.integers(0, 5)


def line(n):
    """Line n: its contract, currency, item and template are fixed by n."""
    return f"L{n}", f"C{n % 3}", CURRENCIES[n % 3 % 2], ITEMS[n % 3], TEMPLATES[n % 2]


@st.composite
def inputs(draw):
    billings = [
        (f"D{i}", doc_type, *line(n), abs(a) if doc_type in {"INV", "CMC"} else -abs(a))
        for i, (doc_type, n, a) in enumerate(
            draw(st.lists(st.tuples(st.sampled_from(("INV", "IVC", "CM", "CMC")), lines_ix, money)))
        )
    ]
    revenue = [(*line(n), a) for n, a in draw(st.lists(st.tuples(lines_ix, money)))]
    assets = st.integers(0, 10**12) | st.none()
    reclass = [
        (f"C{c}", CURRENCIES[c % 2], before, after)
        for c, before, after in draw(st.lists(st.tuples(st.integers(0, 2), assets, assets)))
    ]
    costs = []
    for i, (kind, n, whole, a) in enumerate(
        draw(st.lists(st.tuples(st.sampled_from(KINDS), lines_ix, st.booleans(), money)))
    ):
        line_id, contract, currency, item, template = line(n)
        costs.append(
            (f"K{i}", None if whole else line_id, contract, currency, item, template, kind, a)
        )
    return billings, revenue, reclass, costs


def nonzero(billings, revenue, reclass, costs):
    moved = [r[-1] for r in billings] + [r[-1] for r in revenue] + [r[-1] for r in costs]
    moved += [(after or 0) - (before or 0) for _, _, before, after in reclass]
    return sum(1 for a in moved if a != 0)


@given(inputs(), st.randoms(use_true_random=False))
def test_every_journal_balances_per_currency(drawn, shuffler: random.Random):
    billings, revenue, reclass, costs = drawn
    lines = journal(billings=billings, revenue=revenue, reclass=reclass, costs=costs)
    assert lines.schema == pl.Schema(JOURNAL_SCHEMA)
    assert unbalanced(lines).height == 0
    assert lines.height == 2 * nonzero(billings, revenue, reclass, costs)
    debit, credit = pl.col("debit"), pl.col("credit")
    assert (
        lines.filter(~(((debit > 0) & (credit == 0)) | ((debit == 0) & (credit > 0)))).height == 0
    )
    assert set(lines["account"].to_list()) <= set(ROLES)
    assert lines["gl_code"].null_count() == 0
    # Deterministic: the same rows in another order give the same journal.
    shuffled = [list(part) for part in drawn]
    for part in shuffled:
        shuffler.shuffle(part)
    again = journal(
        billings=shuffled[0], revenue=shuffled[1], reclass=shuffled[2], costs=shuffled[3]
    )
    assert again.equals(lines)


contract_months = st.lists(
    st.tuples(st.lists(money.filter(lambda a: a != 0), max_size=3), money), min_size=1, max_size=6
)


@given(st.lists(contract_months, min_size=1, max_size=3))
def test_gl_balances_are_the_contract_liability_and_asset(contracts):
    # contracts[c][k]: contract c's billings and revenue in period k. Each period's reclass
    # moves the asset from max(R - B, 0) at the end of the period before to the one at its end.
    billed = [0] * len(contracts)
    recognized = [0] * len(contracts)
    asset = [0] * len(contracts)
    net: dict[tuple[str, str], int] = {}  # the GL balance (debit - credit) per contract, account
    for k in range(max(len(months) for months in contracts)):
        billings, revenue, reclass = [], [], []
        for c, months in enumerate(contracts):
            if k >= len(months):
                continue
            docs, earned = months[k]
            contract, currency = f"C{c}", CURRENCIES[c % 2]
            for i, a in enumerate(docs):
                kind = "INV" if a > 0 else "CM"
                billings.append((f"D{c}-{k}-{i}", kind, f"L{c}", contract, currency, None, None, a))
            revenue.append((f"L{c}", contract, currency, None, None, earned))
            billed[c] += sum(docs)
            recognized[c] += earned
            before, asset[c] = asset[c], max(recognized[c] - billed[c], 0)
            reclass.append((contract, currency, before, asset[c]))
        lines = journal(billings=billings, revenue=revenue, reclass=reclass, period=JUNE + k)
        moved = lines.group_by("contract_id", "account").agg(
            (pl.col("debit").sum() - pl.col("credit").sum()).alias("net")
        )
        for contract, account, amount in moved.rows():
            net[contract, account] = net.get((contract, account), 0) + amount
        for c in range(len(contracts)):
            liability = -net.get((f"C{c}", "deferred_revenue"), 0)
            contract_asset = net.get((f"C{c}", "contract_asset"), 0)
            assert liability == max(billed[c] - recognized[c], 0)
            assert contract_asset == max(recognized[c] - billed[c], 0)
            assert net.get((f"C{c}", "accounts_receivable"), 0) == billed[c]
            assert -net.get((f"C{c}", "revenue"), 0) == recognized[c]
