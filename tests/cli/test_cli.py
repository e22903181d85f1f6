import json
import re
from pathlib import Path

from typer.testing import CliRunner

from revrec.cli.main import app, command_words

runner = CliRunner()
README = (Path(__file__).parents[2] / "README.md").read_text()


def test_demo_json_numbers():
    result = runner.invoke(app, ["demo", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    allocated = {row["line_id"]: row["allocated"] for row in doc["lines"]}
    # C-100: TP 120,000.00 split by SSP 75,000 : 20,000 : 25,000 (total 120,000): exact.
    assert allocated == {
        "C-100-1": "75000.00",
        "C-100-2": "20000.00",
        "C-100-3": "25000.00",
        "C-200-1": "1200000",
        "C-300-1": "1000.000",
        "C-300-2": "1000.000",
    }
    c100 = next(row for row in doc["balances"] if row["contract_id"] == "C-100")
    # Through 2024-03: license 75,000 + support 3 x 1/12 of 20,000 (5,000) + events 40% of
    # 25,000 (10,000) = 90,000 recognized; billed 95,000.
    assert c100["recognized"] == "90000.00"
    assert c100["billed"] == "95000.00"
    assert c100["liability"] == "5000.00"
    assert c100["scheduled"] == "30000.00"


def test_bench_json_shape(tmp_path):
    result = runner.invoke(
        app, ["bench", "--lines", "3000", "--folder", str(tmp_path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["lines"] == 3000
    assert set(doc) >= {"lines", "read_csv_s", "stages", "ratios", "peak_rss_mb"}
    assert set(doc["stages"]) == {"prepare", "engine", "journals"}
    expected = doc["stages"]["engine"] / doc["read_csv_s"]
    assert abs(doc["ratios"]["engine"] - expected) <= 0.001 * expected + 0.001
    assert doc["schedule_rows"] > doc["lines"]


def test_every_command_has_help_and_is_in_the_readme():
    commands = command_words()
    assert ("stage", "list") in commands
    assert ("import", "transactions") in commands
    for words in commands:
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, words
        shown = " ".join(words)
        assert re.search(rf"revrec {shown}\b", README), f"README does not show `revrec {shown}`"


def _revrec(*args, cwd):
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "revrec", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_bad_input_is_a_one_line_message_and_exit_code_1(tmp_path):
    cases = [
        (["import", "transactions", "missing.csv", "--type", "billing"], "no such file"),
        (["--db", "postgresql://nobody@127.0.0.1:1/x", "period", "status"], "error: database:"),
        (["period", "status"], "no revrec database at revrec.db: run `revrec init` first"),
    ]
    for args, expected in cases:
        result = _revrec(*args, cwd=tmp_path)
        assert result.returncode == 1, (args, result.stderr)
        assert expected in result.stderr
        assert "Traceback" not in result.stderr
    heading = tmp_path / "wrong.csv"
    heading.write_text("contract_id,amount\nC1,10.00\n")
    assert _revrec("init", cwd=tmp_path).returncode == 0
    result = _revrec("import", "transactions", str(heading), "--type", "sales_order", cwd=tmp_path)
    assert result.returncode == 1
    assert "missing required heading 'customer_id'" in result.stderr


def test_an_unsupported_database_url_is_named_without_its_password(tmp_path):
    use = "use sqlite:///PATH or postgresql://..."
    cases = [
        (
            "mysql://root:s3cret@localhost/x",
            "unsupported database URL mysql://root:***@localhost/x",
        ),
        ("postgresql+asyncpg://u@h/d", "unsupported database URL postgresql+asyncpg://u@h/d"),
        ("postgresql://u:s3cret@h:port/d", "not a database URL"),
    ]
    for url, message in cases:
        result = _revrec("--db", url, "stage", "list", cwd=tmp_path)
        expected = f"error: {message}: {use}\n"
        assert (result.returncode, result.stdout, result.stderr) == (1, "", expected)
    # --store of bench takes a URL too.
    result = _revrec("bench", "--lines", "10", "--store", "mysql://root@localhost/x", cwd=tmp_path)
    assert result.stderr.endswith(
        f"error: unsupported database URL mysql://root@localhost/x: {use}\n"
    )
    assert (
        "s3cret"
        not in _revrec("--db", "postgresql://u:s3cret@127.0.0.1:1/x", "init", cwd=tmp_path).stderr
    )
    assert list(tmp_path.iterdir()) == []


def test_a_command_before_init_creates_no_database_file(tmp_path):
    result = _revrec("period", "status", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (
        1,
        "error: no revrec database at revrec.db: run `revrec init` first\n",
    )
    elsewhere = tmp_path / "books" / "ledger.db"
    result = _revrec("--db", f"sqlite:///{elsewhere}", "jobs", "list", cwd=tmp_path)
    assert result.stderr == f"error: no revrec database at {elsewhere}: run `revrec init` first\n"
    # A bare path is a SQLite file: nothing made by a command, the file made by init.
    result = _revrec("--db", "not a url", "stage", "list", cwd=tmp_path)
    assert result.stderr == "error: no revrec database at not a url: run `revrec init` first\n"
    assert list(tmp_path.iterdir()) == []
    result = _revrec("--db", "not a url", "init", "--first-period", "2024-03", cwd=tmp_path)
    assert result.stdout == "sqlite:///not a url: book PRIMARY created, open period 2024-03\n"
    assert (tmp_path / "not a url").is_file()


def test_importing_a_directory_is_one_line_and_exit_code_1(tmp_path):
    assert _revrec("init", cwd=tmp_path).returncode == 0
    (tmp_path / "uploads").mkdir()
    for args in (
        ["transactions", "uploads", "--type", "sales_order"],
        ["events", "uploads", "--event", "milestone"],
    ):
        result = _revrec("import", *args, cwd=tmp_path)
        assert (result.returncode, result.stdout, result.stderr) == (
            1,
            "",
            "error: uploads: is a directory, expected a CSV or XLSX file\n",
        )
