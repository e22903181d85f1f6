"""The Context of one command or request: the database, who acts, when, and in which book.

Built once by a shell (the CLI, the web app) and passed to every service, so that the audit log,
job run times and postings of one command carry the same `now`. Services never read the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa


@dataclass(frozen=True)
class Context:
    engine: sa.Engine
    user: str
    now: datetime
    book: str | None = None  # None: the primary book
