"""What every command checks before it works, and what it shows (QA findings), on SQLite and
PostgreSQL: the database and --book, the files and options of an import, the init options,
listings without rows, the import summary in each format, and stage delete's order."""

import json
import pathlib
from pathlib import Path

import sqlalchemy as sa
from helpers import SO_HEADS, query, so, write_csv
from typer.testing import CliRunner

from revrec.cli import options
from revrec.cli.main import app, command_words
from revrec.store import db

EXAMPLES = Path(__file__).parents[2] / "examples"
# `serve` picks the book on each page (?book=), and with --demo creates its database.
NOT_FOR_A_DATABASE = {("init",), ("demo",), ("bench",), ("serve",)}


def _failure(result):
    return result.exit_code, str(result.exception)


def _where(db_url):
    """How messages name the test's database: a SQLite file's path, else the URL."""
    url = sa.make_url(db_url)
    return url.database if url.drivername == "sqlite" else db_url


def _init(cli):
    cli("init", "--first-period", "2024-03")
    cli("setup", "load", EXAMPLES / "setup.yaml")  # books PRIMARY and LOCAL


def _import_so(cli, path, *options, ok=True):
    return cli("import", "transactions", path, "--type", "sales_order", *options, ok=ok)


# 1. An import of a directory or of an unreadable file.


def test_importing_a_directory_or_an_unreadable_file_is_a_one_line_error(
    cli, tmp_path, monkeypatch
):
    _init(cli)
    folder = tmp_path / "uploads"
    folder.mkdir()
    expected = (1, f"{folder}: is a directory, expected a CSV or XLSX file")
    assert _failure(_import_so(cli, folder, ok=False)) == expected
    assert _failure(cli("import", "events", folder, "--event", "milestone", ok=False)) == expected

    locked = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "100.00")])
    opened = pathlib.Path.open

    def refuse(self, *args, **kwargs):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", refuse)
    assert _failure(_import_so(cli, locked, ok=False)) == (
        1,
        f"{locked}: cannot read the file: Permission denied",
    )
    assert query(cli.url, "select count(*) from files") == [(0,)]


# 3 and 6. The database as messages name it: where it is, never its password.


def test_a_command_before_init_names_the_database_and_creates_nothing(db_url):
    url = sa.make_url(db_url)
    if url.drivername == "sqlite":
        given, shown = db_url, db_url
    else:  # trust authentication: a password is accepted, and must never be shown
        with_password = url.set(password="s3cret")  # noqa: S106 - not a credential
        given = with_password.render_as_string(hide_password=False)
        shown = with_password.render_as_string(hide_password=True)
    cli = CliRunner()
    stage = cli.invoke(app, ["--db", given, "stage", "list"])
    where = _where(db_url) if url.drivername == "sqlite" else shown
    assert _failure(stage) == (1, f"no revrec database at {where}: run `revrec init` first")
    if url.drivername == "sqlite":
        assert not Path(url.database).exists()
    made = cli.invoke(app, ["--db", given, "init", "--first-period", "2024-03"])
    assert (made.exit_code, made.stdout) == (
        0,
        f"{shown}: book PRIMARY created, open period 2024-03\n",
    )
    assert "s3cret" not in made.stdout + str(stage.exception)


# 4. init --first-period.


def test_init_checks_first_period_and_never_ignores_it(cli, db_url):
    bad = cli("init", "--first-period", "2024-13", ok=False)
    assert _failure(bad) == (1, "--first-period '2024-13': expected a period YYYY-MM, e.g. 2024-03")
    url = sa.make_url(db_url)
    if url.drivername == "sqlite":
        assert not Path(url.database).exists()  # checked before the database is created
    cli("init", "--first-period", "2024-03")
    same = cli("init", "--first-period", "2024-03")
    assert same.stdout.endswith(": book PRIMARY already set up, open period 2024-03\n")
    other = cli("init", "--first-period", "2024-04", ok=False)
    assert _failure(other) == (
        1,
        (
            "the database is already set up with open period 2024-03: "
            "--first-period 2024-04 is not applied"
        ),
    )
    again = cli("init", "--first-period", "2024-13", ok=False)
    assert _failure(again) == (
        1,
        "--first-period '2024-13': expected a period YYYY-MM, e.g. 2024-03",
    )
    assert query(cli.url, "select book, period, status from periods") == [
        ("PRIMARY", "2024-03", "open")
    ]


# 5. --book, for every command that works on a database.


def _database_commands():
    """Every command of the app as its words, but those that open no database (or create it)."""
    return sorted(w for w in command_words() if w not in NOT_FOR_A_DATABASE)


def test_every_database_command_refuses_an_unknown_book(cli, tmp_path):
    _init(cli)
    upload = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "100.00")])
    mapping = tmp_path / "revrec.yaml"
    cli("mapping", "export", "revrec", "--type", "cost", "--output", mapping)
    arguments = {
        ("audit", "list"): [],
        ("audit", "verify"): [],
        ("import", "events"): [upload, "--event", "milestone"],
        ("import", "transactions"): [upload, "--type", "sales_order"],
        ("explain",): ["L1"],
        ("export", "schedules"): [],
        ("je", "approve"): [],
        ("je", "export"): [],
        ("je", "list"): [],
        ("je", "revoke"): [],
        ("je", "show"): [],
        ("je", "summarize"): [],
        ("je", "transfer"): ["--output", tmp_path / "gl"],
        ("jobs", "disable"): ["transaction_import"],
        ("jobs", "enable"): ["transaction_import"],
        ("jobs", "list"): [],
        ("jobs", "run"): ["transaction_import"],
        ("lines", "list"): [],
        ("lines", "show"): ["L1"],
        ("mapping", "export"): ["revrec"],
        ("mapping", "import"): [mapping, "--name", "mine"],
        ("mapping", "list"): [],
        ("period", "close"): ["--yes"],
        ("period", "status"): [],
        ("process",): [],
        ("report", "asset"): [],
        ("report", "insight"): [],
        ("report", "liability"): [],
        ("report", "reconcile"): [],
        ("report", "rollforward"): [],
        ("report", "rpo"): [],
        ("report", "waterfall"): [],
        ("setup", "load"): [EXAMPLES / "setup.yaml"],
        ("stage", "delete"): ["1", "--yes"],
        ("stage", "files"): [],
        ("stage", "list"): [],
        ("users", "add"): ["maria", "--role", "viewer", "--password-stdin"],
        ("users", "change"): ["maria", "--role", "viewer"],
        ("users", "list"): [],
        ("users", "token"): ["maria"],
    }
    assert _database_commands() == sorted(arguments)  # a new command joins this test
    before = query(cli.url, "select count(*) from audit_log")
    for words, rest in arguments.items():
        result = cli("--book", "NOPE", *words, *rest, ok=False)
        assert _failure(result) == (1, "unknown book 'NOPE': expected one of LOCAL, PRIMARY"), words
    assert query(cli.url, "select count(*) from audit_log") == before
    assert query(cli.url, "select count(*) from files") == [(0,)]
    # A known book is fine, and init creates the book it would check.
    cli("--book", "LOCAL", "jobs", "list")
    cli("--book", "NOPE", "init")


# 7. The options of an import are checked before "imported before".


def test_an_unknown_mapping_is_an_error_even_for_a_file_imported_before(cli, tmp_path):
    _init(cli)
    path = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "100.00")])
    _import_so(cli, path)
    again = _import_so(cli, path, "--mapping", "nosuch", ok=False)
    assert _failure(again) == (
        1,
        "unknown mapping 'nosuch' for sales_order uploads: expected one of revrec",
    )
    event = cli("import", "events", path, "--event", "nosuch", ok=False)
    assert _failure(event) == (
        1,
        "unknown event 'nosuch': expected one of expiration, milestone, upon_billing, upon_booking",
    )


# 8 and 9. Listings without rows keep their columns; a job's last result is an object.


def _csv_headings(cli, *words):
    return cli(*words, "--format", "csv").stdout.splitlines()[0]


def test_an_empty_listing_shows_every_column(cli, tmp_path):
    _init(cli)
    empty = {
        ("stage", "list"): cli("stage", "list", "--format", "csv").stdout,
        ("stage", "files"): cli("stage", "files", "--format", "csv").stdout,
    }
    assert empty == {
        ("stage", "list"): "row_id,tab,file,line,status,key,period,messages\n",
        ("stage", "files"): "file_id,file,upload_type,mapping,event,uploaded_by,uploaded_at,"
        "rows_read,pending,future,error,processed,deleted,duplicate\n",
    }
    _import_so(cli, write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "1.234")]))
    # The same columns as a listing with rows; a filter that finds nothing keeps them too.
    for words, text in empty.items():
        assert _csv_headings(cli, *words) + "\n" == text
    assert (
        cli("stage", "list", "--text", "nomatch", "--format", "csv").stdout
        == (empty[("stage", "list")])
    )
    assert "┃ row_id ┃ tab ┃ file ┃ line ┃ status ┃ key ┃ period ┃ messages ┃" in (
        cli("stage", "list", "--text", "nomatch").stdout
    )
    jobs = _csv_headings(cli, "jobs", "list")
    mappings = _csv_headings(cli, "mapping", "list")
    engine = db.engine(cli.url)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from jobs"))
    engine.dispose()
    assert cli("jobs", "list", "--format", "csv").stdout == jobs + "\n"
    assert jobs == "name,active,every,cron,last_run_at,last_result"
    assert mappings == "name,upload_type,source,strict,attributes"


def test_jobs_list_json_gives_the_last_result_as_an_object(cli, tmp_path):
    _init(cli)
    before = json.loads(cli("jobs", "list", "--format", "json").stdout)["rows"]
    assert [(r["name"], r["last_run_at"], r["last_result"]) for r in before] == [
        ("event_import", None, None),
        ("revenue_process", None, None),
        ("transaction_import", None, None),
    ]
    _import_so(cli, write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "100.00")]))
    rows = json.loads(cli("jobs", "list", "--format", "json").stdout)["rows"]
    transactions = next(r for r in rows if r["name"] == "transaction_import")
    assert transactions["last_result"] == {
        "job": "transaction_import",
        "processed": 1,
        "error": 0,
        "duplicate": 0,
        "posted_lines": 0,
        "notes": [],
    }
    table = cli("jobs", "list", "--format", "csv").stdout
    assert '"{""job"": ""transaction_import"", ""processed"": 1,' in table


# 10 and 11. The import summary in JSON, CSV and text; counts of one in the singular.


def test_the_import_summary_in_each_format(cli, tmp_path):
    _init(cli)
    cli("jobs", "disable", "transaction_import")
    one = write_csv(tmp_path / "one.csv", SO_HEADS, [so("L1", "1.234")])
    result = _import_so(cli, one, "--format", "json")
    # stdout: exactly the summary of SPEC §11.1; the row in error on stderr.
    assert json.loads(result.stdout) == {
        "file": "one.csv",
        "rows_read": 1,
        "processed": 0,
        "future": 0,
        "pending": 0,
        "error": 1,
        "duplicate": 0,
    }
    assert result.stderr == "one.csv:2: amount '1.234': too many decimals: USD allows 2\n"
    two = write_csv(tmp_path / "two.csv", SO_HEADS, [so("L2", "1.00"), so("L3", "2.00")])
    result = _import_so(cli, two, "--format", "csv")
    assert result.stdout == (
        "file,rows_read,processed,future,pending,error,duplicate\ntwo.csv,2,0,0,2,0,0\n"
    )
    assert (
        result.stderr == "note: 2 pending rows in contracts: job transaction_import is inactive\n"
    )
    three = write_csv(tmp_path / "three.csv", SO_HEADS, [so("L4", "1.00")])
    result = _import_so(cli, three)
    assert result.stdout == (
        "three.csv: 1 row read, 0 processed, 0 future, 1 pending, 0 error, 0 duplicate\n"
        "note: 3 pending rows in contracts: job transaction_import is inactive\n"
    )
    # Its row still waits: the jobs run again and the summary counts the row as it stands.
    again = _import_so(cli, three, "--format", "json")
    same = json.loads(again.stdout)
    assert (same["rows_read"], same["duplicate"], same["pending"]) == (1, 0, 1)
    assert again.stderr == (
        "note: the same file was imported before; its rows were waiting: 1 still pending\n"
        "note: 3 pending rows in contracts: job transaction_import is inactive\n"
    )
    assert cli("stage", "delete", "3", "4", "--yes").stdout == "deleted 2 stage rows\n"
    listing = json.loads(cli("stage", "list", "--format", "json").stdout)
    assert listing["notes"] == ["1 pending row in contracts: job transaction_import is inactive"]


# 12. stage delete checks the rows before it asks.


def test_stage_delete_checks_the_rows_before_asking(cli, tmp_path, monkeypatch):
    _init(cli)
    path = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "100.00"), so("L2", "1.234")])
    _import_so(cli, path)  # row 1 processed, row 2 in error
    asked = []

    def can_ask():
        asked.append(True)
        return True

    monkeypatch.setattr(options, "can_ask", can_ask)
    processed = cli("stage", "delete", "1", ok=False)
    assert _failure(processed) == (
        1,
        "rows [1] are processed or already deleted and cannot be deleted",
    )
    missing = cli("stage", "delete", "2", "9", ok=False)
    assert _failure(missing) == (1, "no stage rows with ids [9]")
    assert asked == []
    runner = CliRunner()
    kept = runner.invoke(app, ["--db", cli.url, "stage", "delete", "2"], input="n\n")
    assert (kept.exit_code, kept.stdout) == (1, "Delete 1 stage row? [y/N]: n\n")
    assert query(cli.url, "select status from stage_rows where row_id = 2") == [("error",)]
    done = runner.invoke(app, ["--db", cli.url, "stage", "delete", "2"], input="y\n")
    assert (done.exit_code, done.stdout) == (
        0,
        "Delete 1 stage row? [y/N]: y\ndeleted 1 stage row\n",
    )
