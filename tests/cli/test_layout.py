"""The CLI's layout: one module per area under revrec.cli.commands, every command in one of
them, and the CLI importing only services and the web app (and money, calendar, vocab, errors,
words)."""

import ast
import importlib
import pkgutil
from pathlib import Path

import typer

import revrec.cli
import revrec.cli.commands
from revrec.cli.main import command_words, words_of

AREAS = {
    "setup": {("init",), ("setup", "load")},
    "mappings": {("mapping", "list"), ("mapping", "export"), ("mapping", "import")},
    "imports": {("import", "transactions"), ("import", "events")},
    "stage": {("stage", "list"), ("stage", "files"), ("stage", "delete")},
    "jobs": {
        ("jobs", "list"),
        ("jobs", "run"),
        ("jobs", "enable"),
        ("jobs", "disable"),
        ("process",),
    },
    "periods": {("period", "status"), ("period", "close")},
    "journals": {
        ("je", "list"),
        ("je", "show"),
        ("je", "approve"),
        ("je", "revoke"),
        ("je", "transfer"),
        ("je", "summarize"),
        ("je", "export"),
    },
    "reports": {
        ("report", "waterfall"),
        ("report", "liability"),
        ("report", "asset"),
        ("report", "insight"),
        ("report", "rpo"),
        ("report", "rollforward"),
        ("report", "reconcile"),
    },
    "lines": {("lines", "list"), ("lines", "show")},
    "explain": {("explain",)},
    "exports": {("export", "schedules")},
    "audit": {("audit", "list"), ("audit", "verify")},
    "tools": {("demo",), ("bench",)},
    "users": {("users", "list"), ("users", "add"), ("users", "change"), ("users", "token")},
    "web": {("serve",)},
}
# What the CLI may import of revrec: services, itself, the web app (`serve` starts it, `bench
# --pages` times it), and what rendering needs.
ALLOWED = (
    "revrec.services",
    "revrec.web",
    "revrec.cli",
    "revrec.money",
    "revrec.calendar",
    "revrec.vocab",
    "revrec.errors",
    "revrec.words",
)


def _area_commands(name):
    module = importlib.import_module(f"revrec.cli.commands.{name}")
    alone = typer.Typer()
    # A group, as the app is: Typer runs an app of one command without a callback as that
    # command itself (an area of one command, such as explain, would show no words).
    alone.callback()(lambda: None)
    module.register(alone)
    return set(words_of(alone))


def test_each_area_module_registers_its_commands_and_they_are_in_command_words():
    found = {m.name for m in pkgutil.iter_modules(revrec.cli.commands.__path__)}
    assert found == set(AREAS)
    every = set(command_words())
    for name, expected in AREAS.items():
        assert _area_commands(name) == expected, name
        assert expected <= every, name
    # Every command belongs to exactly one area.
    assert sorted(command_words()) == sorted(w for words in AREAS.values() for w in words)


def _imported(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _allowed(name):
    return name in ALLOWED or name.startswith(tuple(f"{a}." for a in ALLOWED))


def test_the_cli_imports_services_only():
    folder = Path(revrec.cli.__file__).parent
    wrong = {
        (str(path.relative_to(folder)), name)
        for path in folder.rglob("*.py")
        for name in _imported(path)
        if name.startswith("revrec.") and not _allowed(name)
    }
    assert wrong == set()
