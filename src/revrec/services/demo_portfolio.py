"""The web app's demo portfolio (`revrec serve --demo`)."""

from __future__ import annotations

from revrec.services import users, workflow
from revrec.services.context import Context


def build(ctx: Context) -> None:
    """A new database with the demo's data and its three users."""
    workflow.init(ctx, first_period=None, currency="USD", demo=True)
    users.add_demo_users(ctx)
