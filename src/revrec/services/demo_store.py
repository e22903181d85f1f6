"""Loading the shipped examples into a store: `revrec init --demo` and the web app's demo."""

from __future__ import annotations

from pathlib import Path

import yaml

import revrec
from revrec.errors import ConfigError
from revrec.services import process
from revrec.services import setup as setup_service
from revrec.services.context import Context
from revrec.services.imports import import_file

DEMO_FIRST_PERIOD = "2024-03"
IMPORTS = (
    ("sales_orders.csv", "sales_order", "revrec", None),
    ("billings.csv", "billing", "revrec", None),
    ("costs.csv", "cost", "revrec", None),
    ("recurly_revenue_schedules.csv", "billing", "recurly", None),
    ("events_milestone.csv", "event", "revrec", "milestone"),
)


def examples_folder() -> Path:
    """examples/ of a source checkout, or the copy packaged inside the wheel."""
    package = Path(revrec.__file__).parent
    for candidate in (package.parents[1] / "examples", package / "examples"):
        if (candidate / "setup.yaml").exists():
            return candidate
    raise ConfigError("the example files are not installed with this copy of revrec")


def load_demo(ctx: Context) -> None:
    """Load the shipped setup file, then import each example file and run the active jobs,
    each step in a transaction of its own, as the Context's user at its `now`."""
    folder = examples_folder()
    with ctx.engine.begin() as conn:
        document = yaml.safe_load((folder / "setup.yaml").read_text(encoding="utf-8"))
        setup_service.load(conn, document, user=ctx.user, now=ctx.now)
    for name, upload_type, mapping, event in IMPORTS:
        with ctx.engine.begin() as conn:
            import_file(
                conn,
                folder / name,
                upload_type,
                mapping_name=mapping,
                user=ctx.user,
                now=ctx.now,
                event_name=event,
            )
        process.run(ctx)
