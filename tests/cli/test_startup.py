"""`revrec --help` loads Typer and the CLI's own modules, nothing heavy: no Polars, SQLAlchemy or
services (checked by what is imported, in a fresh interpreter, never by a timing)."""

import json
import subprocess
import sys

from revrec.cli.main import command_words

HEAVY = ("polars", "sqlalchemy", "alembic", "rich.progress", "revrec.services.process")
HEAVY_PACKAGES = ("revrec.services", "revrec.store", "revrec.imports", "revrec.engine")


def _modules_after_help(*argvs):
    """The modules a fresh interpreter holds after `revrec ARGS --help` for each of `argvs`."""
    code = (
        "import json, sys\n"
        "from revrec.cli.main import app\n"
        f"for words in {[list(a) for a in argvs]!r}:\n"
        "    try:\n"
        "        app([*words, '--help'], prog_name='revrec')\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0, (words, done.code)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def _heavy(modules):
    return sorted(
        name
        for name in modules
        if name in HEAVY
        or name.startswith(tuple(f"{h}." for h in HEAVY))
        or name.startswith(HEAVY_PACKAGES)
    )


def test_revrec_help_imports_no_polars_sqlalchemy_or_services():
    modules = _modules_after_help(())
    assert "revrec.cli.main" in modules
    assert _heavy(modules) == []


def test_the_help_of_every_command_imports_nothing_heavy():
    modules = _modules_after_help(*command_words())
    assert _heavy(modules) == []


def test_python_m_revrec_help_imports_no_polars_sqlalchemy_or_process():
    """The real entry point, as `-X importtime` reports it: one line per module imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "revrec", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage: python -m revrec" in result.stdout
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "revrec.cli.main" in imported
    assert {"polars", "sqlalchemy", "revrec.services.process"}.isdisjoint(imported)
