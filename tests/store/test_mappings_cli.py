"""revrec mapping list / export / import (SPEC §4.3), on SQLite and PostgreSQL."""

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from helpers import postings, query, write_csv

from revrec.imports.mappings import SHIPPED, to_rows

EXAMPLES = Path(__file__).parents[2] / "examples"
RECURLY_FILE = EXAMPLES / "recurly_revenue_schedules.csv"

RECURLY_YAML = """\
mappings:
  - name: recurly
    upload_type: billing
    strict: false
    attributes:
      - {name: doc_number, upload_name: invoice_number, required: true, type: string}
      - {name: doc_line_id, upload_name: line_item_id, required: true, type: string}
      - {name: doc_date, upload_name: invoice_date, required: true, type: date}
      - {name: service_start_date, upload_name: line_item_start_date, required: false, type: date}
      - {name: service_end_date, upload_name: line_item_end_date, required: false, type: exclusive_date}
      - {name: amount, upload_name: total_amount, required: true, type: signed_amount}
      - {name: currency, upload_name: currency, required: true, type: string}
      - {name: customer_id, upload_name: account_code, required: true, type: string}
      - {name: origin, upload_name: origin, required: false, type: string}
      - {name: invoice_state, upload_name: invoice_state, required: false, type: string}
      - {name: invoice_origin, upload_name: invoice_origin, required: false, type: string}
      - {name: accounting_code, upload_name: accounting_code, required: false, type: string}
      - {name: schedule_type, upload_name: schedule_type, required: false, type: string}
"""  # noqa: E501 - one line per attribute, as the export writes it

# A billing mapping of the user's own: another system's headings, amounts read as revrec's.
ACME_YAML = """\
mappings:
  - name: acme
    upload_type: billing
    attributes:
      doc_type: Type
      doc_number: Invoice
      doc_line_id: Line Id
      doc_date: Date
      amount: Net
      currency: Currency
      customer_id: Customer
      service_start_date: From
      service_end_date: To
      schedule_type: Schedule
"""
SHIPPED_ROWS = [
    {"name": "recurly", "upload_type": "billing", "source": "shipped", "strict": False,
     "attributes": 13},
    {"name": "revrec", "upload_type": "sales_order", "source": "shipped", "strict": True,
     "attributes": 18},
    {"name": "revrec", "upload_type": "billing", "source": "shipped", "strict": True,
     "attributes": 19},
    {"name": "revrec", "upload_type": "cost", "source": "shipped", "strict": True,
     "attributes": 10},
    {"name": "revrec", "upload_type": "event", "source": "shipped", "strict": True,
     "attributes": 8},
]  # fmt: skip


def _state(url):
    """The stored mappings and the audit log: what an import may change."""
    return (
        query(url, "select * from mappings order by mapping, upload_type, position"),
        query(url, "select action, entity, before, after from audit_log order by id"),
    )


def _mapping_audit(url):
    return [
        (action, entity, json.loads(before) if before else None, json.loads(after))
        for action, entity, before, after in query(
            url,
            "select action, entity, before, after from audit_log "
            "where action = 'mapping.import' order by id",
        )
    ]


@pytest.fixture
def twin_url(db_url, tmp_path):
    """A second empty database of the same kind, to import the same file twice from scratch."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'twin.db'}"
        return
    server, _, name = db_url.rpartition("/")
    twin = f"{name}_twin"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{twin}"')
    try:
        yield f"{server}/{twin}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{twin}" WITH (FORCE)')


def test_recurly_exports_and_imports_under_a_new_name_as_the_same_mapping(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    assert cli("mapping", "export", "recurly").stdout == RECURLY_YAML
    exported = tmp_path / "recurly.yaml"
    assert cli("mapping", "export", "recurly", "--output", exported).stdout == (
        f"{exported}: exported mapping 'recurly'\n"
    )
    assert exported.read_text(encoding="utf-8") == RECURLY_YAML

    result = cli("mapping", "import", exported, "--name", "my_recurly")
    assert result.stdout == f"{exported}: mapping 'my_recurly' created for billing uploads\n"
    assert cli("mapping", "export", "my_recurly").stdout == RECURLY_YAML.replace(
        "name: recurly", "name: my_recurly"
    )
    stored = [
        # SQLite gives booleans back as 0/1.
        (mapping, kind, bool(strict), position, attribute, heading, bool(required), type_)
        for mapping, kind, strict, position, attribute, heading, required, type_ in query(
            cli.url,
            "select mapping, upload_type, strict, position, attribute, upload_name, required, "
            "type from mappings order by position",
        )
    ]
    expected = [{**row, "mapping": "my_recurly"} for row in to_rows(SHIPPED["recurly", "billing"])]
    assert stored == [tuple(row.values()) for row in expected]
    assert stored[4] == (
        "my_recurly", "billing", False, 4, "service_end_date", "line_item_end_date", False,
        "exclusive_date",
    )  # fmt: skip
    [(action, entity, before, after)] = _mapping_audit(cli.url)
    assert (action, entity, before) == ("mapping.import", "mapping:my_recurly:billing", None)
    assert after["name"] == "my_recurly"
    assert after["attributes"][5] == {
        "name": "amount",
        "upload_name": "total_amount",
        "required": True,
        "type": "signed_amount",
    }


def test_the_imported_copy_of_recurly_imports_a_recurly_file_identically(cli, twin_url, tmp_path):
    shipped, copy = cli.__class__(twin_url), cli
    for each in (shipped, copy):
        each("init", "--first-period", "2024-03")
    exported = tmp_path / "recurly.yaml"
    copy("mapping", "export", "recurly", "--output", exported)
    copy("mapping", "import", exported, "--name", "my_recurly")

    shipped("import", "transactions", RECURLY_FILE, "--type", "billing", "--mapping", "recurly")
    copy("import", "transactions", RECURLY_FILE, "--type", "billing", "--mapping", "my_recurly")
    stage = "select line, status, key, messages from stage_rows order by line"
    assert query(copy.url, stage) == query(shipped.url, stage)
    assert (
        postings(copy.url)
        == postings(shipped.url)
        == {
            # A month's plan, a one-time charge, 12,000.00 over 365 days (29 in March), and a
            # -100.00 credit over 31 days (28 in March): as tests/store/test_examples.py.
            ("3a6ae2555a2e2a76c077604bf5b90457", "2024-03"): 100_000,
            ("5b7cf3666b3f3b87d188715cf6c01568", "2024-03"): 25_000,
            ("6c8d04777c4a4c98e299826d07d12679", "2024-03"): 95_342,
            ("7d9e15888d5b5da9f3aa937e18e2378a", "2024-03"): -9_032,
        }
    )


def test_reimporting_an_edited_mapping_replaces_it_and_an_identical_one_changes_nothing(
    cli, tmp_path
):
    cli("init", "--first-period", "2024-03")
    source = tmp_path / "acme.yaml"
    source.write_text(ACME_YAML, encoding="utf-8")
    assert cli("mapping", "import", source).stdout == (
        f"{source}: mapping 'acme' created for billing uploads\n"
    )
    state = _state(cli.url)
    assert cli("mapping", "import", source).stdout == (
        f"{source}: mapping 'acme' is stored as in this file: nothing changed\n"
    )
    assert _state(cli.url) == state

    # Edit by export, change, import: the customer heading is now "Account".
    edited = tmp_path / "acme-edited.yaml"
    cli("mapping", "export", "acme", "--output", edited)
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text.replace("upload_name: Customer,", "upload_name: Account,"), "utf-8")
    result = cli("mapping", "import", edited, "--format", "json")
    assert json.loads(result.stdout) == {
        "file": str(edited),
        "mapping": "acme",
        "created": [],
        "replaced": ["billing"],
        "unchanged": [],
    }
    assert query(
        cli.url, "select position, upload_name from mappings where attribute = 'customer_id'"
    ) == [(6, "Account")]
    assert query(cli.url, "select count(*) from mappings") == [(10,)]
    audit = _mapping_audit(cli.url)
    assert [(a, e) for a, e, _, _ in audit] == [("mapping.import", "mapping:acme:billing")] * 2
    before, after = audit[1][2:]
    assert before["attributes"][6] == {
        "name": "customer_id",
        "upload_name": "Customer",
        "required": True,
        "type": "string",
    }
    assert after["attributes"][6]["upload_name"] == "Account"
    assert {k: v for k, v in before.items() if k != "attributes"} == {
        "name": "acme",
        "upload_type": "billing",
        "strict": True,
    }

    # The edited mapping reads a file with the new heading: 310.00 evenly over March.
    bills = write_csv(
        tmp_path / "acme_bills.csv",
        ["Type", "Invoice", "Line Id", "Date", "Net", "Currency", "Account", "From", "To",
         "Schedule"],
        [["INV", "A-1", "A-1-1", "2024-03-01", "310.00", "USD", "ACME", "2024-03-01",
          "2024-03-31", "evenly"]],
    )  # fmt: skip
    result = cli("import", "transactions", bills, "--type", "billing", "--mapping", "acme")
    assert result.stdout.splitlines()[0] == (
        "acme_bills.csv: 1 row read, 1 processed, 0 future, 0 pending, 0 error, 0 duplicate"
    )
    assert postings(cli.url) == {("A-1-1", "2024-03"): 31_000}


SHIPPED_REFUSED = [
    ((), (
        "mapping 'recurly' is shipped with revrec and cannot be replaced: import it under another "
        "name with --name NEW_NAME"
    )),
    (("--name", "revrec"), (
        "mapping 'revrec' is shipped with revrec and cannot be replaced: choose another --name"
    )),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), SHIPPED_REFUSED)
def test_overwriting_a_shipped_mapping_is_refused(cli, tmp_path, args, message):
    cli("init", "--first-period", "2024-03")
    exported = tmp_path / "recurly.yaml"
    cli("mapping", "export", "recurly", "--output", exported)
    state = _state(cli.url)
    result = cli("mapping", "import", exported, *args, ok=False)
    assert result.exit_code == 1
    assert str(result.exception) == f"{exported}: {message}"
    assert _state(cli.url) == state
    assert json.loads(cli("mapping", "list", "--format", "json").stdout) == {"rows": SHIPPED_ROWS}


# The first entry would replace acme's billing part; the second breaks the file, so neither lands.
GOOD_ENTRY = "  - {name: acme, upload_type: billing, attributes: {doc_type: T, doc_number: N, \
doc_line_id: L, doc_date: D, amount: A, currency: C, customer_id: X}}\n"
BAD_FILES = [
    (
        "mappings:\n  - name: acme\n   upload_type: cost\n",
        (
            "the mapping file is not valid YAML: line 3, column 4: expected <block end>, but found "
            "'<block mapping start>' (while parsing a block collection)"
        ),
    ),
    (
        "",
        "the file is empty: expected the key mappings, as `revrec mapping export` writes it",
    ),
    (
        "books: []\nmappings: []\n",
        (
            "expected the one key 'mappings', as `revrec mapping export` writes it: found 'books', "
            "'mappings'"
        ),
    ),
    (
        "mappings:\n"
        + GOOD_ENTRY
        + "  - {name: acme, upload_type: cost, stict: false, attributes: {cost_id: Id}}\n",
        (
            "mapping 'acme': unknown key 'stict': expected some of name, upload_type, strict, "
            "attributes"
        ),
    ),
    (
        (
            "mappings:\n  - name: acme\n    upload_type: billing\n    attributes:\n"
            "      - {name: doc_number, upload_name: N, requird: true}\n"
        ),
        (
            "mapping 'acme': attribute 'doc_number': unknown key 'requird': expected some of name, "
            "upload_name, required, type"
        ),
    ),
    (
        (
            "mappings:\n  - {name: acme, upload_type: billing, attributes: {doc_type: T, "
            "doc_nubmer: N, doc_line_id: L, doc_date: D, amount: A, currency: C, customer_id: X}}\n"
        ),
        "mapping 'acme': billing uploads need the attribute doc_number: map it to a heading",
    ),
    (
        (
            "mappings:\n  - {name: acme, upload_type: cost, attributes: {cost_id: I, cost_type: T, "
            "amount: A, currency: C, cost_date: D}}\n"
        ),
        "mapping 'acme': cost uploads need one of the attributes so_line_id or contract_id",
    ),
    (
        "mappings:\n"
        + GOOD_ENTRY
        + "  - {name: acme, upload_type: cost, attributes: {cost_id: I, cost_type: T, "
        "amount: {upload_name: A, type: signed_amount}, currency: C, cost_date: D, "
        "so_line_id: S}}\n",
        (
            "mapping 'acme': attribute 'amount': the type signed_amount is only for the attribute "
            "amount of billing mappings"
        ),
    ),
    (
        "mappings:\n  - {name: acme, upload_type: invoice, attributes: {}}\n",
        (
            "mapping 'acme': unknown upload_type 'invoice': expected one of sales_order, billing, "
            "cost, event"
        ),
    ),
    (
        "mappings:\n" + GOOD_ENTRY + GOOD_ENTRY.replace("acme", "other"),
        "the file holds the mappings 'acme', 'other': import one mapping at a time",
    ),
    (
        "mappings:\n" + GOOD_ENTRY.replace("doc_line_id: L", "doc_line_id: Line"),
        "mapping 'acme': 'Line' is reserved for the file line number",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_a_bad_file_is_refused_with_a_message_and_changes_nothing(cli, tmp_path, text, message):
    cli("init", "--first-period", "2024-03")
    source = tmp_path / "acme.yaml"
    source.write_text(ACME_YAML, encoding="utf-8")
    cli("mapping", "import", source)
    state = _state(cli.url)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    result = cli("mapping", "import", bad, ok=False)
    assert result.exit_code == 1
    assert str(result.exception) == f"{bad}: {message}"
    assert _state(cli.url) == state


def test_a_bad_file_is_one_line_on_stderr_and_exit_code_1(db_url, tmp_path, cli):
    cli("init", "--first-period", "2024-03")
    bad = tmp_path / "bad.yaml"
    bad.write_text("mappings:\n  - name: acme\n    upload_type: cost\n    attributes: [1]\n")
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "revrec", "--db", db_url, "mapping", "import", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: {bad}: mapping 'acme': attributes must map each attribute to its upload name, "
        "or list {name, upload_name, required, type} entries\n"
    )


def test_setup_load_checks_a_mapping_as_mapping_import_does_and_reads_an_export(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    bad = tmp_path / "setup.yaml"
    bad.write_text(BAD_FILES[5][0], encoding="utf-8")
    result = cli("setup", "load", bad, ok=False)
    assert str(result.exception) == f"{bad}: mappings[0]: {BAD_FILES[5][1]}"
    assert query(cli.url, "select count(*) from mappings") == [(0,)]
    # An export is a setup file of its own.
    exported = tmp_path / "recurly.yaml"
    exported.write_text(RECURLY_YAML.replace("name: recurly", "name: copied"), encoding="utf-8")
    assert cli("setup", "load", exported).stdout == f"{exported}: loaded 1 mappings\n"
    assert cli("mapping", "export", "copied").stdout == RECURLY_YAML.replace(
        "name: recurly", "name: copied"
    )
    # A setup file cannot replace a shipped mapping either, and changes nothing.
    shipped = tmp_path / "shipped.yaml"
    shipped.write_text(RECURLY_YAML, encoding="utf-8")
    refused = cli("setup", "load", shipped, ok=False)
    message = "mapping 'recurly' is shipped with revrec and cannot be replaced"
    assert (refused.exit_code, str(refused.exception)) == (
        1,
        f"{shipped}: mappings[0]: {message}: give your mapping another name",
    )
    assert query(cli.url, "select count(*) from mappings where mapping = 'recurly'") == [(0,)]


def test_list_shows_the_shipped_mappings_and_the_users_own(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    assert json.loads(cli("mapping", "list", "--format", "json").stdout) == {"rows": SHIPPED_ROWS}
    source = tmp_path / "acme.yaml"
    source.write_text(ACME_YAML, encoding="utf-8")
    cli("mapping", "import", source)
    exported = tmp_path / "recurly.yaml"
    cli("mapping", "export", "recurly", "--output", exported)
    cli("mapping", "import", exported, "--name", "my_recurly")
    assert json.loads(cli("mapping", "list", "--format", "json").stdout) == {
        "rows": [
            {"name": "acme", "upload_type": "billing", "source": "user", "strict": True,
             "attributes": 10},
            {"name": "my_recurly", "upload_type": "billing", "source": "user", "strict": False,
             "attributes": 13},
            *SHIPPED_ROWS,
        ]
    }  # fmt: skip
    assert cli("mapping", "list", "--format", "csv").stdout.splitlines()[:2] == [
        "name,upload_type,source,strict,attributes",
        "acme,billing,user,true,10",
    ]


def test_export_names_what_is_unknown(cli):
    cli("init", "--first-period", "2024-03")
    cases = [
        (("nope",), "unknown mapping 'nope': expected one of recurly, revrec"),
        (("recurly", "--type", "cost"),
         "mapping 'recurly' has no cost part: it maps billing uploads"),
        (("revrec", "--type", "invoice"),
         "unknown upload type 'invoice': expected one of sales_order, billing, cost, event"),
    ]  # fmt: skip
    for args, message in cases:
        result = cli("mapping", "export", *args, ok=False)
        assert (result.exit_code, str(result.exception)) == (1, message)
    assert cli("mapping", "export", "revrec", "--type", "event").stdout.splitlines()[:5] == [
        "mappings:",
        "  - name: revrec",
        "    upload_type: event",
        "    strict: true",
        "    attributes:",
    ]
