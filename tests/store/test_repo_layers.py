"""The store is a layer below the services: it never imports the engine or the services, and
the services that moved their SQL into repositories write none again."""

import ast
from pathlib import Path

import pytest

import revrec

SRC = Path(revrec.__file__).parent
# The services whose reads and writes are in store repositories: every one.
WITHOUT_SQL = (
    "setup", "mappings", "jobs", "stage", "subledger", "imports", "demo_store", "workflow",
    "periods", "process",
    *(f"processing/{p.stem}" for p in (SRC / "services" / "processing").glob("[!_]*.py")),
)  # fmt: skip
TYPE_HINTS = {"Connection", "Engine"}  # what a service may name of SQLAlchemy
RUNS_SQL = {"execute", "exec_driver_sql"}


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("path", sorted((SRC / "store").rglob("*.py")), ids=lambda p: p.name)
def test_the_store_imports_neither_the_engine_nor_the_services(path):
    found = [m for m in _imports(path) if m.startswith(("revrec.engine", "revrec.services"))]
    assert found == []


@pytest.mark.parametrize("name", WITHOUT_SQL)
def test_a_service_writes_no_sql(name):
    path = SRC / "services" / f"{name}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    attributes = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute)]
    of_sqlalchemy = {
        node.attr
        for node in attributes
        if isinstance(node.value, ast.Name) and node.value.id == "sa"
    }
    assert of_sqlalchemy <= TYPE_HINTS
    assert [node.attr for node in attributes if node.attr in RUNS_SQL] == []
    assert [m for m in _imports(path) if m.startswith("revrec.store.schema")] == []
